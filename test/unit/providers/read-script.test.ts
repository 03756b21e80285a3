/**
 * The TypeScript side of the read-only script: the words lvsform puts on the remote command line are checked against
 * the same patterns the script checks (the lab test proves the script itself refuses hostile words), the ssh command
 * logs in as the plan user and runs the fixed script through sudo with no shell, and the set-up plans the script and
 * its sudoers rule. Nothing here runs ipvsadm or a shell.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planHostSetup } from '../../../providers/ipvs/plan/host-setup.ts';
import type { HostFacts } from '../../../providers/ipvs/model/host-setup.ts';
import { READ_MAX_ARGS, readScriptArgs, readScriptText } from '../../../providers/ipvs/host/read-script.ts';
import { READ_SCRIPT, READ_SUDOERS, readSudoersFile } from '../../../providers/ipvs/model/host-setup.ts';
import { sshArgs } from '../../../providers/ipvs/host/transport.ts';
import { isLvsError } from '../../../providers/ipvs/model/errors.ts';

const TAG = '0123456789abcdef';

function code(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return isLvsError(e) ? e.code : String(e);
  }
}

describe('readScriptArgs', () => {
  it('gives the tag, the wait and one plain word per part', () => {
    // GIVEN the reads of a plan's round trip
    // WHEN they are turned into arguments
    const args = readScriptArgs(TAG, 5, [
      { kind: 'caps', help: true, modules: ['ip_vs_wrr', 'ip_vs_pe_sip'] },
      { kind: 'table', stack: 'web' },
    ]);
    // THEN each is one word of the script's grammar
    expect(args).toEqual([TAG, '5', 'caps-help', 'module=ip_vs_wrr', 'module=ip_vs_pe_sip', 'table=web']);
  });

  it.each([
    ['a stack with a shell command', { kind: 'table', stack: 'web; ipvsadm -C' }],
    ['a stack that leaves the state directory', { kind: 'table', stack: '../etc/shadow' }],
    ['a stack with a newline', { kind: 'facts', stack: 'web\nid', modules: [] }],
    ['a stack starting with a dash', { kind: 'table', stack: '-rf' }],
    ['a module with a substitution', { kind: 'caps', help: false, modules: ['ip_vs_$(id)'] }],
    ['a module of another subsystem', { kind: 'facts', stack: 'web', modules: ['nf_conntrack'] }],
  ] as const)('refuses %s with LVS_UNSAFE_VALUE', (_name, part) => {
    // GIVEN a part with a hostile word WHEN its arguments are built THEN it is refused before anything is sent
    expect(code(() => readScriptArgs(TAG, 0, [part]))).toBe('LVS_UNSAFE_VALUE');
  });

  it('refuses a tag that is not 16 hex digits', () => {
    // GIVEN a tag with a command substitution WHEN the arguments are built THEN it is refused
    expect(code(() => readScriptArgs('`id`', 0, []))).toBe('LVS_UNSAFE_VALUE');
  });

  it(`refuses more than ${READ_MAX_ARGS} arguments, as the script does`, () => {
    // GIVEN as many modules as the script takes arguments (the tag and wait come on top)
    const modules = Array.from({ length: READ_MAX_ARGS }, (_, i) => `ip_vs_m${i}`);
    // WHEN the arguments are built THEN they are refused
    expect(code(() => readScriptArgs(TAG, 0, [{ kind: 'caps', help: false, modules }]))).toBe('LVS_UNSAFE_VALUE');
  });

  it('every word it accepts is plain: no character a shell would split, quote or expand (property)', () => {
    // GIVEN any stack and module names WHEN the arguments are built THEN they are refused, or every word is plain
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (stack, module) => {
        let args: string[];
        try {
          args = readScriptArgs(TAG, 0, [
            { kind: 'table', stack },
            { kind: 'caps', help: false, modules: [module] },
          ]);
        } catch (e) {
          return isLvsError(e) && e.code === 'LVS_UNSAFE_VALUE';
        }
        return args.every((a) => /^[A-Za-z0-9_.=-]+$/.test(a) && !a.startsWith('-'));
      }),
      { seed: 2026, numRuns: 500 },
    );
  });

  it('asks for a status read with one word', () => {
    // GIVEN a status read WHEN its arguments are built THEN it is one word naming the stack
    expect(readScriptArgs(TAG, 0, [{ kind: 'status', stack: 'web' }])).toEqual([TAG, '0', 'status=web']);
    expect(code(() => readScriptArgs(TAG, 0, [{ kind: 'status', stack: 'web/../x' }]))).toBe('LVS_UNSAFE_VALUE');
  });
});

describe('the read-only ssh command', () => {
  it('logs in as planUser and runs the fixed script through sudo, with no shell', () => {
    // GIVEN a director with a root-capable login and a plan user, opened read-only
    const target = { name: 'lb1', transport: 'ssh' as const, readOnly: true, ssh: { host: '203.0.113.2', user: 'deploy', sudo: true, planUser: 'planner' } };
    // WHEN its ssh argv is built with the script's words
    const argv = sshArgs(target, {}, ['sudo', '-n', READ_SCRIPT, TAG, '0', 'table=web']);
    // THEN it names planner, and the remote command is the script (never `sh -s`)
    expect(argv[argv.indexOf('-l') + 1]).toBe('planner');
    expect(argv.slice(argv.indexOf('--'))).toEqual(['--', '203.0.113.2', 'sudo', '-n', READ_SCRIPT, TAG, '0', 'table=web']);
    expect(argv.join(' ')).not.toContain('sh -s');
  });
});

describe('the set-up with a plan user', () => {
  const facts = (files: Record<string, string | null>): HostFacts => ({
    osRelease: { ID: 'debian' },
    commands: ['apt-get', 'ipvsadm'],
    loadedModules: [],
    files,
    sysctls: {},
    rhelServiceEnabled: null,
  });
  const spec = { installIpvsadm: false, loadModules: false, ipForward: false, saveRules: false };

  it('installs the script 0755 and a sudoers rule 0440 checked by visudo', () => {
    // GIVEN a director without them
    // WHEN the set-up is planned for plan user planner
    const items = planHostSetup({
      stack: 'web',
      director: 'lb1',
      spec,
      facts: facts({}),
      desired: { services: [] },
      after: { services: [] },
      readAccess: { user: 'planner', script: readScriptText() },
    });
    // THEN both files are created with their modes, the rule naming planner and only the script
    expect(items.map((i) => [i.name, i.action, i.mode, i.validate])).toEqual([
      [READ_SCRIPT, 'create', '755', undefined],
      [READ_SUDOERS, 'create', '440', 'visudo'],
    ]);
    expect(items[1]!.after).toContain(`planner ALL=(root) NOPASSWD: ${READ_SCRIPT}\n`);
  });

  it('changes nothing when both are as lvsform writes them', () => {
    // GIVEN a director holding the script and the rule as lvsform writes them
    // WHEN the set-up is planned THEN it has nothing to do
    const items = planHostSetup({
      stack: 'web',
      director: 'lb1',
      spec,
      facts: facts({ [READ_SCRIPT]: readScriptText(), [READ_SUDOERS]: readSudoersFile('planner') }),
      desired: { services: [] },
      after: { services: [] },
      readAccess: { user: 'planner', script: readScriptText() },
    });
    expect(items).toEqual([]);
  });
});
