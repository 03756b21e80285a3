/**
 * The constructs that are LvsStacks, so that a Director can check its scope without importing the LvsStack class
 * (which imports Director): the construct library has no import cycle.
 */
const stacks = new WeakSet<object>();

export function markLvsStack(stack: object): void {
  stacks.add(stack);
}

export function isLvsStack(scope: unknown): boolean {
  return typeof scope === 'object' && scope !== null && stacks.has(scope);
}
