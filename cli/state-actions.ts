/** The work of `lvsform state list | show | rm`, loaded only when one of them runs. Options: state-command.ts. */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { loadStacks, readProjectConfig, runApp, selectDirectors, selectStack, type LoadedStack } from '../providers/ipvs/read/synth.ts';
import { allEntries, readState, removeFromState, type StateOptions } from '../providers/ipvs/ops/state.ts';
import { parseStateAddress, resolveStateAddresses, type StateEntry } from '../providers/ipvs/plan/state.ts';
import { renderStateList, renderStateShow, stateListJson, stateShowJson } from '../providers/ipvs/render/render-state.ts';
import { noPaint } from '../providers/ipvs/render/render-plan.ts';
import { paint } from './plan-text.ts';
import { delayedProgress } from './progress.ts';
import type { StateOpts } from './state-command.ts';
import { readOnlyRefusal } from '../providers/ipvs/model/host-target.ts';
import { readOnlyMode } from './args.ts';
import { printError } from './print-error.ts';

const progress = delayedProgress();

/** The stacks to read: the one named (or the only one), or with `all`, every stack of the app when none is named. */
async function loadForState(program: Command, opts: StateOpts, verb: 'list' | 'show' | 'rm', all = false): Promise<LoadedStack[]> {
  const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
  if (opts.synth) await runApp(cfg);
  const stacks = await loadStacks(cfg.outdir, { fresh: opts.synth });
  const chosen = all && opts.stack === undefined ? stacks : [selectStack(stacks, opts.stack)].map((s) => selectDirectors(s, opts.director));
  const selected = all && opts.stack === undefined ? chosen.map((s) => selectDirectors(s, opts.director)) : chosen;
  // The state verbs read the record through the host's shell (and `rm` writes it): none has a read-only way.
  if (readOnlyMode(program))
    throw readOnlyRefusal(
      `state ${verb}`,
      selected.flatMap((s) => s.directors.map((d) => d.target)),
      verb === 'rm',
    );
  return selected;
}

function stateOptions(stack: string, opts: StateOpts): StateOptions {
  return {
    stack,
    lockTimeout: opts.lockTimeout,
    connectTimeout: opts.connectTimeout,
    acceptNewHostKey: Boolean(opts.acceptNewHostKey),
    onProgress: (d, m) => progress.step(d, m),
  };
}

export async function stateListAction(program: Command, opts: StateOpts): Promise<void> {
  const stacks = await loadForState(program, opts, 'list', true);
  const p = opts.json ? noPaint : paint();
  let failed = false;
  const docs: Record<string, unknown>[] = [];
  for (const stack of stacks) {
    const state = await readState(stack.directors, stateOptions(stack.stack, opts));
    progress.stop();
    failed ||= state.directors.some((d) => d.error);
    if (opts.json) docs.push(stateListJson(state));
    else process.stdout.write(`${stack === stacks[0] ? '' : '\n'}${renderStateList(state, p)}`);
    for (const d of state.directors) {
      if (d.error) printError(d.error);
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(docs.length === 1 ? docs[0] : { stacks: docs })}\n`);
  if (failed) process.exitCode = 1;
}

export async function stateShowAction(program: Command, address: string, opts: StateOpts): Promise<void> {
  parseStateAddress(address); // a malformed address is refused before any director is reached
  const [stack] = await loadForState(program, opts, 'show');
  const state = await readState(stack!.directors, stateOptions(stack!.stack, opts));
  progress.stop();
  const [entry] = resolveStateAddresses(state.stack, [address], allEntries(state));
  const d = state.directors.find((x) => x.director === entry!.director)!;
  process.stdout.write(opts.json ? `${JSON.stringify(stateShowJson(state.stack, entry!))}\n` : renderStateShow(state.stack, d, entry!, paint()));
}

function listed(entries: readonly StateEntry[]): string {
  return entries.map((e) => `  ${e.address} (${e.path})${e.live ? '' : ', missing from the kernel'}\n`).join('');
}

async function confirmOnTerminal(stack: string, entries: readonly StateEntry[]): Promise<boolean> {
  progress.stop();
  process.stdout.write(
    `Stack ${stack} will stop owning ${entries.length} service(s). They stay in the kernel exactly as they are, and lvsform will no longer change or delete them:\n${listed(entries)}`,
  );
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question("\nDo you want to remove them from the state? Only 'yes' will be accepted: ")).trim() === 'yes';
  } finally {
    rl.close();
  }
}

export async function stateRmAction(program: Command, addresses: string[], opts: StateOpts): Promise<void> {
  for (const a of addresses) parseStateAddress(a); // malformed addresses are refused before any director is reached
  const [stack] = await loadForState(program, opts, 'rm');
  if (!opts.autoApprove && !process.stdin.isTTY) {
    throw new LvsError('LVS_NEEDS_APPROVAL', 'state rm needs confirmation, and there is no terminal to ask on', {
      hint: 'Check the addresses with `lvsform state show ADDRESS`, then pass --auto-approve.',
    });
  }
  const report = await removeFromState(stack!.directors, addresses, {
    ...stateOptions(stack!.stack, opts),
    ...(opts.autoApprove ? {} : { confirm: (entries: readonly StateEntry[]) => confirmOnTerminal(stack!.stack, entries) }),
  });
  progress.stop();
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ format_version: 1, stack: stack!.stack, removed: report.removed.map((e) => ({ director: e.director, address: e.address, service: e.serviceId, construct_path: e.path })) })}\n`,
    );
    if (!report.confirmed) process.exitCode = 1;
    return;
  }
  if (!report.confirmed) {
    process.stdout.write('\nState rm cancelled; nothing was changed.\n');
    process.exitCode = 1;
    return;
  }
  const p = paint();
  process.stdout.write(
    p.bold(`Removed ${report.removed.length} service(s) from the state of stack ${stack!.stack}; they stay in the kernel, no longer managed:\n`) +
      listed(report.removed),
  );
  const declared = report.removed.filter((e) => e.declared);
  if (declared.length > 0) {
    process.stdout.write(
      p.warn(
        `\nStill declared by the app: ${declared.map((e) => e.path).join(', ')}. The next plan reports ${declared.length === 1 ? 'it' : 'them'} as existing but not owned (LVS_NOT_OWNED) and changes nothing there: remove ${declared.length === 1 ? 'it' : 'them'} from the app, or take ${declared.length === 1 ? 'it' : 'them'} back with \`lvsform apply --adopt\`.\n`,
      ),
    );
  }
}
