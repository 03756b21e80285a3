/**
 * The constructs that are LvsStacks, so that a Director can check its scope without importing the LvsStack class
 * (which imports Director): the construct library has no import cycle.
 */
import { describe } from './address.ts';
import { unknownKey } from './keys.ts';

const stacks = new WeakSet<object>();

export function markLvsStack(stack: object): void {
  stacks.add(stack);
}

export function isLvsStack(scope: unknown): boolean {
  return typeof scope === 'object' && scope !== null && stacks.has(scope);
}

/**
 * What is wrong with a construct that stands directly in an LvsStack (a Director, a DirectorPair, a RealServerHost),
 * the first of: its scope is not an LvsStack, its props are not an object (`expects` says what they hold), a key it
 * does not take. Undefined when none.
 */
export function stackMemberProblem(what: string, scope: unknown, props: unknown, expects: string, known: readonly string[]): string | undefined {
  if (!isLvsStack(scope)) return `${what} belongs directly to an LvsStack`;
  if (props === null || typeof props !== 'object' || Array.isArray(props)) return `props must be an object with ${expects}; got ${describe(props)}`;
  return unknownKey(what, props, known);
}
