/**
 * Saved plans (`lvsform plan --out FILE`, `lvsform apply FILE`). The file carries the plan and a sha256 digest of it,
 * so a truncated or edited file is refused instead of half-trusted; a plan of another stack or of another format is
 * refused too. A saved plan needs no synth to apply: it names its directors and carries the batch and the desired
 * state to verify against.
 */
import { createHash } from 'node:crypto';
import { access, constants, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { LvsError } from '../model/errors.ts';
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

/**
 * Checks, before any director is read, that a plan can be saved at `path`: its directory exists and is writable, and
 * `path` is not a directory. So a typo in `--out` is found at once, not after the whole plan ran.
 */
export async function checkPlanOut(path: string): Promise<void> {
  const dir = dirname(resolve(path));
  const refuse = (why: string, cause?: unknown): never => {
    throw new LvsError('LVS_PLAN_OUT', `cannot save the plan to ${path}: ${why}`, {
      ...(cause === undefined ? {} : { cause }),
      hint: 'Give --out a file in an existing, writable directory; nothing was planned.',
    });
  };
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch (e) {
    return refuse(`the directory ${dir} does not exist`, e);
  }
  if (!info.isDirectory()) refuse(`${dir} is not a directory`);
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    refuse(`the directory ${dir} is not writable`, e);
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) refuse('it is a directory');
}

export async function writePlanFile(path: string, plan: Plan): Promise<void> {
  const body = JSON.stringify({ kind: KIND, format_version: PLAN_FORMAT, digest: digestOf(plan), plan }, null, 1);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, body + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

/** Parses a saved plan's text; `expectStack` refuses a plan made for another stack. */
export function parsePlanFile(text: string, path: string, expectStack?: string): Plan {
  const redo = 'Make a new plan with `lvsform plan --out FILE`.';
  let raw: unknown;
  try {
    raw = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new LvsError('LVS_PLAN_CORRUPT', `plan file ${path} is not valid JSON (truncated or damaged)`, { cause: e, hint: redo });
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
