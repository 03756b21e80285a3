/**
 * The work of the stack verbs (synth, plan, apply, destroy, show, force-unlock), loaded only when one of them runs so
 * that `lvsform --help` and the other commands start fast. The options are declared in stack-commands.ts.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { partialPairNotes } from '../providers/ipvs/model/director-pair.ts';
import { forceUnlockDirector } from '../providers/ipvs/ops/force-unlock.ts';
import { checkMaxDeletes, checkTargets, ownedElsewhereError, planHasChanges, planHasErrors, type Plan } from '../providers/ipvs/plan/plan.ts';
import type { DesiredDirector } from '../providers/ipvs/model/desired-director.ts';
import { checkPlanOut, readPlanFile, writePlanFile } from '../providers/ipvs/plan/plan-file.ts';
import { narrowRealServers } from '../providers/ipvs/plan/narrow-real-servers.ts';
import { planToJson } from '../providers/ipvs/render/plan-json.ts';
import { renderMarkdown } from '../providers/ipvs/render/render-markdown.ts';
import { noPaint, renderPlan, type Paint } from '../providers/ipvs/render/render-plan.ts';
import { applyStack, planStack, type ApplyReport, type RunOptions } from '../providers/ipvs/apply/run-stack.ts';
import { loadStacks, readProjectConfig, runApp, selectDirectors, selectStack, type LoadedStack } from '../providers/ipvs/read/synth.ts';
import { aboutTarget, describeTarget, errorPointer, readOnlyRefusal, type HostTarget } from '../providers/ipvs/model/host-target.ts';
import { openReadOnlyHost } from '../providers/ipvs/host/read-only-host.ts';
import { readOnlyMode } from './args.ts';
import { debugEnabled, debugLine } from './debug.ts';
import { paint, targetNote } from './plan-text.ts';
import { delayedProgress, type Progress } from './progress.ts';
import type { CommonOpts, GuardOpts } from './stack-commands.ts';
import { printError } from './print-error.ts';

function guard(opts: GuardOpts): ((plan: Plan) => void) | undefined {
  if (opts.maxDeletes === undefined || opts.allowDeletes) return undefined;
  const max = opts.maxDeletes;
  return (plan) => checkMaxDeletes(plan, max);
}

/**
 * Director errors go to standard error, one `Error [CODE]` line each with its hint, so that CI that captures standard
 * error (or only looks there) sees what failed; the plan on standard output marks the director in place with the
 * code, so that a terminal shows each error once. Conflicts are shown in the plan and listed here too.
 */
function reportDirectorErrors(plan: Plan): void {
  for (const r of plan.realServers ?? []) if (r.error) printError({ ...r.error, message: aboutTarget(r.target, r.error.message) });
  for (const d of plan.directors) {
    if (d.error) printError({ ...d.error, message: aboutTarget(d.target, d.error.message) });
    else if (d.owners) {
      const e = ownedElsewhereError(d.target, plan.stack, d.owners, false);
      printError(e);
    } else if (d.conflicts.length) {
      printError({
        code: 'LVS_NOT_OWNED',
        message: `director ${describeTarget(d.target)}: declared service(s) exist but are not owned by stack ${plan.stack}: ${d.conflicts.join(', ')}`,
        hint: 'Run with --adopt to take them over.',
      });
    }
  }
}

async function loadStack(program: Command, opts: CommonOpts): Promise<LoadedStack> {
  const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
  if (opts.synth) await runApp(cfg);
  return selectDirectors(selectStack(await loadStacks(cfg.outdir, { fresh: opts.synth }), opts.stack), opts.director);
}

/** Progress lines on stderr for steps that last over about 2 s (terminal or CI); stopped before any prompt. */
const progress: Progress = delayedProgress();

function runOptions(stack: string, opts: CommonOpts & { adopt?: boolean; refreshOnly?: boolean; targets?: string[] }): RunOptions {
  return {
    stack,
    parallelism: Math.max(1, opts.parallelism),
    lockTimeout: opts.lockTimeout,
    acceptNewHostKey: Boolean(opts.acceptNewHostKey),
    adopt: Boolean(opts.adopt),
    refreshOnly: Boolean(opts.refreshOnly),
    ...(opts.refresh === false ? { refresh: false } : {}),
    drain: opts.drain,
    drainTimeout: opts.drainTimeout,
    ...(opts.targets?.length ? { targets: opts.targets } : {}),
    ...(opts.connectTimeout === undefined ? {} : { connectTimeout: opts.connectTimeout }),
    onProgress: (d: string, m: string) => progress.step(d, m),
    onIdle: (d: string) => progress.idle(d),
    ...(debugEnabled() ? { onTiming: (d: string, phase: string, ms: number) => debugLine(`${d}: ${phase} ${ms.toFixed(0)} ms`) } : {}),
  };
}

