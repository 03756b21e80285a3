/**
 * JSON Schema (draft 2020-12) from the zod schemas that read lvsform's files, so the published schemas say what the
 * readers accept. zod 3 has no converter of its own (zod/v4's toJSONSchema takes only v4 schemas), and the readers use
 * a small set of types: those are converted here, and any other type fails loudly rather than being left out. The
 * checks written as code (refine, superRefine: an address parses, a change has the sides its action needs) cannot be
 * said in JSON Schema; the schema is the shape, the reader stays the judge.
 */
import { z } from 'zod';

export type JsonSchema = { [key: string]: unknown };

function stringSchema(def: z.ZodStringDef): JsonSchema {
  const out: JsonSchema = { type: 'string' };
  for (const check of def.checks) {
    if (check.kind === 'min') out['minLength'] = check.value;
    else if (check.kind === 'max') out['maxLength'] = check.value;
    else if (check.kind === 'regex') out['pattern'] = check.regex.source;
    else throw new Error(`json-schema: no conversion for the string check ${check.kind}`);
  }
  return out;
}

function numberSchema(def: z.ZodNumberDef): JsonSchema {
  const out: JsonSchema = { type: 'number' };
  for (const check of def.checks) {
    if (check.kind === 'int') out['type'] = 'integer';
    else if (check.kind === 'min') out[check.inclusive ? 'minimum' : 'exclusiveMinimum'] = check.value;
    else if (check.kind === 'max') out[check.inclusive ? 'maximum' : 'exclusiveMaximum'] = check.value;
    else throw new Error(`json-schema: no conversion for the number check ${check.kind}`);
  }
  return out;
}

/** Whether a property may be left out: optional, or with a default the reader fills in. */
function omittable(schema: z.ZodTypeAny): boolean {
  return schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || (schema instanceof z.ZodEffects && omittable(schema._def.schema));
}

function objectSchema(schema: z.AnyZodObject): JsonSchema {
  const shape = schema.shape as Record<string, z.ZodTypeAny>;
  const properties = Object.fromEntries(Object.entries(shape).map(([key, value]) => [key, toJsonSchema(value)]));
  const required = Object.entries(shape)
    .filter(([, value]) => !omittable(value))
    .map(([key]) => key);
  const catchall = schema._def.catchall as z.ZodTypeAny;
  const additional = catchall instanceof z.ZodNever ? schema._def.unknownKeys !== 'strict' : catchall instanceof z.ZodUnknown ? true : toJsonSchema(catchall);
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: additional };
}

/** The JSON Schema of a zod schema built from the types the readers use. */
export function toJsonSchema(schema: z.ZodTypeAny): JsonSchema {
  if (schema instanceof z.ZodString) return stringSchema(schema._def);
  if (schema instanceof z.ZodNumber) return numberSchema(schema._def);
  if (schema instanceof z.ZodBoolean) return { type: 'boolean' };
  if (schema instanceof z.ZodLiteral) return { const: schema._def.value };
  if (schema instanceof z.ZodEnum) return { type: 'string', enum: [...schema._def.values] };
  if (schema instanceof z.ZodArray) return { type: 'array', items: toJsonSchema(schema._def.type) };
  if (schema instanceof z.ZodObject) return objectSchema(schema);
  if (schema instanceof z.ZodRecord) return { type: 'object', additionalProperties: toJsonSchema(schema._def.valueType) };
  if (schema instanceof z.ZodUnion || schema instanceof z.ZodDiscriminatedUnion) {
    return { anyOf: (schema._def.options as z.ZodTypeAny[]).map(toJsonSchema) };
  }
  if (schema instanceof z.ZodOptional) return toJsonSchema(schema._def.innerType);
  if (schema instanceof z.ZodDefault) return { ...toJsonSchema(schema._def.innerType), default: schema._def.defaultValue() };
  if (schema instanceof z.ZodEffects) return toJsonSchema(schema._def.schema);
  if (schema instanceof z.ZodUnknown) return {};
  throw new Error(`json-schema: no conversion for ${schema.constructor.name}`);
}

/** A whole schema document: the draft, an id under docs/schemas/, a title and a description. */
export function schemaDocument(schema: z.ZodTypeAny, file: string, title: string, description: string): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://github.com/lvsform/lvsform/blob/main/docs/schemas/${file}`,
    title,
    description,
    ...toJsonSchema(schema),
  };
}
