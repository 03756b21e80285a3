/** Why `value` is not an integer in [min, max], or undefined when it is (the rule set's own check). */
export { intOutOf } from './rules.ts';

export { SAFE_NAME } from './limits.ts';
