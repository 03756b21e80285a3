/**
 * Writes docs/schemas/*.json from the zod schemas that read the files (`npx tsx scripts/schemas.ts`). A unit test
 * (test/unit/schemas/schemas.test.ts) regenerates them and compares, so they cannot go stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planFileSchema } from '../providers/ipvs/plan/plan-file.ts';
import { synthSchema } from '../providers/ipvs/read/read-synth.ts';
import { schemaDocument } from './json-schema.ts';

export const SCHEMAS = {
  'cdk.tf.schema.json': () =>
    schemaDocument(
      synthSchema,
      'cdk.tf.schema.json',
      'lvsform synthesized stack (cdk.tf.json)',
      'What `lvsform synth` writes to cdktf.out/stacks/<stack>/cdk.tf.json and what plan and apply read: docs/synth-format.md.',
    ),
  'plan-file.schema.json': () =>
    schemaDocument(
      planFileSchema,
      'plan-file.schema.json',
      'lvsform saved plan (plan --out FILE)',
      'A plan saved by `lvsform plan --out FILE` and read by `lvsform apply FILE` and `lvsform show FILE`.',
    ),
} as const;

/** The text of each schema file, as the script writes it. */
export function schemaFiles(): Record<string, string> {
  return Object.fromEntries(Object.entries(SCHEMAS).map(([name, make]) => [name, `${JSON.stringify(make(), null, 2)}\n`]));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const dir = join(import.meta.dirname, '..', 'docs', 'schemas');
  for (const [name, text] of Object.entries(schemaFiles())) writeFileSync(join(dir, name), text);
}
