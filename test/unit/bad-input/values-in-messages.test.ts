/**
 * How a value found in the input is shown in an error message: one function (model/describe-value.ts, and the same
 * file in the construct library), tried on the values that used to print badly, and end to end on a boxed prop and
 * on `1e400` in a hand-edited cdk.tf.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeValue } from '../../../providers/ipvs/model/describe-value.ts';
import { appSource, CDKTF_JSON, project, REPO } from './cli-helpers.ts';
import { expectRefused, synthesizedProject } from './edges-helpers.ts';

describe('describeValue', () => {
  it('is one file on both sides of the JSON contract', () => {
    // GIVEN the provider's and the construct library's copies WHEN compared THEN they are byte-equal
    const provider = fs.readFileSync(path.join(REPO, 'providers/ipvs/model/describe-value.ts'), 'utf8');
    const lib = fs.readFileSync(path.join(REPO, 'lib/private/describe-value.ts'), 'utf8');
    expect(lib).toBe(provider);
  });

  const cases: [string, unknown, string][] = [
    ['a string, quoted', 'rr', '"rr"'],
    ['a long string, cut with its length', 'a'.repeat(5000), `"${'a'.repeat(57)}"… (5000 characters)`],
    ['1e400, as not finite', Number('1e400'), 'Infinity (not finite, as 1e400 reads)'],
    ['-1e400', Number('-1e400'), '-Infinity (not finite, as -1e400 reads)'],
    ['NaN', Number.NaN, 'NaN (not a number)'],
    ['-0', -0, '-0'],
    ['nothing', undefined, 'nothing'],
    ['a boxed string, named', new String('198.51.100.10'), 'a String object wrapping "198.51.100.10" (not a string: drop the `new String`)'],
    ['a boxed number, named', new Number(80), 'a Number object wrapping 80 (not a number: drop the `new Number`)'],
    ['a boxed boolean, named', new Boolean(false), 'a Boolean object wrapping false (not a boolean: drop the `new Boolean`)'],
    ['a bigint', 80n, '80n (a bigint, not a number)'],
    ['a Map, named', new Map([[1, 2]]), 'an object (Map)'],
    ['a plain object, as JSON', { port: 80 }, '{"port":80}'],
  ];
  for (const [name, value, text] of cases) {
    it(`shows ${name}`, () => {
      // GIVEN the value WHEN shown THEN it reads as expected
      expect(describeValue(value)).toBe(text);
    });
  }

  it('shows a circular object without throwing', () => {
    // GIVEN an object that JSON cannot hold WHEN shown THEN it is named
    const o: Record<string, unknown> = {};
    o['self'] = o;
    expect(describeValue(o)).toBe('an object');
  });
});

describe('values in messages, end to end', () => {
  it('a VIP given as new String(…) is named as the String object it is', () =>
    expectRefused({
      name: 'boxed VIP',
      given: async () => {
        const dir = project({
          'cdktf.json': CDKTF_JSON,
          'app.ts': appSource(`lb1.addVirtualService('http', { address: new String('198.51.100.10') as never, port: 80 });`),
        });
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/lb1\/http: .*a String object wrapping "198\.51\.100\.10" \(not a string: drop the `new String`\)/,
    }));

  it('a port of 1e400 in cdk.tf.json is shown as not finite, not as null', async () => {
    // GIVEN a good synth whose service port is then edited to 1e400
    const dir = await synthesizedProject();
    const file = path.join(dir, 'cdktf.out/stacks/web/cdk.tf.json');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/"port": 80/);
    fs.writeFileSync(file, text.replace(/"port": 80/, '"port": 1e400'));
    // WHEN planned from it THEN the error shows the value as written, and nothing changed
    await expectRefused({
      name: '1e400',
      given: async () => ({ dir, argv: ['-C', dir, 'plan', '--no-synth'] }),
      code: 'LVS_SYNTH_INVALID',
      message: /port: .*got Infinity \(not finite, as 1e400 reads\)/,
    });
  }, 120_000);
});