/**
 * The real servers of a run: all of them; in a run narrowed to some directors or construct paths, those the run's
 * services send to, prepared for those services, with nothing removed (narrow-real-servers.ts). A narrowed destroy
 * leaves real servers as they are: the services outside it may still send to them.
 */
function realServersOf(stack: LoadedStack, opts: CommonOpts, targets: readonly string[], destroy = false): Pick<RunOptions, 'realServers'> {
  if (stack.realServers.length === 0) return {};
  if (!opts.director?.length && targets.length === 0) return { realServers: stack.realServers };
  if (destroy) return {};
  const narrowed = narrowRealServers(stack.realServers, stack.directors, targets);
  return narrowed.length > 0 ? { realServers: narrowed } : {};
}

/** Every host a stack names, directors first, for a refusal. */
function hostsOf(stack: LoadedStack): HostTarget[] {
  return [...stack.directors.map((d) => d.target), ...stack.realServers.map((r) => r.target)];
}

async function confirmOnTerminal(plan: Plan, p: Paint, verb: string): Promise<boolean> {
  progress.stop();
  process.stdout.write(targetNote(plan) + renderPlan(plan, p, { errorsApart: true }));
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`\nDo you want to ${verb}? Only 'yes' will be accepted: `);
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}

function reportApply(report: ApplyReport, p: Paint, json: boolean, printPlan: boolean): number {
  const failed = report.outcomes.filter((o) => o.status === 'failed');
  const skipped = report.outcomes.every((o) => o.status === 'skipped');
  const pairNotes = partialPairNotes(report.pairs ?? [], new Set(failed.map((o) => o.director)));
  if (json) {
    // `errors` is every director that failed, at planning or after: the same list standard error gets in text mode.
    const errors = failed.map((o) => ({
      director: o.director,
      code: o.error?.code ?? 'LVS_APPLY_FAILED',
      message: o.error?.message ?? 'failed',
      hint: o.error?.hint ?? null,
    }));
    const rsErrors = (report.realServerOutcomes ?? [])
      .filter((o) => o.status === 'failed')
      .map((o) => ({ realServer: o.host, code: o.error?.code ?? 'LVS_APPLY_FAILED', message: o.error?.message ?? 'failed', hint: o.error?.hint ?? null }));
    const ok = failed.length === 0 && rsErrors.length === 0 && !skipped;
    const partial = pairNotes.length > 0 ? { partialPairs: pairNotes } : {};
    process.stdout.write(
      `${JSON.stringify({ ...planToJson(report.plan), ok, errors: [...errors, ...rsErrors], outcomes: report.outcomes, ...(report.realServerOutcomes ? { realServerOutcomes: report.realServerOutcomes } : {}), ...partial })}\n`,
    );
    return failed.length || rsErrors.length ? 1 : 0;
  }
  if (printPlan) process.stdout.write(targetNote(report.plan) + renderPlan(report.plan, p, { errorsApart: true }));
  if (skipped) {
    process.stdout.write('\nApply cancelled; nothing was changed.\n');
    return 1;
  }
  process.stdout.write('\n');
  for (const o of report.outcomes) {
    const d = report.plan.directors.find((x) => x.director === o.director);
    const where = d ? describeTarget(d.target) : o.director;
    if (o.status === 'failed') {
      // The error itself goes to standard error, once; its place here names the director and the code.
      const code = o.error?.code ?? 'LVS_APPLY_FAILED';
      const message = o.error?.message ?? 'failed';
      process.stdout.write(p.remove(`✗ ${where}: failed (${errorPointer(code)})\n`));
      printError({ code, message: d ? aboutTarget(d.target, message) : message, hint: o.error?.hint });
      for (const r of o.residual.slice(0, 20)) {
        const dest = 'destinationId' in r ? ` real ${(r as { destinationId: string }).destinationId}` : '';
        process.stdout.write(`    still to ${r.action}: service ${r.serviceId}${dest}${r.changedFields?.length ? ` (${r.changedFields.join(', ')})` : ''}\n`);
      }
    } else if (o.status === 'applied') {
      process.stdout.write(p.add(`✓ ${where}: applied and verified in ${o.seconds.toFixed(1)} s\n`));
    } else if (o.status === 'unchanged') {
      process.stdout.write(`✓ ${where}: no changes\n`);
    }
  }
  for (const o of report.realServerOutcomes ?? []) {
    const r = report.plan.realServers?.find((x) => x.host === o.host);
    const where = r ? describeTarget(r.target) : o.host;
    if (o.status === 'failed') {
      const code = o.error?.code ?? 'LVS_APPLY_FAILED';
      process.stdout.write(p.remove(`✗ real server ${where}: failed (${errorPointer(code)})\n`));
      printError({ code, message: o.error?.message ?? 'failed', hint: o.error?.hint });
    } else if (o.status === 'applied') process.stdout.write(p.add(`✓ real server ${where}: prepared and verified\n`));
    else if (o.status === 'unchanged') process.stdout.write(`✓ real server ${where}: no changes\n`);
  }
  const rsFailed = (report.realServerOutcomes ?? []).filter((o) => o.status === 'failed').length;
  const counts = report.plan.directors.map((d) => d.changes.length).reduce((a, b) => a + b, 0);
  const rsNote = rsFailed > 0 ? `; ${rsFailed} real server(s) failed` : '';
  for (const note of pairNotes) process.stdout.write(`\n${p.warn(note)}\n`);
  process.stdout.write(
    failed.length || rsFailed
      ? p.remove(`\nApply failed on ${failed.length} of ${report.outcomes.length} director(s)${rsNote}.\n`)
      : p.bold(`\nApply complete: ${counts} change(s) on ${report.outcomes.length} director(s), verified.\n`),
  );
  return failed.length || rsFailed ? 1 : 0;
}

