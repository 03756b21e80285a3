/** `lvsform status`: wiring only; the reading and the table live in providers/ipvs/ops/status.ts. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { connectTimeoutOption, directorOption, intArg, readOnlyMode } from './args.ts';
import { printError } from './print-error.ts';

interface StatusOpts {
  stack?: string;
  director?: string[];
  synth: boolean;
  json?: boolean;
  watch?: boolean;
  count?: number;
  interval: number;
  connectTimeout: number;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('connections, rates, packets and bytes per service and real server on each director, and what the stack owns')
    .option('--stack <name>', 'the stack (when the app has several)')
    .addOption(directorOption())
    .addOption(connectTimeoutOption())
    .option('--no-synth', 'use the existing cdktf.out')
    .option('--json', 'print JSON (one document per refresh with --watch)')
    .option('--watch', 'refresh until Ctrl-C')
    .addOption(new Option('--count <n>', 'with --watch: stop after N refreshes').argParser(intArg(1, 1_000_000)))
    .addOption(new Option('--interval <seconds>', 'with --watch: seconds between refreshes').argParser(intArg(1, 3600)).default(2))
    .action(async (opts: StatusOpts) => {
      // Loaded when the command runs, so that start-up and --help stay fast.
      const [{ renderStatus, STATUS_FORMAT }, { loadStacks, readProjectConfig, runApp, selectDirectors, selectStack }, { StatusReader }, { delayedProgress }] =
        await Promise.all([
          import('../providers/ipvs/ops/status.ts'),
          import('../providers/ipvs/read/synth.ts'),
          import('../providers/ipvs/ops/status-reader.ts'),
          import('./progress.ts'),
        ]);
      const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
      if (opts.synth) await runApp(cfg);
      const stack = selectDirectors(selectStack(await loadStacks(cfg.outdir, { fresh: opts.synth }), opts.stack), opts.director);
      const directors = stack.directors;
      const progress = delayedProgress();
      // Read-only: the counters come through the read script, as ssh.planUser.
      const openHost = readOnlyMode(program) ? (await import('../providers/ipvs/host/read-only-host.ts')).openReadOnlyHost : undefined;
      const watcher = new StatusReader(stack.stack, directors, {
        ...(openHost ? { openHost } : {}),
        connectTimeout: opts.connectTimeout,
        onProgress: (d, m) => progress.step(d, m),
        onIdle: (d) => progress.idle(d),
      });
      const rounds = opts.watch ? (opts.count ?? Number.POSITIVE_INFINITY) : 1;
      let stopped = false;
      let wake: (() => void) | undefined;
      const onSigint = (): void => {
        stopped = true;
        wake?.();
      };
      process.on('SIGINT', onSigint);
      let failed = false;
      try {
        for (let round = 0; round < rounds && !stopped; round++) {
          if (round > 0) {
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, opts.interval * 1000);
            });
            if (stopped) break;
          }
          const statuses = await watcher.read();
          failed = statuses.some((s) => s.error);
          if (opts.json) {
            process.stdout.write(
              `${JSON.stringify({
                format_version: STATUS_FORMAT,
                stack: stack.stack,
                at: new Date().toISOString(),
                complete: !failed,
                errors: statuses.flatMap((s) =>
                  s.error ? [{ director: s.director, code: s.error.code, message: s.error.message, hint: s.error.hint ?? null }] : [],
                ),
                directors: statuses,
              })}\n`,
            );
          } else {
            // On a terminal each refresh replaces the last; piped output keeps every refresh.
            if (opts.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
            const title = `lvsform status: stack ${stack.stack}${opts.watch ? ` at ${new Date().toLocaleTimeString()} (every ${opts.interval} s; Ctrl-C stops)` : ''}\n\n`;
            process.stdout.write(title + renderStatus(statuses, { errorsApart: true }));
            // Errors go to standard error, where CI looks for them; the table marks the director with the code.
            for (const s of statuses) {
              if (s.error) printError(s.error);
            }
          }
        }
      } finally {
        process.off('SIGINT', onSigint);
        await watcher.close();
      }
      process.exitCode = failed ? 1 : 0;
    });
}
