/**
 * A vitest global setup for every project: the run's scratch files (synthesized apps, plan files, records, packed
 * tarballs) go to one fresh directory, set as TMPDIR before the test workers start and removed when the run ends,
 * whichever script started the run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const before = process.env['TMPDIR'];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-run-'));
  process.env['TMPDIR'] = scratch;
  return () => {
    if (before === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = before;
    fs.rmSync(scratch, { recursive: true, force: true });
  };
}
