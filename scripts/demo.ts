/**
 * The demo: a VS/NAT web cluster on a real IPVS kernel, from TypeScript to balanced traffic, in six steps.
 * Runs the real `lvsform` command for every step an operator would type.
 */
import { execa } from 'execa';
import pc from 'picocolors';
import { labDown, labTraffic, labUp } from '../lab/index.ts';

const keep = process.argv.includes('--keep');
const dir = process.env['LVSFORM_DEMO_LAB_DIR'] ?? '/tmp/lvsform-demo-lab';
const firstIndex = 60;
const c = pc.createColors(pc.isColorSupported);
const total = 6;
let step = 0;

function header(text: string): void {
  step += 1;
  process.stdout.write(`\n${c.bold(c.cyan(`[${step}/${total}]`))} ${c.bold(text)}\n`);
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

async function lvsform(args: string[], env: Record<string, string>, okCodes = [0]): Promise<string> {
  process.stdout.write(c.dim(`  $ lvsform ${args.join(' ')}\n`));
  // The built command (bin/lvsform.mjs runs dist/, built by demo.sh). Its output is captured, so colour is asked for
  // on a terminal and refused elsewhere (picocolors reads any FORCE_COLOR, even "0", as on).
  const color = process.stdout.isTTY ? { FORCE_COLOR: '1' } : { NO_COLOR: '1' };
  const r = await execa('node', ['bin/lvsform.mjs', ...args], { env: { ...env, ...color }, reject: false, all: true });
  process.stdout.write(`${indent(r.all ?? '')}\n`);
  if (!okCodes.includes(r.exitCode ?? 1)) throw new Error(`lvsform ${args.join(' ')} exited ${r.exitCode}`);
  return r.all ?? '';
}

async function main(): Promise<number> {
  process.stdout.write(c.bold('lvsform demo: a VS/NAT web cluster on a real IPVS kernel\n'));
  process.stdout.write(c.dim('VIP 198.51.100.10:80 on the director, round robin over web servers 192.0.2.11-13 (NAT)\n'));

  header("Booting the lab: a QEMU director running Debian's kernel with IPVS, four real servers and a client");
  const started = performance.now();
  await labDown({ dir });
  const lab = await labUp({ dir, firstIndex, directors: 1, onProgress: (m) => process.stdout.write(c.dim(`    ${m}\n`)) });
  const director = lab.directors[0]!;
  process.stdout.write(
    `    ${director.alias} (${director.guestAddress}, kernel ${lab.boot.kernel.release}, ${lab.boot.accel.toUpperCase()}) ` +
      `answers ssh after ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );

  const env = { LVSFORM_SSH_CONFIG: lab.sshConfig, LVSFORM_DIRECTOR_ALIAS: director.alias };
  try {
    header('Synthesizing examples/nat-web (TypeScript constructs → cdk.tf.json)');
    await lvsform(['synth'], env);

    header('Planning: what the director has, against what the app declares');
    await lvsform(['plan', '--no-synth'], env);

    header('Applying: one batched ipvsadm -R over one SSH session, verified by reading the table back');
    await lvsform(['apply', '--auto-approve', '--no-synth'], env);

    header('Sending 60 real HTTP requests from the client namespace through the VIP');
    const t = await labTraffic({ state: lab, director: director.alias, target: '198.51.100.10:80', count: 60 });
    const width = 30;
    const most = Math.max(1, ...Object.values(t.perServer));
    for (const [name, n] of Object.entries(t.perServer).sort()) {
      process.stdout.write(`    ${name}  ${c.green('█'.repeat(Math.round((n / most) * width)))} ${n}\n`);
    }
    process.stdout.write(`    ${t.total - t.failures} answered, ${t.failures} failed\n`);

    header('Planning again: the director matches the app');
    await lvsform(['plan', '--no-synth', '--detailed-exitcode'], env);
    return t.failures === 0 && Object.keys(t.perServer).length === 3 ? 0 : 1;
  } finally {
    if (keep) {
      process.stdout.write(`\nThe lab is still up (${dir}). Try: ssh -F ${lab.sshConfig} ${director.alias} ipvsadm -L -n\n`);
      process.stdout.write(`Take it down with: node bin/lvsform.mjs lab down --lab-dir ${dir}\n`);
    } else {
      process.stdout.write(c.dim('\nTaking the lab down (pass --keep to leave it up)… '));
      await labDown({ dir });
      process.stdout.write(c.dim('done\n'));
    }
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`\n${c.red(`demo failed: ${e instanceof Error ? e.message : String(e)}`)}\n`);
    process.exit(1);
  },
);
