/** `lvsform doctor`: wiring only; the checks live in providers/ipvs/doctor.ts. */
import type { Command } from 'commander';
import type { Check } from '../providers/ipvs/doctor.ts';
import { connectTimeoutOption, directorOption } from './args.ts';
import { colors } from './colors.ts';
import { delayedProgress } from './progress.ts';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check each director: IPVS in the kernel, ipvsadm, forwarding, the modules the services need')
    .option('--stack <name>', 'the stack (when the app has several)')
    .addOption(directorOption())
    .addOption(connectTimeoutOption())
    .option('--no-synth', 'use the existing cdktf.out')
    .option('--json', 'print the checks as JSON')
    .action(async (opts: { stack?: string; director?: string[]; synth: boolean; json?: boolean; connectTimeout: number }) => {
      // Loaded when the command runs, so that start-up and --help stay fast.
      const [{ default: pLimit }, { doctorChunk, evaluate, modulesNeeded, parseFacts }, { isLvsError }, { preludeChunk }, { loadStacks, readProjectConfig, runApp, selectDirectors, selectStack }, { describeTarget, HostSession }, { readCapabilities }] =
        await Promise.all([
          import('p-limit'),
          import('../providers/ipvs/doctor.ts'),
          import('../providers/ipvs/errors.ts'),
          import('../providers/ipvs/host-script.ts'),
          import('../providers/ipvs/synth.ts'),
          import('../providers/ipvs/transport.ts'),
          import('../providers/ipvs/capabilities.ts'),
        ]);
      const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
      if (opts.synth) await runApp(cfg);
      const stack = selectDirectors(selectStack(await loadStacks(cfg.outdir, { fresh: opts.synth }), opts.stack), opts.director);
      const directors = stack.directors;
      const c = colors(opts.json);
      const progress = delayedProgress();
      const limit = pLimit(10);
      const unreachable: { code: string; message: string; hint?: string }[] = [];
      const results = await Promise.all(
        directors.map((d) =>
          limit(async (): Promise<{ director: string; where: string; checks: Check[] }> => {
            const where = describeTarget(d.target);
            progress.step(d.name, `connecting to ${where}`);
            const session = HostSession.open(d.target, { connectTimeout: opts.connectTimeout });
            try {
              await session.run(preludeChunk());
              progress.step(d.name, 'checking the kernel, ipvsadm, forwarding and modules');
              const { stdout } = await session.run(doctorChunk(modulesNeeded(d.table)));
              const capabilities = await readCapabilities(session, d.table, true);
              return { director: d.name, where, checks: evaluate({ facts: parseFacts(stdout), table: d.table, capabilities, paths: d.paths }) };
            } catch (e) {
              const message = isLvsError(e) ? e.message : String(e);
              unreachable.push({ code: isLvsError(e) ? e.code : 'LVS_INTERNAL', message, ...(isLvsError(e) && e.hint ? { hint: e.hint } : {}) });
              return { director: d.name, where, checks: [{ name: 'reachable', status: 'fail', detail: message, fix: isLvsError(e) ? e.hint : undefined, blocking: true } as Check] };
            } finally {
              progress.idle(d.name);
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
        // A director that could not be reached also goes to standard error, where CI looks for errors.
        for (const u of unreachable) process.stderr.write(`Error [${u.code}]: ${u.message}\n${u.hint ? `  ${u.hint}\n` : ''}`);
      }
      process.exitCode = blocking ? 1 : 0;
    });
}
