/**
 * The published JSON Schemas (docs/schemas/): written from the zod schemas that read the files (so they cannot go
 * stale), and true of real files: the examples' synthesized cdk.tf.json and a plan file written by a real plan.
 * A small JSON Schema check for the keywords the converter writes stands in for a validator library.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import { writePlanFile } from '../../../providers/ipvs/plan/plan-file.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import type { JsonSchema } from '../../../scripts/json-schema.ts';
import { schemaFiles } from '../../../scripts/schemas.ts';
import { FakeDirector, fakeFleet } from '../engine/fake-director-host.ts';

const REPO = path.resolve(import.meta.dirname, '../../..');
const DOCS = path.join(REPO, 'docs/schemas');
const GOLDEN = path.join(REPO, 'test/unit/examples/__golden__');

/** The problems of `value` against `schema` (the keywords toJsonSchema writes), each with its JSON path. */
function problems(schema: JsonSchema, value: unknown, at = '$'): string[] {
  const out: string[] = [];
  const type = schema['type'];
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (type === 'object' && !isObject) return [`${at}: not an object`];
  if (type === 'array' && !Array.isArray(value)) return [`${at}: not an array`];
  if (type === 'string' && typeof value !== 'string') return [`${at}: not a string`];
  if (type === 'boolean' && typeof value !== 'boolean') return [`${at}: not a boolean`];
  if (type === 'number' && typeof value !== 'number') return [`${at}: not a number`];
  if (type === 'integer' && !Number.isInteger(value)) return [`${at}: not an integer`];
  if ('const' in schema && value !== schema['const']) out.push(`${at}: not ${JSON.stringify(schema['const'])}`);
  if (Array.isArray(schema['enum']) && !schema['enum'].includes(value)) out.push(`${at}: not one of ${schema['enum'].join(', ')}`);
  if (typeof value === 'string') {
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) out.push(`${at}: does not match ${schema['pattern']}`);
    if (typeof schema['minLength'] === 'number' && value.length < schema['minLength']) out.push(`${at}: too short`);
    if (typeof schema['maxLength'] === 'number' && value.length > schema['maxLength']) out.push(`${at}: too long`);
  }
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) out.push(`${at}: below ${schema['minimum']}`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) out.push(`${at}: above ${schema['maximum']}`);
  }
  if (Array.isArray(value) && schema['items']) value.forEach((v, i) => out.push(...problems(schema['items'] as JsonSchema, v, `${at}[${i}]`)));
  if (isObject) {
    const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
    for (const key of (schema['required'] ?? []) as string[]) if (!(key in value)) out.push(`${at}.${key}: missing`);
    for (const [key, v] of Object.entries(value)) {
      if (key in properties) out.push(...problems(properties[key]!, v, `${at}.${key}`));
      else if (schema['additionalProperties'] === false) out.push(`${at}.${key}: not allowed`);
      else if (typeof schema['additionalProperties'] === 'object') out.push(...problems(schema['additionalProperties'] as JsonSchema, v, `${at}.${key}`));
    }
  }
  if (Array.isArray(schema['anyOf']) && !(schema['anyOf'] as JsonSchema[]).some((s) => problems(s, value, at).length === 0)) {
    out.push(`${at}: matches none of its ${schema['anyOf'].length} forms`);
  }
  return out;
}

const schema = (name: string) => JSON.parse(fs.readFileSync(path.join(DOCS, name), 'utf8')) as JsonSchema;

describe('docs/schemas', () => {
  it.each(Object.keys(schemaFiles()))('%s is what scripts/schemas.ts writes from the readers today', (name) => {
    // GIVEN the zod schemas of the readers WHEN the schema files are written again THEN they equal the ones in docs/
    expect(fs.readFileSync(path.join(DOCS, name), 'utf8'), 'run `npx tsx scripts/schemas.ts`').toBe(schemaFiles()[name]);
  });

  it.each(fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.cdk.tf.json')))('the synthesized %s is valid', (file) => {
    // GIVEN an example's synthesized stack WHEN checked against cdk.tf.schema.json THEN it has no problem
    expect(problems(schema('cdk.tf.schema.json'), JSON.parse(fs.readFileSync(path.join(GOLDEN, file), 'utf8')))).toEqual([]);
  });

  it('a plan file written by a real plan is valid', async () => {
    // GIVEN a plan of two services on an empty director (the in-memory director of the engine tests), saved
    const text = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 1\n-A -f 7 -s sh -b flag-1,flag-2\n';
    const table = parseSave(text, 'test');
    const desired: DesiredDirector = {
      name: 'lb1',
      target: { name: 'lb1', transport: 'local' },
      table,
      paths: new Map(table.services.map((s) => [serviceId(s.key), 'web/lb1/svc'])),
    };
    const plan = await planStack([desired], { stack: 'web', openHost: fakeFleet({ lb1: new FakeDirector() }).openHost });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-schema-')), 'web.plan');
    await writePlanFile(file, plan);
    // WHEN the file is checked against plan-file.schema.json THEN it has no problem, and it has changes to check
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { plan: { directors: { changes: unknown[] }[] } };
    expect(doc.plan.directors[0]?.changes.length).toBeGreaterThan(0);
    expect(problems(schema('plan-file.schema.json'), doc)).toEqual([]);
  });

  it('finds what is wrong in a damaged file (so the checks above can fail)', () => {
    // GIVEN an example's stack with a bad port, an unknown key and a missing name
    const doc = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'nat-web.cdk.tf.json'), 'utf8'));
    const service = Object.values(doc.resource.lvsform_virtual_service)[0] as Record<string, unknown>;
    service['port'] = 70000;
    service['colour'] = 'red';
    delete (Object.values(doc.resource.lvsform_director)[0] as Record<string, unknown>)['name'];
    // WHEN checked THEN each is found, with its path
    const found = problems(schema('cdk.tf.schema.json'), doc);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\.port: above 65535$/),
        expect.stringMatching(/\.colour: not allowed$/),
        expect.stringMatching(/\.name: missing$/),
      ]),
    );
  });
});
