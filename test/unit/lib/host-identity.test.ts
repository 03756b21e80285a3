/**
 * One machine, one key: the spellings of one host and the paths of one config file are one machine to the construct
 * library (at synth) and to the provider (before any host is opened), and two stacks of one app may not declare the
 * same service on one machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { App, Director, LvsStack, RealServerPool, isValidationError } from '../../../lib/index.ts';
import * as libIdentity from '../../../lib/private/host-identity.ts';
import * as providerIdentity from '../../../providers/ipvs/host/host-identity.ts';
import { planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import { tempOutdir } from './helpers.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-identity-'));
fs.writeFileSync(path.join(dir, 'ssh_config'), 'Host lb1\n  HostName 203.0.113.2\n');
fs.symlinkSync(path.join(dir, 'ssh_config'), path.join(dir, 'link_config'));

const REACHES: libIdentity.Reach[] = [
  { local: true },
  ...['127.0.0.1', '127.1', '2130706433', 'localhost', 'Localhost.', '::1', '::ffff:127.0.0.1', '203.0.113.2', '203.0.113.002', 'LB1.Example.NET.'].flatMap(
    (host) => [{ host }, { host, port: 22 }, { host, port: 2222 }],
  ),
  { host: '2001:db8:0:0::1' },
  { host: '2001:DB8::1', port: 22 },
  { alias: 'lb1', configFile: path.join(dir, 'ssh_config') },
  { alias: 'LB1', configFile: path.join(dir, '..', path.basename(dir), 'ssh_config') },
  { alias: 'lb1', configFile: path.join(dir, 'link_config') },
  { alias: 'lb1', configFile: path.join(dir, 'missing', '..', 'nothing') },
];

describe('the key of a machine', () => {
  it('is the same in the construct library and the provider for every reach', () => {
    // GIVEN many spellings WHEN both copies compute the key THEN they agree on each
    for (const r of REACHES) expect(providerIdentity.reachKey(r), JSON.stringify(r)).toBe(libIdentity.reachKey(r));
  });

  it.each([
    [{ host: '127.1' }, { host: '127.0.0.1', port: 22 }],
    [{ host: '2130706433' }, { local: true }],
    [{ host: 'localhost' }, { host: '::ffff:127.0.0.1' }],
    [{ host: 'LB1.Example.NET.' }, { host: 'lb1.example.net', port: 22 }],
    [{ host: '2001:DB8::1' }, { host: '2001:db8:0:0::1', port: 22 }],
    [
      { alias: 'lb1', configFile: path.join(dir, 'ssh_config') },
      { alias: 'LB1', configFile: path.join(dir, '..', path.basename(dir), 'ssh_config') },
    ],
    [
      { alias: 'lb1', configFile: path.join(dir, 'ssh_config') },
      { alias: 'lb1', configFile: path.join(dir, 'link_config') },
    ],
  ])('%j and %j are one machine', (a, b) => {
    expect(libIdentity.reachKey(a)).toBe(libIdentity.reachKey(b));
  });

  it.each([
    [
      { host: '127.0.0.1', port: 2222 },
      { host: '127.0.0.1', port: 2223 },
    ],
    [{ host: '203.0.113.2' }, { host: '203.0.113.3' }],
    [{ local: true }, { host: '127.0.0.1', port: 2222 }],
  ])('%j and %j are two machines', (a, b) => {
    expect(libIdentity.reachKey(a)).not.toBe(libIdentity.reachKey(b));
  });
});

describe('one service, one stack, at synth', () => {
  it('refuses two stacks of one app declaring one service on one machine, naming both construct paths', () => {
    // GIVEN stacks a and b, each with a director on this machine spelt differently, declaring tcp 198.51.100.10:80
    const app = new App({ outdir: tempOutdir() });
    for (const [name, host] of [
      ['a', '127.0.0.1'],
      ['b', 'localhost'],
    ] as const) {
      const stack = new LvsStack(app, name);
      const lb = new Director(stack, 'lb1', { ssh: { host } });
      const pool = new RealServerPool(stack, 'pool', { members: [{ address: '192.0.2.11' }] });
      lb.addVirtualService('web', { address: '198.51.100.10', port: 80, pools: [pool] });
    }
    // WHEN synthesized
    let error: unknown;
    try {
      app.synth();
    } catch (e) {
      error = e;
    }
    // THEN it fails with LVS_VALIDATION naming both services' paths and the machine
    expect(isValidationError(error)).toBe(true);
    expect((error as Error).message).toContain(
      'b/lb1/web: service tcp 198.51.100.10:80 is declared by two stacks on one machine (loopback:22): a/lb1/web and b/lb1/web',
    );
  });

  it('accepts two stacks with different services on one machine', () => {
    // GIVEN stacks a and b on one director host, each with its own service
    const app = new App({ outdir: tempOutdir() });
    for (const [name, port] of [
      ['a', 80],
      ['b', 443],
    ] as const) {
      const stack = new LvsStack(app, name);
      const pool = new RealServerPool(stack, 'pool', { members: [{ address: '192.0.2.11' }] });
      new Director(stack, 'lb1', { ssh: { host: '203.0.113.2' } }).addVirtualService('web', { address: '198.51.100.10', port, pools: [pool] });
    }
    // WHEN synthesized THEN nothing is refused
    expect(() => app.synth()).not.toThrow();
  });
});

describe('one director per machine, before any host is opened', () => {
  it('refuses a run whose two directors reach one machine, naming both', async () => {
    // GIVEN two directors of a hand-edited stack, 127.1 and localhost
    const director = (name: string, host: string) => ({
      name,
      target: { name, transport: 'ssh' as const, ssh: { host } },
      table: { services: [] },
      paths: new Map<string, string>(),
    });
    let opened = 0;
    // WHEN planned
    const run = planStack([director('lb1', '127.1'), director('lb2', 'localhost')], {
      stack: 'web',
      openHost: () => {
        opened++;
        throw new Error('no host may be opened');
      },
    });
    // THEN it is refused naming both directors and the machine, and no host was opened
    await expect(run).rejects.toMatchObject({
      code: 'LVS_SYNTH_INVALID',
      message:
        'directors lb1 (127.1) and lb2 (localhost) reach the same machine (loopback:22); one host has one IPVS table and one record per stack, nothing was read',
    });
    expect(opened).toBe(0);
  });
});
