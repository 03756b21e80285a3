/** parseJsonStrict: JSON.parse's value and errors, and a refusal of any object holding a key twice. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuplicateKeyError, parseJsonStrict } from '../../../providers/ipvs/model/strict-json.ts';

function refusal(text: string): DuplicateKeyError | undefined {
  try {
    parseJsonStrict(text);
    return undefined;
  } catch (e) {
    if (e instanceof DuplicateKeyError) return e;
    throw e;
  }
}

describe('parseJsonStrict', () => {
  it('reads every JSON text without a duplicated key as JSON.parse does', () => {
    // GIVEN any JSON value, written compact and indented WHEN parsed THEN the value is JSON.parse's
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        expect(parseJsonStrict(text)).toEqual(JSON.parse(text));
      }),
      { seed: 19, numRuns: 500 },
    );
  });

  it('finds a key written twice anywhere, at its path', () => {
    // GIVEN an object nested under generated keys, with one key repeated
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 4 }), fc.string({ maxLength: 6 }), (outer, key) => {
        let text = `{${JSON.stringify(key)}:1,"x\\"y":"}{",${JSON.stringify(key)}:[2]}`;
        for (const k of [...outer].reverse()) text = `{${JSON.stringify(k)}:${text}}`;
        // WHEN parsed THEN refused, naming the repeated key
        const e = refusal(text);
        expect(e?.key).toBe(key);
        expect(e?.line).toBe(1);
      }),
      { seed: 20, numRuns: 300 },
    );
  });

  it('compares keys decoded: "a" and "\\u0061" are one key', () => {
    expect(refusal('{"a": 1, "\\u0061": 2}')?.message).toMatch(/^duplicate key a \(line 1\)/);
  });

  it('names the path and line of the second use', () => {
    // GIVEN a second, empty service block on line 4
    const text = '{\n "resource": {\n  "lvsform_virtual_service": {"x": {}},\n  "lvsform_virtual_service": {}\n }\n}';
    // THEN the message gives the key's path and line
    expect(refusal(text)?.message).toBe(
      'duplicate key resource.lvsform_virtual_service (line 4): an object holds "lvsform_virtual_service" twice, and JSON would keep only the last value',
    );
  });

  it('counts array positions in the path, and keys in strings are not keys', () => {
    expect(refusal('[{"k": "\\"k\\": 1"}, {"k": 1, "z": {"q": 1, "q": 2}}]')?.path).toBe('[1].z.q');
    expect(refusal('{"a": "{\\"b\\":1,\\"b\\":2}"}')).toBeUndefined();
  });

  it('keeps the same key in sibling objects', () => {
    expect(parseJsonStrict('{"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}]}')).toEqual({ a: { k: 1 }, b: { k: 2 }, c: [{ k: 3 }, { k: 4 }] });
  });

  it('throws JSON.parse own SyntaxError for text that is not JSON', () => {
    expect(() => parseJsonStrict('{"a": 1,')).toThrow(SyntaxError);
    expect(() => parseJsonStrict('{"a": 1,')).not.toThrow(DuplicateKeyError);
  });
});