export async function synthAction(program: Command): Promise<void> {
  const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
  await runApp(cfg);
  const stacks = await loadStacks(cfg.outdir, { fresh: true });
  for (const s of stacks) {
    const services = s.directors.reduce((a, d) => a + d.table.services.length, 0);
    process.stdout.write(`${s.stack}: ${s.directors.length} director(s), ${services} service(s) -> ${s.file}\n`);
  }
}

export async function planAction(
  program: Command,
  opts: CommonOpts & GuardOpts & { out?: string; markdown?: boolean; detailedExitcode?: boolean; refreshOnly?: boolean; adopt?: boolean; destroy?: boolean },
): Promise<void> {
  if (opts.out) await checkPlanOut(opts.out);
  const stack = await loadStack(program, opts);
  const targets = opts.target.length ? checkTargets(stack.directors, opts.target) : [];
  const directors: DesiredDirector[] = opts.destroy ? stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map() })) : stack.directors;
  const plan = await planStack(directors, {
    ...runOptions(stack.stack, { ...opts, targets }),
    ...realServersOf(stack, opts, targets, Boolean(opts.destroy)),
    ...(opts.destroy ? { mode: 'destroy' as const } : {}),
    ...(readOnlyMode(program) ? { openHost: openReadOnlyHost } : {}),
  });
  guard(opts)?.(plan);
  // A plan with a director that could not be read is not one to apply: it is shown, never saved.
  const failed = planHasErrors(plan);
  const saved = Boolean(opts.out) && !failed;
  if (saved) await writePlanFile(opts.out!, plan);
  if (opts.json) process.stdout.write(`${JSON.stringify(planToJson(plan))}\n`);
  else if (opts.markdown) process.stdout.write(renderMarkdown(plan, saved ? { planFile: opts.out! } : {}));
  else {
    process.stdout.write(targetNote(plan) + renderPlan(plan, paint(), { errorsApart: true }));
    if (saved) process.stdout.write(`\nSaved the plan to ${opts.out}. Apply exactly this plan with: lvsform apply ${opts.out}\n`);
  }
  reportDirectorErrors(plan);
  if (opts.out && failed) process.stderr.write(`The plan was not saved to ${opts.out}: it is incomplete. Fix the errors above and plan again.\n`);
  if (failed) process.exitCode = 1;
  else if (opts.detailedExitcode) process.exitCode = planHasChanges(plan) ? 2 : 0;
}

