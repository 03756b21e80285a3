import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hereDoc, shJoin, shQuote } from '../../../providers/ipvs/host/shell-quote.ts';

const corpus = [
  'plain',
  "it's",
  "'; touch /tmp/lvsform-pwned; '",
  '$(touch /tmp/lvsform-pwned)',
  '`touch /tmp/lvsform-pwned`',
  'a\nb; touch /tmp/lvsform-pwned',
  '"$HOME" ${PATH} \\ \\\' !',
  'ｒｏｏｔ；ｒｍ',
  '-o ProxyCommand=touch /tmp/lvsform-pwned',
  '',
];

describe('shQuote', () => {
  it.each(corpus)('passes %j to sh as one inert word', (value) => {
    // GIVEN a hostile value WHEN it is quoted and echoed by a real sh THEN sh prints it back unchanged
    const out = execFileSync('sh', ['-c', `printf '%s' ${shQuote(value)}`], { encoding: 'utf8' });
    expect(out).toBe(value);
  });

  it('refuses a NUL byte instead of letting the shell truncate the value', () => {
    // GIVEN a value with NUL WHEN quoted THEN an error with a stable code
    expect(() => shQuote('a\0b')).toThrow(expect.objectContaining({ code: 'LVS_UNSAFE_VALUE' }));
  });
});

describe('hereDoc', () => {
  it('picks a delimiter that no line of the body equals', () => {
    // GIVEN a body containing the default delimiter WHEN sent through sh THEN cat prints the whole body
    const body = 'line 1\nLVSFORM_EOF\n$(touch /tmp/lvsform-pwned)\nlast';
    const out = execFileSync('sh', ['-c', `cat ${hereDoc(body)}`], { encoding: 'utf8' });
    expect(out).toBe(`${body}\n`);
  });
});

describe('shJoin', () => {
  it('passes every word to the command as it is, whatever it holds', () => {
    // GIVEN words with spaces, quotes and shell syntax WHEN joined and run by sh THEN printf sees each word intact
    const words = ['a b', "it's", '$(id)', '*', ''];
    const out = execFileSync('sh', ['-c', `printf '<%s>' ${shJoin(words)}`], { encoding: 'utf8' });
    expect(out).toBe(words.map((w) => `<${w}>`).join(''));
  });
});
