/**
 * The stack verbs: synth, plan, apply, destroy, show, force-unlock. Options only; each action loads its work from
 * stack-actions.ts when it runs (so start-up and --help stay fast).
 */
import { type Command, Option } from 'commander';
import { collect, connectTimeoutOption, directorOption, intArg } from './args.ts';
import { checkFlags, givenFlags } from './flag-modes.ts';
import { pathArgument, pathOption } from './paths.ts';

export interface CommonOpts {
  stack?: string;
  director?: string[];
  synth: boolean;
  parallelism: number;
  lockTimeout: number;
  acceptNewHostKey?: boolean;
  json?: boolean;
  drain: boolean;
  drainTimeout: number;
  refresh?: boolean;
  connectTimeout?: number;
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('--stack <name>', 'the stack to work on (when the app has several)')
    .addOption(directorOption())
    .addOption(connectTimeoutOption())
    .option('--no-synth', 'use the existing cdktf.out instead of running the app first')
    .addOption(new Option('--parallelism <n>', 'directors worked on at once').default(10).argParser(intArg(1, 1000)))
    .addOption(new Option('--lock-timeout <seconds>', "wait this long for another run's lock").default(0).argParser(intArg(0, 86400)))
    .option('--accept-new-host-key', 'trust a host key seen for the first time (host keys are pinned by default)')
    .option(
      '--no-refresh',
      "trust the table stored by the last verified apply while /proc/net/ip_vs still matches it (terraform's -refresh=false); falls back to the full read otherwise",
    )
    .option('--no-drain', 'delete real servers at once instead of draining them first')
    .addOption(new Option('--drain-timeout <seconds>', "how long a removed real server's connections may take to end").default(30).argParser(intArg(0, 86400)));
}

export interface GuardOpts {
  target: string[];
  maxDeletes?: number;
  allowDeletes?: boolean;
}

/** --target, --max-deletes and --allow-deletes (plan and apply). */
function addGuards(cmd: Command): Command {
  return cmd
    .option('--target <path>', 'only the services at or under this construct path (repeatable); the others are left as they are', collect, [])
    .addOption(
      new Option('--max-deletes <n>', 'refuse, changing nothing, a plan that deletes more than N services and real servers').argParser(intArg(0, 1_000_000)),
    )
    .option('--allow-deletes', 'let a plan delete more than --max-deletes');
}

/** The check run on the whole plan before anything changes: --max-deletes unless --allow-deletes. */

export function registerStackCommands(program: Command): void {
  program
    .command('synth')
    .description('run the app (the "app" command of cdktf.json) and write cdktf.out/stacks/<stack>/cdk.tf.json')
    .action(async () => (await import('./stack-actions.ts')).synthAction(program));

  addGuards(addCommon(program.command('plan').description('show what apply would change on each director')))
    .addOption(pathOption('--out <file>', 'save the plan for `lvsform apply FILE`'))
    .addOption(new Option('--json', 'print the plan as JSON (format_version 1)').conflicts('markdown'))
    .option('--markdown', 'print the plan as Markdown for a pull-request comment')
    .option('--detailed-exitcode', 'exit 0 when there are no changes, 1 on error, 2 when there are changes')
    .option('--refresh-only', 'show drift of owned services without proposing changes')
    .option('--adopt', 'take ownership of declared services that already exist on a director')
    .option('--destroy', 'plan the destruction of every service the stack owns')
    .action(
      async (
        opts: CommonOpts &
          GuardOpts & { out?: string; markdown?: boolean; detailedExitcode?: boolean; refreshOnly?: boolean; adopt?: boolean; destroy?: boolean },
        cmd: Command,
      ) => {
        checkFlags(opts.destroy ? 'plan --destroy' : opts.refreshOnly ? 'plan --refresh-only' : 'plan', givenFlags(cmd));
        return (await import('./stack-actions.ts')).planAction(program, opts);
      },
    );

  addGuards(
    addCommon(
      program
        .command('apply')
        .addArgument(pathArgument('[planfile]', 'a plan saved by `lvsform plan --out FILE`'))
        .description('carry out the plan on every director, verified by reading the table back'),
    ),
  )
    .option('--auto-approve', 'do not ask for confirmation')
    .option('--adopt', 'take ownership of declared services that already exist on a director')
    .option('--json', 'print the plan and the outcome as JSON')
    .action(async (planfile: string | undefined, opts: CommonOpts & GuardOpts & { autoApprove?: boolean; adopt?: boolean }, cmd: Command) => {
      if (planfile === undefined) checkFlags('apply', givenFlags(cmd));
      else checkFlags('apply PLANFILE', givenFlags(cmd), `the saved plan ${planfile}`);
      return (await import('./stack-actions.ts')).applyAction(program, planfile, opts);
    });

  addCommon(program.command('destroy').description('remove every service the stack owns (services it does not own are never touched)'))
    .option('--auto-approve', 'do not ask for confirmation')
    .option('--json', 'print the plan and the outcome as JSON')
    .action(async (opts: CommonOpts & { autoApprove?: boolean }, cmd: Command) => {
      checkFlags('destroy', givenFlags(cmd));
      return (await import('./stack-actions.ts')).destroyAction(program, opts);
    });

  program
    .command('show')
    .addArgument(pathArgument('<planfile>', 'a plan saved by `lvsform plan --out FILE`'))
    .description('print a saved plan')
    .addOption(new Option('--json', 'as JSON').conflicts('markdown'))
    .option('--markdown', 'as Markdown for a pull-request comment')
    .action(async (file: string, opts: { json?: boolean; markdown?: boolean }) => (await import('./show-action.ts')).showAction(program, file, opts));

  program
    .command('force-unlock <director>')
    .description("free a director's lock left by a killed run (refused while the holder is alive)")
    .option('--stack <name>', 'the stack whose director it is')
    .option('--no-synth', 'use the existing cdktf.out')
    .addOption(connectTimeoutOption())
    .action(async (name: string, opts: { stack?: string; synth: boolean; connectTimeout: number }) =>
      (await import('./stack-actions.ts')).forceUnlockAction(program, name, opts),
    );
}
