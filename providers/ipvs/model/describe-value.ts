/**
 * How any value found in the input is shown in an error message: strings quoted and, when long, cut with their
 * length; numbers that JSON cannot hold (Infinity, as `1e400` reads; NaN; -0) named; boxed values (`new String('x')`)
 * named as the objects they are, since they look like the value they wrap but are refused as it; anything else as
 * short JSON. One function for every message of this side of the JSON contract; the construct library holds the same
 * file (lib/private/describe-value.ts), and a unit test holds the two byte-equal.
 */

/** Characters of a value shown before it is cut. */
const SHOWN = 60;

function quoted(s: string): string {
  return s.length > SHOWN ? `${JSON.stringify(s.slice(0, SHOWN - 3))}… (${s.length} characters)` : JSON.stringify(s);
}

function number(n: number): string {
  if (Number.isNaN(n)) return 'NaN (not a number)';
  if (!Number.isFinite(n)) return `${n < 0 ? '-' : ''}Infinity (not finite, as ${n < 0 ? '-' : ''}1e400 reads)`;
  return Object.is(n, -0) ? '-0' : String(n);
}

/** The wrapped value of a boxed primitive, with its type's name; undefined for any other value. */
function unboxed(v: object): { type: string; value: unknown } | undefined {
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  if (tag !== 'String' && tag !== 'Number' && tag !== 'Boolean') return undefined;
  try {
    return { type: tag, value: (v as { valueOf(): unknown }).valueOf() };
  } catch {
    return undefined;
  }
}

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return quoted(v);
  if (typeof v === 'number') return number(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n (a bigint, not a number)`;
  if (typeof v === 'symbol') return `${String(v)} (a symbol)`;
  if (typeof v === 'function') return v.name ? `a function ${v.name}` : 'a function';
  const boxed = unboxed(v);
  if (boxed) return `a ${boxed.type} object wrapping ${describeValue(boxed.value)} (not a ${boxed.type.toLowerCase()}: drop the \`new ${boxed.type}\`)`;
  let json: string | undefined;
  try {
    json = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? number(x) : typeof x === 'bigint' ? `${x}n` : x));
  } catch {
    json = undefined;
  }
  // A class instance (Map, Date, a construct…) is named: its JSON alone (`{}` for a Map) would hide what it is.
  const ctor = (v as { constructor?: { name?: unknown } }).constructor?.name;
  const name = Array.isArray(v) ? 'an array' : typeof ctor === 'string' && ctor !== 'Object' && ctor !== '' ? `an object (${ctor})` : 'an object';
  if (json === undefined) return name;
  const shown = json.length > SHOWN ? `${json.slice(0, SHOWN - 3)}… (${name}, ${json.length} characters of JSON)` : json;
  return name.startsWith('an object (') ? `${name}${json === '{}' ? '' : ` ${shown}`}` : shown;
}
