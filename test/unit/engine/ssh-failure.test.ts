/**
 * SSH failures say what failed: each is made with the real `ssh` of this machine (a closed loopback port, a config file
 * that does not exist, a PATH without ssh) and must come back with its own code and hint; OpenSSH's messages for the
 * cases that need a live sshd (a refused key, a changed host key) are classified from its own words, and the refused
 * key is also proven on the lab (test/lab/ownership.test.ts). Every value reaching ssh's -o is one word to ssh: proven
 * with `ssh -G`, which prints what ssh made of its arguments.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionEndError } from '../../../providers/ipvs/host/ssh-failure.ts';
import { HostSession, sshArgs } from '../../../providers/ipvs/host/transport.ts';
import type { HostTarget } from '../../../providers/ipvs/model/host-target.ts';
import { isLvsError, type LvsError } from '../../../providers/ipvs/model/errors.ts';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The error of one chunk sent to a target. */
async function failureOf(target: HostTarget): Promise<LvsError> {
  const session = HostSession.open(target);
  try {
    await session.run('echo hello');
  } catch (e) {
    if (isLvsError(e)) return e;
    throw e;
  } finally {
    await session.close();
  }
  throw new Error('the chunk ran');
}

const scratch = () => mkdtempSync(join(tmpdir(), 'lvsform-ssh-'));

