/**
 * The stack verbs: synth, plan, apply, destroy, show, force-unlock. Parsing and wiring only; the work is done by
 * providers/ipvs (planStack, applyStack, plan files, renderers).
 */
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import pc from 'picocolors';
import { LvsError } from '../providers/ipvs/errors.ts';
import { forceUnlockChunk, preludeChunk } from '../providers/ipvs/host-script.ts';
import { checkMaxDeletes, checkTargets, planHasChanges, planHasErrors, type DesiredDirector, type Plan } from '../providers/ipvs/plan.ts';
import { checkPlanOut, readPlanFile, writePlanFile } from '../providers/ipvs/plan-file.ts';
import { planToJson } from '../providers/ipvs/plan-json.ts';
import { renderMarkdown, targetedText } from '../providers/ipvs/render-markdown.ts';
import { noPaint, renderPlan, type Paint } from '../providers/ipvs/render-plan.ts';
import { applyStack, planStack, type ApplyReport, type RunOptions } from '../providers/ipvs/run-stack.ts';
import { loadStacks, readProjectConfig, runApp, selectDirectors, selectStack, type SynthesizedStack } from '../providers/ipvs/synth.ts';
import { describeTarget, HostSession } from '../providers/ipvs/transport.ts';

interface CommonOpts {
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
}

function paint(): Paint {
  const c = pc.createColors(Boolean(process.stdout.isTTY) && !process.env['NO_COLOR']);
  return { add: c.green, change: c.yellow, remove: c.red, dim: c.dim, bold: c.bold, warn: c.magenta };
}

function positiveInt(name: string, max: number, min = 0) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) > max || Number(v) < min) {
      throw new LvsError('LVS_USAGE', `${name} takes a whole number from ${min} to ${max}, got "${v}"`);
    }
    return Number(v);
  };
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('--stack <name>', 'the stack to work on (when the app has several)')
    .option('--director <name...>', 'only these directors')
    .option('--no-synth', 'use the existing cdktf.out instead of running the app first')
    .addOption(new Option('--parallelism <n>', 'directors worked on at once').default(10).argParser(positiveInt('--parallelism', 1000, 1)))
    .addOption(new Option('--lock-timeout <seconds>', "wait this long for another run's lock").default(0).argParser(positiveInt('--lock-timeout', 86400)))
    .option('--accept-new-host-key', 'trust a host key seen for the first time (host keys are pinned by default)')
    .option('--no-refresh', "trust the table stored by the last verified apply while /proc/net/ip_vs still matches it (terraform's -refresh=false); falls back to the full read otherwise")
    .option('--no-drain', 'delete real servers at once instead of draining them first')
    .addOption(new Option('--drain-timeout <seconds>', "how long a removed real server's connections may take to end").default(30).argParser(positiveInt('--drain-timeout', 86400)));
}

