/**
 * The demo: the seed's VS/NAT web cluster deployed by lvsform on real kernels from bare machines, from TypeScript to
 * balanced traffic, in six steps. Runs the real `lvsform` command for every step an operator would type.
 */
import { execa } from 'execa';
import pc from 'picocolors';
import { clusterFactsOf, labDown, labTraffic, labUp } from '../lab/index.ts';

const keep = process.argv.includes('--keep');
/**
 * The web servers (VMs 61.. after the director at 60), at 192.0.2.11.. as examples/nat-cluster numbers them: the
 * example's three by default. Measured on this kind of machine (2 cores, TCG) beside other labs: a director and three
 * booted in 40 s and the demo took 1 min 45 s at load 7-9, but 78-105 s and 2 min 41 s to 3 min at load 12-15; a
 * director and two, 45 s and 1 min 45 s at load 10-12, 1 min 19 s at load 5-7. `--real-servers 2` where the machine
 * is busy.
 */
const realServers = realServersArg(process.argv);
const dir = process.env['LVSFORM_DEMO_LAB_DIR'] ?? '/tmp/lvsform-demo-lab';
const firstIndex = 60;
const vip = '198.51.100.10';
const vip6 = '2001:db8:100::10';
const c = pc.createColors(pc.isColorSupported);
const total = 6;
let step = 0;
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;

function realServersArg(argv: readonly string[]): number {
  const i = argv.indexOf('--real-servers');
  if (i < 0) return 3;
  // 1..4: VMs 61..64, the end of the lab's address plan.
  const n = argv[i + 1] ?? '';
  if (/^[1-4]$/.test(n)) return Number(n);
  process.stderr.write(`demo: --real-servers takes 1 to 4; got ${n || 'nothing'}\n`);
  process.exit(1);
}

/** A step's title, with the time since the demo started (where the two minutes go). */
function header(text: string): void {
  step += 1;
  process.stdout.write(`\n${c.bold(c.cyan(`[${step}/${total}]`))} ${c.bold(text)} ${c.dim(`(at ${elapsed()})`)}\n`);
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
  process.stdout.write(c.bold("lvsform demo: the seed's VS/NAT web cluster, deployed on real kernels from bare machines\n"));
  const webs = realServers === 1 ? 'web server 192.0.2.11' : `web servers 192.0.2.11-${10 + realServers}`;
  process.stdout.write(c.dim(`VIPs ${vip}:80 and [${vip6}]:80 on the director, round robin over ${webs} behind it (NAT)\n`));

  header(`Booting the lab: a director and ${realServers} web servers as QEMU VMs running Debian's kernel, bare, and a client`);
  await labDown({ dir });
  const lab = await labUp({
    dir,
    firstIndex,
    cluster: true,
    directors: 1,
    realServers,
    privateRealServers: true,
    bootTimeoutMs: 300_000,
    onProgress: (m) => process.stdout.write(c.dim(`    ${m}\n`)),
  });
  const facts = clusterFactsOf(lab);
  const director = facts.directors[0]!;
  process.stdout.write(
    `    ${director.alias} (public ${director.shared.ipv4} on the client's segment, inside ${director.private.ipv4}; ` +
      `kernel ${lab.boot.kernel.release}, ${lab.boot.accel.toUpperCase()}) and ${facts.realServers.map((r) => `${r.name} (${r.private.ipv4})`).join(', ')} ` +
      `on the private segment only, answer ssh after ${elapsed()}\n`,
  );
  process.stdout.write(c.dim('    bare: the director does not forward, the web servers have no route to the client\n'));

  // The web servers are reached as behind a real NAT director: on their private addresses, through it (ProxyJump).
  const env = {
    LVSFORM_SSH_CONFIG: lab.sshConfig,
    LVSFORM_DIRECTOR_ALIAS: director.alias,
    LVSFORM_REAL_SERVER_ALIASES: facts.realServers.map((r) => r.privateAlias!).join(','),
  };
  try {
    header('Synthesizing examples/nat-cluster (TypeScript constructs → cdk.tf.json)');
    await lvsform(['synth'], env);

    header("Planning: the director's table, VIP and forwarding, and each web server's route back through the director");
    await lvsform(['plan', '--no-synth'], env);

    header('Applying: the web servers prepared first, then one batched ipvsadm -R, each verified by reading it back');
    await lvsform(['apply', '--auto-approve', '--no-synth'], env);

    header('Sending 60 real HTTP requests from the client through the IPv4 VIP, and a few through the IPv6 one');
    const t = await labTraffic({ state: lab, target: `${vip}:80`, count: 60 });
    const width = 30;
    const most = Math.max(1, ...Object.values(t.perServer));
    for (const [name, n] of Object.entries(t.perServer).sort()) {
      process.stdout.write(`    ${name}  ${c.green('█'.repeat(Math.round((n / most) * width)))} ${n}\n`);
    }
    process.stdout.write(`    ${t.total - t.failures} answered, ${t.failures} failed\n`);
    const t6 = await labTraffic({ state: lab, target: `[${vip6}]:80`, count: 2 * realServers });
    const by6 = Object.entries(t6.perServer)
      .sort()
      .map(([name, n]) => `${name} ${n}`);
    process.stdout.write(`    and ${t6.total} through [${vip6}]: ${t6.total - t6.failures} answered (${by6.join(', ') || 'none'})\n`);

    header('Planning again: the director and the web servers match the app');
    await lvsform(['plan', '--no-synth', '--detailed-exitcode'], env);
    process.stdout.write(c.dim(`\n    from bare machines to a serving, verified cluster in ${elapsed()}\n`));
    const everyOne = (r: typeof t) => r.failures === 0 && Object.keys(r.perServer).length === realServers;
    return everyOne(t) && everyOne(t6) ? 0 : 1;
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
