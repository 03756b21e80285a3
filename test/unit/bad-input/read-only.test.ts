/**
 * The bad-input catalogue, continued: a read-only run (`--read-only` or LVSFORM_READ_ONLY=1, the plan key of a
 * pull-request pipeline) asked to change a director. Each verb is refused with LVS_READ_ONLY, naming the director and
 * the apply key, before any host is contacted (director lb1 is at a documentation address that is never reached; a
 * refusal that came too late would be LVS_HOST_UNREACHABLE after the connect timeout), and the project is unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli-helpers.ts';
import { expectRefused, synthesizedProject } from './edges-helpers.ts';

afterEach(() => {
  delete process.env.LVSFORM_READ_ONLY;
});

const CHANGES: readonly [string, string[]][] = [
  ['apply', ['apply', '--auto-approve']],
  ['apply', ['apply']],
  ['destroy', ['destroy', '--auto-approve']],
  ['force-unlock', ['force-unlock', 'lb1']],
  ['state rm', ['state', 'rm', 'lb1:tcp/198.51.100.10:80', '--auto-approve']],
];

/** A synthesized project and the read-only command line that runs `args` in it, without synthesizing again. */
async function readOnlyRun(args: readonly string[]): Promise<{ dir: string; argv: string[] }> {
  const dir = await synthesizedProject();
  return { dir, argv: ['-C', dir, '--read-only', ...args, '--no-synth', '--connect-timeout', '1'] };
}

describe('a read-only run asked to change a director', () => {
  it.each(CHANGES)('%s (%j) is refused with LVS_READ_ONLY before any host is contacted', async (verb, args) => {
    // GIVEN a synthesized project WHEN the verb runs read-only THEN LVS_READ_ONLY, the project unchanged
    await expectRefused({
      name: verb,
      given: () => readOnlyRun(args),
      code: 'LVS_READ_ONLY',
      message: new RegExp(`^Error \\[LVS_READ_ONLY\\]: ${verb} would change director\\(s\\) lb1, and this run is read-only`, 'm'),
      hint: /with the apply key/,
    });
  });

  it.each([
    ['doctor', ['doctor']],
    ['state list', ['state', 'list']],
  ])('%s, which has no read-only way yet, is refused with LVS_READ_ONLY naming the director', async (verb, args) => {
    // GIVEN a synthesized project WHEN the verb runs read-only THEN LVS_READ_ONLY, the project unchanged
    await expectRefused({
      name: verb,
      given: () => readOnlyRun(args),
      code: 'LVS_READ_ONLY',
      message: new RegExp(`${verb} has no read-only way yet \\(director\\(s\\) lb1\\)`),
    });
  });

  it('LVSFORM_READ_ONLY=1 refuses apply as the flag does', async () => {
    // GIVEN the variable instead of the flag WHEN apply runs THEN LVS_READ_ONLY
    process.env.LVSFORM_READ_ONLY = '1';
    await expectRefused({
      name: 'env',
      given: async () => {
        const dir = await synthesizedProject();
        return { dir, argv: ['-C', dir, 'apply', '--auto-approve', '--no-synth', '--connect-timeout', '1'] };
      },
      code: 'LVS_READ_ONLY',
      message: /apply would change director\(s\) lb1/,
    });
  });

  it('a LVSFORM_READ_ONLY value other than 1 or 0 is refused as a usage error, not guessed', async () => {
    // GIVEN a synthesized project and a value that might mean either
    const dir = await synthesizedProject();
    process.env.LVSFORM_READ_ONLY = 'yes';
    // WHEN apply runs
    const run = await runCli(['-C', dir, 'apply', '--auto-approve', '--no-synth', '--connect-timeout', '1']);
    // THEN it is a usage error naming the variable
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Error \[LVS_USAGE\]: LVSFORM_READ_ONLY must be 1 \(read-only\) or 0 \(not\); got "yes"/m);
  });
});
