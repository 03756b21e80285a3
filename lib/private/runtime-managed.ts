import { describe } from './address.ts';
import { closest } from './closest.ts';
import { RUNTIME_MANAGED_FIELDS } from './limits.ts';

/**
 * A real-server field left to a health checker at run time: `weight`, or `thresholds` (upper and lower together).
 * Strings, as Terraform's `ignore_changes` names attributes: each names the prop of the member it covers.
 */
export type RuntimeManagedField = (typeof RUNTIME_MANAGED_FIELDS)[number];

/**
 * Checks a `runtimeManaged` prop and returns its fields sorted, without duplicates; or what is wrong with it.
 * `undefined` is the default (nothing left to a checker).
 */
export function runtimeManagedOf(value: unknown): readonly RuntimeManagedField[] | string {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return `runtimeManaged must be an array of field names, e.g. ['weight', 'thresholds']; got ${describe(value)}`;
  const out = new Set<RuntimeManagedField>();
  for (const v of value) {
    if (!(RUNTIME_MANAGED_FIELDS as readonly unknown[]).includes(v)) {
      const near = typeof v === 'string' ? closest(v, RUNTIME_MANAGED_FIELDS) : undefined;
      return `runtimeManaged takes ${RUNTIME_MANAGED_FIELDS.map((f) => `'${f}'`).join(' and ')}; got ${describe(v)}${near ? ` (did you mean '${near}'?)` : ''}`;
    }
    out.add(v as RuntimeManagedField);
  }
  return [...out].sort();
}