export async function applyAction(
  program: Command,
  planfile: string | undefined,
  opts: CommonOpts & GuardOpts & { autoApprove?: boolean; adopt?: boolean },
): Promise<void> {
  const p = opts.json ? noPaint : paint();
  const check = guard(opts);
  if (planfile) {
    // The flags a saved plan does not honour (--target, --no-drain, --adopt, --no-refresh, …) were refused already
    // (flag-modes.ts): the plan carries them.
    const saved = await readPlanFile(planfile, opts.stack);
    // A real server is prepared for every service of the plan that sends to it: carrying out part of the directors
    // would leave it prepared (or unprepared) for services whose change did not run.
    if (opts.director?.length && saved.realServers?.some((r) => r.changes.length > 0 || (r.setup?.length ?? 0) > 0)) {
      throw new LvsError(
        'LVS_PLAN_MISMATCH',
        `the saved plan ${planfile} prepares real servers for all its directors, so --director cannot carry out part of it; nothing was changed`,
        {
          hint: 'Apply the whole plan, or make one for those directors: `lvsform plan --director NAME --out FILE`.',
        },
      );
    }
    if (readOnlyMode(program)) throw readOnlyRefusal('apply', [...saved.directors.map((d) => d.target), ...(saved.realServers ?? []).map((r) => r.target)]);
    for (const name of opts.director ?? []) {
      if (!saved.directors.some((d) => d.director === name)) {
        throw new LvsError(
          'LVS_NO_DIRECTOR',
          `the saved plan ${planfile} has no director "${name}" (it has: ${saved.directors.map((d) => d.director).join(', ')})`,
        );
      }
    }
    const directors = saved.directors
      .filter((d) => !opts.director?.length || opts.director.includes(d.director))
      .map((d) => ({ name: d.director, target: d.target, table: d.desired, paths: new Map(Object.entries(d.paths)) }));
    // The table is read the way the plan read it: its fingerprint is compared with the plan's, and the fast path's
    // (--no-refresh) is of another kind than the full read's.
    const fast = saved.directors.some((d) => d.refresh !== undefined);
    const report = await applyStack(directors, {
      ...runOptions(saved.stack, { ...opts, refresh: !fast }),
      savedPlan: opts.director?.length ? { ...saved, realServers: [] } : saved,
      destroy: saved.mode === 'destroy',
      ...(check ? { check } : {}),
    });
    process.exitCode = reportApply(report, p, Boolean(opts.json), !opts.json);
    return;
  }
  // Refused before the approval question: the answer would not matter.
  if (readOnlyMode(program)) throw readOnlyRefusal('apply', hostsOf(await loadStack(program, opts)));
  if (!opts.autoApprove && !process.stdin.isTTY) {
    throw new LvsError('LVS_NEEDS_APPROVAL', 'apply needs confirmation, and there is no terminal to ask on', {
      hint: 'Review `lvsform plan` and pass --auto-approve, or apply a saved plan: `lvsform plan --out FILE` then `lvsform apply FILE`.',
    });
  }
  const stack = await loadStack(program, opts);
  const targets = opts.target.length ? checkTargets(stack.directors, opts.target) : [];
  const report = await applyStack(stack.directors, {
    ...runOptions(stack.stack, { ...opts, targets }),
    ...realServersOf(stack, opts, targets),
    ...(check ? { check } : {}),
    ...(opts.autoApprove ? {} : { confirm: (plan: Plan) => confirmOnTerminal(plan, p, 'perform these actions') }),
  });
  process.exitCode = reportApply(report, p, Boolean(opts.json), Boolean(opts.autoApprove) && !opts.json);
}

export async function destroyAction(program: Command, opts: CommonOpts & { autoApprove?: boolean }): Promise<void> {
  const p = opts.json ? noPaint : paint();
  if (readOnlyMode(program)) throw readOnlyRefusal('destroy', hostsOf(await loadStack(program, opts)));
  if (!opts.autoApprove && !process.stdin.isTTY) {
    throw new LvsError('LVS_NEEDS_APPROVAL', 'destroy needs confirmation, and there is no terminal to ask on', { hint: 'Pass --auto-approve.' });
  }
  const stack = await loadStack(program, opts);
  const directors = stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map<string, string>() }));
  const report = await applyStack(directors, {
    ...runOptions(stack.stack, opts),
    ...realServersOf(stack, opts, [], true),
    destroy: true,
    ...(opts.autoApprove ? {} : { confirm: (plan: Plan) => confirmOnTerminal(plan, p, 'destroy these services') }),
  });
  process.exitCode = reportApply(report, p, Boolean(opts.json), Boolean(opts.autoApprove) && !opts.json);
}

export async function forceUnlockAction(program: Command, name: string, opts: { stack?: string; synth: boolean; connectTimeout: number }): Promise<void> {
  const stack = await loadStack(program, { ...opts, director: [name], parallelism: 1, lockTimeout: 0, drain: false, drainTimeout: 0 });
  const d = stack.directors[0]!;
  if (readOnlyMode(program)) throw readOnlyRefusal('force-unlock', [d.target]);
  const where = describeTarget(d.target);
  const done = await forceUnlockDirector(d.target, { connectTimeout: opts.connectTimeout });
  process.stdout.write(done === 'none' ? `${where} is not locked.\n` : `${where}: freed the lock left by a run that is gone.\n`);
}
