/** `--debug` prints the causes behind an error; without it, the error reads as always. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../bad-input/cli-helpers.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-debug-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('--debug', () => {
  it('prints the cause chain of an error', async () => {
    // GIVEN a plan file that does not exist
    const missing = path.join(dir, 'missing.plan');
    // WHEN it is shown with --debug
    const run = await runCli(['--debug', 'show', missing]);
    // THEN the error is followed by the system error behind it
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Error \[LVS_PLAN_MISSING\]: .*\n\s+caused by: Error: ENOENT/m);
  });

  it('prints no causes without it', async () => {
    // GIVEN the same missing plan file WHEN shown without --debug THEN only the error and its hint are printed
    const run = await runCli(['show', path.join(dir, 'missing.plan')]);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('caused by');
  });
});