interface GuardOpts {
  target: string[];
  maxDeletes?: number;
  allowDeletes?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** --target, --max-deletes and --allow-deletes (plan and apply). */
function addGuards(cmd: Command): Command {
  return cmd
    .option('--target <path>', 'only the services at or under this construct path (repeatable); the others are left as they are', collect, [])
    .addOption(new Option('--max-deletes <n>', 'refuse, changing nothing, a plan that deletes more than N services and real servers').argParser(positiveInt('--max-deletes', 1_000_000)))
    .option('--allow-deletes', 'let a plan delete more than --max-deletes');
}

/** The check run on the whole plan before anything changes: --max-deletes unless --allow-deletes. */
function guard(opts: GuardOpts): ((plan: Plan) => void) | undefined {
  if (opts.maxDeletes === undefined || opts.allowDeletes) return undefined;
  const max = opts.maxDeletes;
  return (plan) => checkMaxDeletes(plan, max);
}

function targetNote(plan: Plan): string {
  const t = targetedText(plan);
  return t ? `${t[0]!.toUpperCase()}${t.slice(1)}.\n` : '';
}

/**
 * Director errors and conflicts also go to standard error, one `Error [CODE]` line each, so that CI that captures
 * standard error (or only looks there) sees what failed; the plan on standard output shows them in place too.
 */
function reportDirectorErrors(plan: Plan): void {
  for (const d of plan.directors) {
    if (d.error) process.stderr.write(`Error [${d.error.code}]: ${d.error.message.includes(`director ${d.director}`) ? d.error.message : `${describeTarget(d.target)}: ${d.error.message}`}\n${d.error.hint ? `  ${d.error.hint}\n` : ''}`);
    else if (d.conflicts.length) {
      process.stderr.write(`Error [LVS_NOT_OWNED]: director ${describeTarget(d.target)}: declared service(s) exist but are not owned by stack ${plan.stack}: ${d.conflicts.join(', ')}\n  Run with --adopt to take them over.\n`);
    }
  }
}

async function loadStack(program: Command, opts: CommonOpts): Promise<SynthesizedStack> {
  const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
  if (opts.synth) await runApp(cfg);
  return selectDirectors(selectStack(await loadStacks(cfg.outdir, { fresh: opts.synth }), opts.stack), opts.director);
}

function runOptions(stack: string, opts: CommonOpts & { adopt?: boolean; refreshOnly?: boolean; targets?: string[] }): RunOptions {
  const progress = process.stderr.isTTY && !opts.json;
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
    ...(progress ? { onProgress: (d: string, m: string) => process.stderr.write(pc.dim(`${d}: ${m}\n`)) } : {}),
  };
}

