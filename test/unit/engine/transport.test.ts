import { describe, expect, it } from 'vitest';
import { sshArgs } from '../../../providers/ipvs/host/transport.ts';

describe('sshArgs', () => {
  it('pins host keys and runs in batch mode by default, with the host after --', () => {
    // GIVEN an ssh director WHEN its argv is built
    const args = sshArgs({ name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', user: 'root', port: 2222 } });
    // THEN host keys are pinned, no prompt can block, and the host cannot be read as an option
    expect(args).toContain('StrictHostKeyChecking=yes');
    expect(args).toContain('BatchMode=yes');
    expect(args.slice(-3)).toEqual(['--', '203.0.113.2', 'sh -s']);
  });

  it('accepts new host keys only when asked', () => {
    const args = sshArgs({ name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2' } }, { acceptNewHostKey: true });
    expect(args).toContain('StrictHostKeyChecking=accept-new');
  });

  it.each(['-oProxyCommand=touch /tmp/x', 'host;rm -rf /', 'a b', '$(id)', 'h\nx'])('refuses the host %j', (host) => {
    expect(() => sshArgs({ name: 'lb1', transport: 'ssh', ssh: { host } })).toThrow(expect.objectContaining({ code: 'LVS_UNSAFE_VALUE' }));
  });

  it('uses the alias of an OpenSSH config file', () => {
    const args = sshArgs({ name: 'lb1', transport: 'ssh', ssh: { configFile: '/tmp/lab/ssh_config', alias: 'lab-director-1' } });
    expect(args.slice(0, 2)).toEqual(['-F', '/tmp/lab/ssh_config']);
    expect(args.at(-2)).toBe('lab-director-1');
  });
});
