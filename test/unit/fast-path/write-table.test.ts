import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTableChunk } from '../../../providers/ipvs/host/fast-path.ts';

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
