/** `lvsform doctor`: wiring only; the checks live in providers/ipvs/ops/doctor.ts, the reading in providers/ipvs/ops/doctor-director.ts. */
import type { Command } from 'commander';
import { connectTimeoutOption, directorOption, readOnlyMode } from './args.ts';
import { colors } from './colors.ts';
import { delayedProgress } from './progress.ts';
import { errorPointer, readOnlyRefusal } from '../providers/ipvs/model/host-target.ts';
import { printError } from './print-error.ts';

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
      const [{ doctorDirectors }, { loadStacks, readProjectConfig, runApp, selectDirectors, selectStack }, { doctorRealServers }, { narrowRealServers }] =
        await Promise.all([
          import('../providers/ipvs/ops/doctor-director.ts'),
          import('../providers/ipvs/read/synth.ts'),
          import('../providers/ipvs/ops/doctor-real-server.ts'),
          import('../providers/ipvs/plan/narrow-real-servers.ts'),
        ]);
      const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
      if (opts.synth) await runApp(cfg);
      const stack = selectDirectors(selectStack(await loadStacks(cfg.outdir, { fresh: opts.synth }), opts.stack), opts.director);
      const directors = stack.directors;
      // With --director, the real servers those directors' services send to, checked for those services.
      const realServers = opts.director?.length
        ? narrowRealServers(stack.realServers, directors, []).map((r) => ({ ...r, prep: r.narrowedTo! }))
        : stack.realServers;
      if (readOnlyMode(program)) throw readOnlyRefusal('doctor', [...directors.map((d) => d.target), ...realServers.map((r) => r.target)], false);
      const c = colors(opts.json);
      const progress = delayedProgress();
      const each = {
        connectTimeout: opts.connectTimeout,
        stack: stack.stack,
        onProgress: (n: string, m: string) => progress.step(n, m),
        onIdle: (n: string) => progress.idle(n),
      };
      const results = await doctorDirectors(directors, each);
      results.push(...(await doctorRealServers(realServers, stack.stack, each)));
      const unreachable = results.flatMap((r) => (r.error ? [r.error] : []));
      const blocking = results.some((r) => r.checks.some((k) => k.blocking));
      if (opts.json) {
        const errors = results.flatMap((r) =>
          r.error ? [{ director: r.director, code: r.error.code, message: r.error.message, hint: r.error.hint ?? null }] : [],
        );
        process.stdout.write(
          `${JSON.stringify({ format_version: 1, ok: !blocking, complete: errors.length === 0, errors, directors: results.map(({ error: _error, ...r }) => r) })}\n`,
        );
      } else {
        const mark = { ok: c.green('✓'), fail: c.red('✗'), warn: c.yellow('!'), info: c.cyan('i') };
        for (const r of results) {
          process.stdout.write(`${c.bold(r.where)}\n`);
          for (const k of r.checks) {
            // The director's own error (it could not be reached) is printed once, on standard error, below.
            if (r.error && k.detail === r.error.message) {
              process.stdout.write(`  ${mark[k.status]} ${k.name}: ${errorPointer(r.error.code)}\n`);
              continue;
            }
            process.stdout.write(`  ${mark[k.status]} ${k.name}: ${k.detail}\n`);
            if (k.fix && k.status !== 'ok') process.stdout.write(`      fix: ${k.fix}\n`);
          }
        }
        process.stdout.write(blocking ? c.red('\nSomething above blocks an apply.\n') : c.green('\nEverything an apply needs is in place.\n'));
        // A director that could not be reached also goes to standard error, where CI looks for errors.
        for (const u of unreachable) printError(u);
      }
      process.exitCode = blocking ? 1 : 0;
    });
}