async function confirmOnTerminal(plan: Plan, p: Paint, verb: string): Promise<boolean> {
  process.stdout.write(targetNote(plan) + renderPlan(plan, p));
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
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...planToJson(report.plan), outcomes: report.outcomes })}\n`);
    return failed.length ? 1 : 0;
  }
  if (printPlan) process.stdout.write(targetNote(report.plan) + renderPlan(report.plan, p));
  if (skipped) {
    process.stdout.write('\nApply cancelled; nothing was changed.\n');
    return 1;
  }
  process.stdout.write('\n');
  for (const o of report.outcomes) {
    const d = report.plan.directors.find((x) => x.director === o.director);
    const where = d ? describeTarget(d.target) : o.director;
    if (o.status === 'failed') {
      // Most messages already name the director; prefix it only where one does not.
      const message = o.error?.message ?? 'failed';
      const line = message.includes(`director ${o.director}`) ? message : `${where}: ${message}`;
      process.stdout.write(p.remove(`✗ ${line}\n`));
      if (o.error?.hint) process.stdout.write(`  ${o.error.hint}\n`);
      process.stderr.write(`Error [${o.error?.code ?? 'LVS_APPLY_FAILED'}]: ${line}\n${o.error?.hint ? `  ${o.error.hint}\n` : ''}`);
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
  const counts = report.plan.directors.map((d) => d.changes.length).reduce((a, b) => a + b, 0);
  process.stdout.write(
    failed.length
      ? p.remove(`\nApply failed on ${failed.length} of ${report.outcomes.length} director(s).\n`)
      : p.bold(`\nApply complete: ${counts} change(s) on ${report.outcomes.length} director(s), verified.\n`),
  );
  return failed.length ? 1 : 0;
}

export function registerStackCommands(program: Command): void {
  program
    .command('synth')
    .description('run the app (the "app" command of cdktf.json) and write cdktf.out/stacks/<stack>/cdk.tf.json')
    .action(async () => {
      const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
      await runApp(cfg);
      const stacks = await loadStacks(cfg.outdir, { fresh: true });
      for (const s of stacks) {
        const services = s.directors.reduce((a, d) => a + d.table.services.length, 0);
        process.stdout.write(`${s.stack}: ${s.directors.length} director(s), ${services} service(s) -> ${s.file}\n`);
      }
    });

  addGuards(addCommon(program.command('plan').description('show what apply would change on each director')))
    .option('--out <file>', 'save the plan for `lvsform apply FILE`')
    .addOption(new Option('--json', 'print the plan as JSON (format_version 1)').conflicts('markdown'))
    .option('--markdown', 'print the plan as Markdown for a pull-request comment')
    .option('--detailed-exitcode', 'exit 0 when there are no changes, 1 on error, 2 when there are changes')
    .option('--refresh-only', 'show drift of owned services without proposing changes')
    .option('--adopt', 'take ownership of declared services that already exist on a director')
    .option('--destroy', 'plan the destruction of every service the stack owns')
    .action(async (opts: CommonOpts & GuardOpts & { out?: string; markdown?: boolean; detailedExitcode?: boolean; refreshOnly?: boolean; adopt?: boolean; destroy?: boolean }) => {
      if (opts.out) await checkPlanOut(opts.out);
      const stack = await loadStack(program, opts);
      const targets = opts.target.length ? checkTargets(stack.directors, opts.target) : [];
      const directors: DesiredDirector[] = opts.destroy ? stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map() })) : stack.directors;
      const plan = await planStack(directors, { ...runOptions(stack.stack, { ...opts, targets }), ...(opts.destroy ? { mode: 'destroy' as const } : {}) });
      guard(opts)?.(plan);
      // A plan with a director that could not be read is not one to apply: it is shown, never saved.
      const failed = planHasErrors(plan);
      const saved = Boolean(opts.out) && !failed;
      if (saved) await writePlanFile(opts.out!, plan);
      if (opts.json) process.stdout.write(`${JSON.stringify(planToJson(plan))}\n`);
      else if (opts.markdown) process.stdout.write(renderMarkdown(plan, saved ? { planFile: opts.out! } : {}));
      else {
        process.stdout.write(targetNote(plan) + renderPlan(plan, paint()));
        if (saved) process.stdout.write(`\nSaved the plan to ${opts.out}. Apply exactly this plan with: lvsform apply ${opts.out}\n`);
      }
      reportDirectorErrors(plan);
      if (opts.out && failed) process.stderr.write(`The plan was not saved to ${opts.out}: it is incomplete. Fix the errors above and plan again.\n`);
      if (failed) process.exitCode = 1;
      else if (opts.detailedExitcode) process.exitCode = planHasChanges(plan) ? 2 : 0;
    });

  addGuards(addCommon(program.command('apply [planfile]').description('carry out the plan on every director, verified by reading the table back')))
    .option('--auto-approve', 'do not ask for confirmation')
    .option('--adopt', 'take ownership of declared services that already exist on a director')
    .option('--json', 'print the plan and the outcome as JSON')
    .action(async (planfile: string | undefined, opts: CommonOpts & GuardOpts & { autoApprove?: boolean; adopt?: boolean }) => {
      const p = opts.json ? noPaint : paint();
      const check = guard(opts);
      if (planfile) {
        if (opts.target.length) {
          throw new LvsError('LVS_USAGE', `--target cannot narrow the saved plan ${planfile}: a saved plan is applied exactly as it was made`, {
            hint: 'Make the plan with the targets instead: `lvsform plan --target PATH --out FILE`, then `lvsform apply FILE`.',
          });
        }
        const saved = await readPlanFile(planfile, opts.stack);
        for (const name of opts.director ?? []) {
          if (!saved.directors.some((d) => d.director === name)) {
            throw new LvsError('LVS_NO_DIRECTOR', `the saved plan ${planfile} has no director "${name}" (it has: ${saved.directors.map((d) => d.director).join(', ')})`);
          }
        }
        const directors = saved.directors
          .filter((d) => !opts.director?.length || opts.director.includes(d.director))
          .map((d) => ({ name: d.director, target: d.target, table: d.desired, paths: new Map(Object.entries(d.paths)) }));
        const report = await applyStack(directors, { ...runOptions(saved.stack, opts), savedPlan: saved, destroy: saved.mode === 'destroy', ...(check ? { check } : {}) });
        process.exitCode = reportApply(report, p, Boolean(opts.json), !opts.json);
        return;
      }
      if (!opts.autoApprove && !process.stdin.isTTY) {
        throw new LvsError('LVS_NEEDS_APPROVAL', 'apply needs confirmation, and there is no terminal to ask on', {
          hint: 'Review `lvsform plan` and pass --auto-approve, or apply a saved plan: `lvsform plan --out FILE` then `lvsform apply FILE`.',
        });
      }
      const stack = await loadStack(program, opts);
      const targets = opts.target.length ? checkTargets(stack.directors, opts.target) : [];
      const report = await applyStack(stack.directors, {
        ...runOptions(stack.stack, { ...opts, targets }),
        ...(check ? { check } : {}),
        ...(opts.autoApprove ? {} : { confirm: (plan: Plan) => confirmOnTerminal(plan, p, 'perform these actions') }),
      });
      process.exitCode = reportApply(report, p, Boolean(opts.json), Boolean(opts.autoApprove) && !opts.json);
    });

  addCommon(program.command('destroy').description("remove every service the stack owns (services it does not own are never touched)"))
    .option('--auto-approve', 'do not ask for confirmation')
    .option('--json', 'print the plan and the outcome as JSON')
    .action(async (opts: CommonOpts & { autoApprove?: boolean }) => {
      const p = opts.json ? noPaint : paint();
      if (!opts.autoApprove && !process.stdin.isTTY) {
        throw new LvsError('LVS_NEEDS_APPROVAL', 'destroy needs confirmation, and there is no terminal to ask on', { hint: 'Pass --auto-approve.' });
      }
      const stack = await loadStack(program, opts);
      const directors = stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map<string, string>() }));
      const report = await applyStack(directors, {
        ...runOptions(stack.stack, opts),
        destroy: true,
        ...(opts.autoApprove ? {} : { confirm: (plan: Plan) => confirmOnTerminal(plan, p, 'destroy these services') }),
      });
      process.exitCode = reportApply(report, p, Boolean(opts.json), Boolean(opts.autoApprove) && !opts.json);
    });

  program
    .command('show <planfile>')
    .description('print a saved plan')
    .addOption(new Option('--json', 'as JSON').conflicts('markdown'))
    .option('--markdown', 'as Markdown for a pull-request comment')
    .action(async (file: string, opts: { json?: boolean; markdown?: boolean }) => {
      const plan = await readPlanFile(file);
      if (opts.json) process.stdout.write(`${JSON.stringify(planToJson(plan))}\n`);
      else if (opts.markdown) process.stdout.write(renderMarkdown(plan, { planFile: file }));
      else process.stdout.write(targetNote(plan) + renderPlan(plan, paint()));
    });

  program
    .command('force-unlock <director>')
    .description("free a director's lock left by a killed run (refused while the holder is alive)")
    .option('--stack <name>', 'the stack whose director it is')
    .option('--no-synth', 'use the existing cdktf.out')
    .action(async (name: string, opts: { stack?: string; synth: boolean }) => {
      const stack = await loadStack(program, { ...opts, director: [name], parallelism: 1, lockTimeout: 0, drain: false, drainTimeout: 0 });
      const d = stack.directors[0]!;
      const session = HostSession.open(d.target);
      try {
        await session.run(preludeChunk());
        const out = (await session.run(forceUnlockChunk())).stdout.trim();
        const where = describeTarget(d.target);
        if (out.startsWith('@@unlock none')) process.stdout.write(`${where} is not locked.\n`);
        else if (out.startsWith('@@unlock freed')) process.stdout.write(`${where}: freed the lock left by a run that is gone.\n`);
        else if (out.startsWith('@@unlock alive')) {
          throw new LvsError('LVS_LOCK_HELD', `${where} is locked by a live run: ${out.split('\n').slice(1).join(' ')}`, {
            hint: 'Let that run finish; force-unlock only frees locks whose holder is gone.',
          });
        } else throw new LvsError('LVS_LOCK_HELD', `${where}: the lock is still held by another process`, { hint: 'Wait for it to finish.' });
      } finally {
        await session.close();
      }
    });
}
