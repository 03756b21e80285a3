import { describe, expect, it } from 'vitest';
import { HostSession, sshArgs } from '../../../providers/ipvs/host/transport.ts';

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

describe('HostSession, over a real local sh', () => {
  it("returns each chunk's output whole, whatever pieces it came in and wherever its end marker was cut", async () => {
    // GIVEN one shell session and outputs whose end marker falls on either side of a 64 KiB pipe read, and a large one
    const session = HostSession.open({ name: 'local', transport: 'local' });
    try {
      const sizes = [0, 1, 65_536 - 60, 65_536 - 30, 65_536 - 1, 65_536, 65_536 + 7, 3 * 65_536 - 45, 2_000_000];
      for (const [i, size] of sizes.entries()) {
        const pieces: string[] = [];
        // WHEN a chunk prints `size` bytes (lines of 99 x's) and exits with its own status
        const r = await session.run(`head -c ${size} /dev/zero | tr '\\0' x | fold -w 99; (exit ${i % 3})`, undefined, (p) => pieces.push(p));
        // THEN its output is exactly what it printed, its status is its own, and the pieces given as they came add up
        // to that output and the end line
        const expected = 'x'.repeat(size).replace(/(.{99})(?=.)/g, '$1\n');
        expect(r.stdout.length).toBe(expected.length);
        expect(r.stdout === expected).toBe(true);
        expect(r.status).toBe(i % 3);
        expect(pieces.join('').startsWith(r.stdout)).toBe(true);
        expect(pieces.join('').slice(r.stdout.length)).toMatch(/^\n?\n@@lvsform-end [0-9a-f]+ [0-9]+\n$/);
      }
    } finally {
      await session.close();
    }
  });

  it.each([
    ['inside the marker', 'abc\\n@@lvsform-e', 'nd NONCE 7\\n'],
    ['before its status', 'abc\\n@@lvsform-end NONCE ', '7\\n'],
    ['before its line break', 'abc\\n@@lvsform-end NONCE 7', '\\n'],
  ])('finds an end marker cut %s between two pieces', async (_where, first, second) => {
    // GIVEN a session whose chunk prints an end marker of its own in two writes a moment apart (two pieces)
    const session = HostSession.open({ name: 'local', transport: 'local' });
    try {
      const nonce = (session as unknown as { nonce: string }).nonce;
      const [a, b] = [first.replace('NONCE', nonce), second.replace('NONCE', nonce)];
      // WHEN it runs THEN the chunk ends there, with the output before the marker and the marker's status
      expect(await session.run(`printf '${a}'; sleep 0.3; printf '${b}'`)).toEqual({ stdout: 'abc', status: 7 });
    } finally {
      await session.close();
    }
  });
});
