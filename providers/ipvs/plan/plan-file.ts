/**
 * Saved plans (`lvsform plan --out FILE`, `lvsform apply FILE`). The file carries the plan and a sha256 digest of it,
 * so a truncated or edited file is refused instead of half-trusted; a plan of another stack or of another format is
 * refused too. A saved plan needs no synth to apply: it names its directors and carries the batch and the desired
 * state to verify against. The batch is what the changes render, one truth: a file whose batch says otherwise (edited
 * and signed again: the digest guards against damage, not malice) is refused, so the plain apply (which runs the
 * batch) and the drain (which renders its two batches from the changes) carry out the same plan.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LvsError } from '../model/errors.ts';
import { DuplicateKeyError, parseJsonStrict } from '../model/strict-json.ts';
import { checkFileTarget, type FileRule, writeFileSafely } from '../read/local-writes.ts';
import { renderBatch } from './diff.ts';
import { PLAN_FORMAT, type Plan } from './plan.ts';
import { planSchema } from './plan-schema.ts';

const KIND = 'lvsform-plan';

/** A saved plan file (`plan --out`); also the source of docs/schemas/plan-file.schema.json. */
export const planFileSchema = z.object({
  kind: z.literal(KIND),
  format_version: z.number().int(),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  plan: planSchema,
});

function digestOf(plan: Plan): string {
  return createHash('sha256').update(JSON.stringify(plan)).digest('hex');
}

/** What to do about --out before planning: the file and its directory alike. */
const BEFORE_PLANNING = 'Give --out a new file (or an earlier plan file) in an existing, writable directory; nothing was planned.';
/** What to do about --out when the plan was made and could not be saved: the file and its directory alike. */
const AFTER_PLANNING = 'The plan ran but was not saved; fix the place and plan again.';

/**
 * Where a plan may be saved: a new file, or a regular file that holds an earlier lvsform plan (or nothing), in an
 * existing, writable directory; never a symlink, FIFO, device or directory, never a file lvsform did not write.
 */
const PLAN_OUT: FileRule = {
  code: 'LVS_PLAN_OUT',
  verb: 'save the plan to',
  hint: BEFORE_PLANNING,
  placeHint: BEFORE_PLANNING,
  replace: 'ours',
  // writePlanFile writes `kind` first; any format version and digest counts (an earlier lvsform's plan is replaced).
  isOurs: (head) => /^\s*\{\s*"kind"\s*:\s*"lvsform-plan"/.test(head),
  ours: 'an lvsform plan file',
};

/** Checks, before any director is read, that a plan can be saved at `path`: a typo in `--out` is found at once. */
export async function checkPlanOut(path: string): Promise<void> {
  await checkFileTarget(path, PLAN_OUT);
}

/** Saves a plan (private: 0600); a failed write leaves `path` as it was. */
export async function writePlanFile(path: string, plan: Plan): Promise<void> {
  const body = JSON.stringify({ kind: KIND, format_version: PLAN_FORMAT, digest: digestOf(plan), plan }, null, 1);
  await writeFileSafely(path, `${body}\n`, { ...PLAN_OUT, hint: AFTER_PLANNING, placeHint: AFTER_PLANNING }, 0o600);
}

/** Parses a saved plan's text; `expectStack` refuses a plan made for another stack. */
export function parsePlanFile(text: string, path: string, expectStack?: string): Plan {
  const redo = 'Make a new plan with `lvsform plan --out FILE`.';
  let raw: unknown;
  try {
    raw = parseJsonStrict(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    const why = e instanceof DuplicateKeyError ? `is ambiguous: ${e.message}` : 'is not valid JSON (truncated or damaged)';
    throw new LvsError('LVS_PLAN_CORRUPT', `plan file ${path} ${why}`, { cause: e, hint: redo });
  }
  const kind = (raw as { kind?: unknown } | null)?.kind;
  const version = (raw as { format_version?: unknown } | null)?.format_version;
  if (kind !== KIND) throw new LvsError('LVS_PLAN_CORRUPT', `${path} is not an lvsform plan file`, { hint: redo });
  if (version !== PLAN_FORMAT) {
    throw new LvsError('LVS_PLAN_FORMAT', `plan file ${path} has format ${String(version)}; this lvsform applies format ${PLAN_FORMAT}`, { hint: redo });
  }
  const parsed = planFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LvsError(
      'LVS_PLAN_CORRUPT',
      `plan file ${path} is malformed at ${issue?.path.length ? issue.path.join('.') : '(top level)'}: ${issue?.message}`,
      { hint: redo },
    );
  }
  // The digest is over the plan exactly as written (the raw object keeps the file's key order).
  const plan = (raw as { plan: Plan }).plan;
  if (digestOf(plan) !== parsed.data.digest) {
    throw new LvsError('LVS_PLAN_CORRUPT', `plan file ${path} was modified after it was written (digest mismatch)`, { hint: redo });
  }
  for (const d of plan.directors) {
    if (d.batch !== renderBatch(d.changes)) {
      throw new LvsError(
        'LVS_PLAN_INCONSISTENT',
        `plan file ${path}: the batch for director ${d.director} is not what its changes render (the file was edited and signed again); nothing was changed`,
        { hint: redo },
      );
    }
  }
  if (expectStack !== undefined && plan.stack !== expectStack) {
    throw new LvsError('LVS_PLAN_MISMATCH', `plan file ${path} is for stack "${plan.stack}", not "${expectStack}"`, { hint: redo });
  }
  return plan;
}

export async function readPlanFile(path: string, expectStack?: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new LvsError('LVS_PLAN_MISSING', `cannot read plan file ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parsePlanFile(text, path, expectStack);
}