describe('SSH failures through the real ssh', () => {
  it('a closed port is LVS_HOST_UNREACHABLE: the connection was refused, check the port and sshd', async () => {
    // GIVEN a loopback port where nothing listens
    const port = await closedPort();
    // WHEN a chunk is sent there
    const e = await failureOf({ name: 'far', transport: 'ssh', ssh: { host: '127.0.0.1', port, knownHostsFile: join(scratch(), 'kh') } });
    // THEN it is unreachable, says the connection was refused, and the hint names the port
    expect(e.code).toBe('LVS_HOST_UNREACHABLE');
    expect(e.message).toMatch(
      new RegExp(`director far \\(127\\.0\\.0\\.1:${port}\\): cannot reach the host over SSH: the connection was refused: .*Connection refused`),
    );
    expect(e.hint).toContain(`SSH port ${port}`);
  });

  it('a config file that does not exist is LVS_SSH_CONFIG naming the file, not "check that the host is up"', async () => {
    // GIVEN a director whose configFile is missing
    const file = join(scratch(), 'missing_config');
    // WHEN a chunk is sent to it
    const e = await failureOf({ name: 'lb1', transport: 'ssh', ssh: { configFile: file, alias: 'lb1' } });
    // THEN the code says it is ssh's configuration, the message carries ssh's words, and the hint names the file
    expect(e.code).toBe('LVS_SSH_CONFIG');
    // (ssh prints at most 100 characters of the path: its message is formatted with %.100s)
    expect(e.message).toContain(`Can't open user config file ${file.slice(0, 100)}`);
    expect(e.hint).toContain(file);
    expect(e.hint).not.toMatch(/host is up/);
  });

  it('ssh missing from PATH is LVS_SSH_MISSING with how to install it', async () => {
    // GIVEN a PATH without ssh
    const saved = process.env['PATH'];
    process.env['PATH'] = scratch();
    let e: LvsError;
    try {
      // WHEN a chunk is sent to an ssh director
      e = await failureOf({ name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2' } });
    } finally {
      process.env['PATH'] = saved;
    }
    // THEN it says there is no ssh here, and how to get it
    expect(e.code).toBe('LVS_SSH_MISSING');
    expect(e.message).toBe('director lb1 (203.0.113.2): there is no `ssh` command on this machine (not found on PATH)');
    expect(e.hint).toContain('openssh-client');
  });

  it('a name that does not resolve is LVS_HOST_UNREACHABLE saying so', async () => {
    // GIVEN a host name under the reserved .invalid domain (RFC 2606: never resolves)
    const e = await failureOf({ name: 'lb1', transport: 'ssh', ssh: { host: 'lb1.invalid', knownHostsFile: join(scratch(), 'kh') } });
    // THEN the message says the name does not resolve
    expect(e.code).toBe('LVS_HOST_UNREACHABLE');
    expect(e.message).toContain('the name lb1.invalid does not resolve');
  });
});

/**
 * A real sshd on a loopback port that accepts no key at all (AuthorizedKeysFile none). It runs as nobody: sshd started
 * as root wants its privilege-separation directory, which this machine need not have.
 */
describe('a real sshd that refuses the key', () => {
  // Under /tmp itself: the run's scratch directory is private to root, and sshd runs as nobody.
  const dir = mkdtempSync('/tmp/lvsform-sshd-');
  let sshd: ChildProcess | undefined;
  let port = 0;

  beforeAll(async () => {
    chmodSync(dir, 0o755);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other_host_key')]);
    chownSync(join(dir, 'host_key'), Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), 0);
    port = await closedPort();
    const config = [`HostKey ${join(dir, 'host_key')}`, 'ListenAddress 127.0.0.1', `Port ${port}`, 'PidFile none', 'AuthorizedKeysFile none', 'UsePAM no'];
    writeFileSync(join(dir, 'sshd_config'), `${config.join('\n')}\n`);
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_key.pub'), 'utf8')}`);
    writeFileSync(join(dir, 'wrong_known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'other_host_key.pub'), 'utf8')}`);
    const started = spawn('runuser', ['-u', 'nobody', '--', '/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    sshd = started;
    await new Promise<void>((resolve, reject) => {
      let said = '';
      started.stderr!.on('data', (d: Buffer) => {
        said += d.toString();
        if (said.includes('Server listening')) resolve();
      });
      started.on('exit', (code) => reject(new Error(`sshd exited ${code}: ${said}`)));
    });
  });

  afterAll(() => {
    sshd?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  const target = (knownHosts: string): HostTarget => ({
    name: 'lb1',
    transport: 'ssh',
    ssh: { host: '127.0.0.1', port, user: 'root', identityFile: join(dir, 'client_key'), knownHostsFile: join(dir, knownHosts) },
  });

  it('a key the host does not accept is LVS_SSH_AUTH naming the user and the identity to authorize', async () => {
    // GIVEN a pinned host key and a client key sshd does not accept WHEN a chunk is sent
    const e = await failureOf(target('known_hosts'));
    // THEN the login was refused, and the hint says whose authorized_keys needs which key
    expect(e.code).toBe('LVS_SSH_AUTH');
    expect(e.message).toMatch(
      new RegExp(`director lb1 \\(root@127\\.0\\.0\\.1:${port}\\): the host refused the SSH login of root \\(nothing ran\\): .*Permission denied \\(publickey`),
    );
    expect(e.hint).toContain(`identityFile ${join(dir, 'client_key')}`);
    expect(e.hint).toContain('authorized_keys of root');
  });

  it('a host key other than the pinned one is LVS_HOST_KEY', async () => {
    // GIVEN a known-hosts file pinning another key for the host WHEN a chunk is sent
    const e = await failureOf(target('wrong_known_hosts'));
    // THEN it is the host key, not the login or the network
    expect(e.code).toBe('LVS_HOST_KEY');
    expect(e.message).toContain('the host key is not trusted');
  });
});

describe("OpenSSH's own messages", () => {
  const target: HostTarget = { name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', user: 'deploy', identityFile: '/keys/lb' } };
  const end = (stderr: string, extra: Partial<Parameters<typeof sessionEndError>[0]> = {}) =>
    sessionEndError({ target, exitCode: 255, connected: false, stderr, ...extra });

  it.each([
    ['deploy@203.0.113.2: Permission denied (publickey).', 'LVS_SSH_AUTH', /refused the SSH login of deploy/],
    ['Host key verification failed.', 'LVS_HOST_KEY', /host key is not trusted/],
    ['@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.', 'LVS_HOST_KEY', /host key is not trusted/],
    ['/etc/x line 3: Bad configuration option: hostnmae\n/etc/x: terminating, 1 bad configuration options', 'LVS_SSH_CONFIG', /cannot use its configuration/],
    ['ssh: connect to host 203.0.113.2 port 22: Connection timed out', 'LVS_HOST_UNREACHABLE', /no answer/],
    ['ssh: connect to host 203.0.113.2 port 22: No route to host', 'LVS_HOST_UNREACHABLE', /no answer/],
    ['Connection timed out during banner exchange', 'LVS_HOST_UNREACHABLE', /no answer/],
  ])('%j is %s', (stderr, code, message) => {
    // GIVEN ssh's exit 255 before the shell answered, with these words WHEN classified THEN the code and message fit
    const e = end(stderr);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('a refused key says which identity to authorize, and that an unreadable identity file was the cause', () => {
    // GIVEN ssh could not read the identity file, then was refused
    const e = end('Warning: Identity file /keys/lb not accessible: No such file or directory.\ndeploy@203.0.113.2: Permission denied (publickey).');
    // THEN the hint names the identity file and says it could not be read
    expect(e.code).toBe('LVS_SSH_AUTH');
    expect(e.hint).toContain('identityFile /keys/lb');
    expect(e.hint).toContain('could not be read');
  });

  it('an end after the shell answered is a lost connection, whatever ssh said', () => {
    // GIVEN ssh's exit 255 after the host's shell had answered
    const e = end('Connection to 203.0.113.2 closed by remote host.', { connected: true });
    // THEN it is LVS_CONNECTION_LOST, not unreachable
    expect(e.code).toBe('LVS_CONNECTION_LOST');
    expect(e.message).toContain('in the middle of a step');
  });
});

describe('every value reaches ssh as one word', () => {
  /** What `ssh -G` makes of the argv lvsform builds (the config it would use), as keyword → value. */
  function resolved(target: HostTarget): Map<string, string> {
    const args = sshArgs(target).slice(0, -1); // without the remote command
    const out = execFileSync('ssh', ['-G', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return new Map(out.split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as [string, string]));
  }

  it.each(['/tmp/known hosts', '/tmp/two  spaces\tand a tab', '/tmp/"quoted"', "/tmp/it's", '/tmp/back\\slash', '/tmp/100%', '/tmp/#hash'])(
    'knownHostsFile %j is one file to ssh, byte for byte',
    (file) => {
      // GIVEN a director whose known-hosts file has characters ssh's config parser treats specially
      const config = join(scratch(), 'config');
      writeFileSync(config, '');
      // WHEN ssh resolves lvsform's arguments
      const got = resolved({ name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', knownHostsFile: file, configFile: config } });
      // THEN it reads exactly that one file (ssh prints the path as it will open it)
      expect(got.get('userknownhostsfile')).toBe(file);
    },
  );

  it('a knownHostsFile with "${" is refused: ssh would expand it as a variable', () => {
    // GIVEN a path with ${HOME} WHEN the argv is built THEN it is refused as unsafe, naming the director
    expect(() => sshArgs({ name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', knownHostsFile: '/tmp/${HOME}/kh' } })).toThrow(
      expect.objectContaining({ code: 'LVS_UNSAFE_VALUE', message: expect.stringContaining('director lb1') }),
    );
  });

  it.each(['root@evil', 'a%h', 'h;x', 'a b', '-oProxyCommand=x'])('the host %j is refused', (host) => {
    expect(() => sshArgs({ name: 'lb1', transport: 'ssh', ssh: { host } })).toThrow(expect.objectContaining({ code: 'LVS_UNSAFE_VALUE' }));
  });

  it.each(['ro ot', 'a%u', '-l', 'x@y'])('the user %j is refused', (user) => {
    expect(() => sshArgs({ name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', user } })).toThrow(expect.objectContaining({ code: 'LVS_UNSAFE_VALUE' }));
  });

  it('an identity file with % reaches ssh with the % doubled (ssh expands %-tokens in it)', () => {
    const args = sshArgs({ name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', identityFile: '/keys/100%' } });
    expect(args[args.indexOf('-i') + 1]).toBe('/keys/100%%');
  });

  it('a config file named none is read as a file, not as "no config"', () => {
    const args = sshArgs({ name: 'lb1', transport: 'ssh', ssh: { configFile: 'none', alias: 'lb1' } });
    expect(args.slice(0, 2)).toEqual(['-F', './none']);
  });
});
