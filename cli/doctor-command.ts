/** `lvsform doctor`: wiring only; the checks live in providers/ipvs/doctor.ts. */
import type { Command } from 'commander';
import pLimit from 'p-limit';
import pc from 'picocolors';
import { doctorChunk, evaluate, modulesNeeded, parseFacts, type Check } from '../providers/ipvs/doctor.ts';
import { readCapabilities } from '../providers/ipvs/capabilities.ts';
import { isLvsError } from '../providers/ipvs/errors.ts';
import { preludeChunk } from '../providers/ipvs/host-script.ts';
import { loadStacks, readProjectConfig, runApp, selectStack } from '../providers/ipvs/synth.ts';
import { describeTarget, HostSession } from '../providers/ipvs/transport.ts';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check each director: IPVS in the kernel, ipvsadm, forwarding, the modules the services need')
    .option('--stack <name>', 'the stack (when the app has several)')
    .option('--director <name...>', 'only these directors')
    .option('--no-synth', 'use the existing cdktf.out')
    .option('--json', 'print the checks as JSON')
    .action(async (opts: { stack?: string; director?: string[]; synth: boolean; json?: boolean }) => {
      const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
      if (opts.synth) await runApp(cfg);
      const stack = selectStack(await loadStacks(cfg.outdir), opts.stack);
      const directors = stack.directors.filter((d) => !opts.director?.length || opts.director.includes(d.name));
      const c = pc.createColors(Boolean(process.stdout.isTTY) && !opts.json);
      const limit = pLimit(10);
      const results = await Promise.all(
        directors.map((d) =>
          limit(async (): Promise<{ director: string; where: string; checks: Check[] }> => {
            const where = describeTarget(d.target);
            const session = HostSession.open(d.target);
            try {
              await session.run(preludeChunk());
              const { stdout } = await session.run(doctorChunk(modulesNeeded(d.table)));
              const capabilities = await readCapabilities(session, d.table, true);
              return { director: d.name, where, checks: evaluate({ facts: parseFacts(stdout), table: d.table, capabilities, paths: d.paths }) };
            } catch (e) {
              const message = isLvsError(e) ? e.message : String(e);
              return { director: d.name, where, checks: [{ name: 'reachable', status: 'fail', detail: message, fix: isLvsError(e) ? e.hint : undefined, blocking: true } as Check] };
            } finally {
              await session.close();
            }
          }),
        ),
      );
      const blocking = results.some((r) => r.checks.some((k) => k.blocking));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ format_version: 1, ok: !blocking, directors: results })}\n`);
      } else {
        const mark = { ok: c.green('✓'), fail: c.red('✗'), warn: c.yellow('!'), info: c.cyan('i') };
        for (const r of results) {
          process.stdout.write(`${c.bold(r.where)}\n`);
          for (const k of r.checks) {
            process.stdout.write(`  ${mark[k.status]} ${k.name}: ${k.detail}\n`);
            if (k.fix && k.status !== 'ok') process.stdout.write(`      fix: ${k.fix}\n`);
          }
        }
        process.stdout.write(blocking ? c.red('\nSomething above blocks an apply.\n') : c.green('\nEverything an apply needs is in place.\n'));
      }
      process.exitCode = blocking ? 1 : 0;
    });
}
