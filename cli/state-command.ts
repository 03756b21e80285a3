/**
 * `lvsform state list | show | rm`: options only; the work is loaded from state-actions.ts when a subcommand runs
 * (so start-up and --help stay fast).
 */
import { type Command, Option } from 'commander';
import { connectTimeoutOption, directorOption, intArg } from './args.ts';

export interface StateOpts {
  stack?: string;
  director?: string[];
  synth: boolean;
  connectTimeout: number;
  lockTimeout: number;
  acceptNewHostKey?: boolean;
  json?: boolean;
  autoApprove?: boolean;
}

function addStateOptions(cmd: Command): Command {
  return cmd
    .option('--stack <name>', 'the stack (when the app has several)')
    .addOption(directorOption())
    .addOption(connectTimeoutOption())
    .option('--no-synth', 'use the existing cdktf.out instead of running the app first')
    .addOption(new Option('--lock-timeout <seconds>', "wait this long for another run's lock").default(0).argParser(intArg(0, 86400)))
    .option('--accept-new-host-key', 'trust a host key seen for the first time (host keys are pinned by default)');
}

export function registerStateCommands(program: Command): void {
  const state = program.command('state').description('what the stack owns on each director (list, show) and letting go of a service without touching it (rm)');

  addStateOptions(state.command('list').description('list the services the stack owns, per director, from their ownership records'))
    .option('--json', 'print JSON')
    .action(async (opts: StateOpts) => (await import('./state-actions.ts')).stateListAction(program, opts));

  addStateOptions(
    state
      .command('show <address>')
      .description('one owned service: its record entry, configuration and real servers (ADDRESS: web/lb1/http or lb1:tcp/198.51.100.10:80)'),
  )
    .option('--json', 'print JSON')
    .action(async (address: string, opts: StateOpts) => (await import('./state-actions.ts')).stateShowAction(program, address, opts));

  addStateOptions(
    state.command('rm <address...>').description("stop owning services without touching the kernel (terraform's removed { lifecycle { destroy = false } })"),
  )
    .option('--auto-approve', 'do not ask for confirmation')
    .option('--json', 'print what was removed as JSON')
    .action(async (addresses: string[], opts: StateOpts) => (await import('./state-actions.ts')).stateRmAction(program, addresses, opts));
}
