import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTableChunk } from '../../../providers/ipvs/host/requests/store-table.ts';
import { writeFileCommand } from '../../../providers/ipvs/host/host-script.ts';

describe('writeTableChunk', () => {
  it.each([true, false])('writes the table byte for byte and leaves the session stream to the next command (gzip %s)', (gzip) => {
    // GIVEN a table text and a scratch state directory
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-table-'));
    const text = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n';
    // WHEN the chunk runs in a real sh fed on stdin, followed by another command, as a session does
    const out = execFileSync('sh', ['-s'], { input: `lvs_dir=${dir}\n${writeTableChunk('web', text, gzip)}\necho after-the-chunk\n`, encoding: 'utf8' });
    // THEN the file holds the text and the next command still ran
    expect(readFileSync(join(dir, 'web.table'), 'utf8')).toBe(text);
    expect(out).toContain('after-the-chunk');
  });
});

describe('writeTableChunk with a large table', () => {
  it('sends a table above the inline limit compressed when the host has gzip, and it arrives byte for byte', () => {
    // GIVEN a table text of about 400 KB (above what travels as one quoted word) and a scratch state directory
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-table-'));
    const line = (i: number) => `-a -t 198.51.100.10:${1000 + (i % 50000)} -r 192.0.2.11:8000 -m -w ${i}\n`;
    const text = Array.from({ length: 7000 }, (_, i) => line(i)).join('');
    // WHEN the chunk runs in a real sh, followed by another command
    const chunk = writeTableChunk('web', text, true);
    const out = execFileSync('sh', ['-s'], { input: `lvs_dir=${dir}\n${chunk}\necho after-the-chunk\n`, encoding: 'utf8' });
    // THEN it travelled compressed, the file holds the text, no temporary file is left, and the next command ran
    expect(chunk).toContain('gzip -dc');
    expect(readFileSync(join(dir, 'web.table'), 'utf8')).toBe(text);
    expect(readdirSync(dir)).toEqual(['web.table']);
    expect(out).toContain('after-the-chunk');
  });
});

describe('writeFileCommand without gzip', () => {
  it('writes a record of 10,000 services (≈ 0.7 MB) with the shell printf, no process, byte for byte', () => {
    // GIVEN a record-sized text and a host without gzip
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-record-'));
    const services = Object.fromEntries(
      Array.from({ length: 10_000 }, (_, i) => [`tcp 198.51.100.${i % 50}:${1000 + i}`, { path: `app/svc-'${i}'`, h: '0123456789abcdef' }]),
    );
    const text = JSON.stringify({ format: 1, stack: 'web', services });
    // WHEN the command runs in a real sh with no command on its PATH, followed by another command
    const command = writeFileCommand(`"${dir}/web.json"`, text, false);
    const out = execFileSync('sh', ['-s'], { input: `PATH=/nonexistent\n${command}\necho after-the-write\n`, encoding: 'utf8' });
    // THEN it was printf, the file holds the text and its newline, and the next command ran
    expect(command.startsWith("printf '%s' ")).toBe(true);
    expect(readFileSync(join(dir, 'web.json'), 'utf8')).toBe(`${text}\n`);
    expect(out).toContain('after-the-write');
  });
});
