/** `runtimeManaged` on pools and services: what it synthesizes, what it refuses, and how the provider reads it back. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RealServerPool, ValidationError } from '../../../lib/index.ts';
import { readSynth } from '../../../providers/ipvs/read/read-synth.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { fixture, onlyResource, synthJson } from './helpers.ts';

function realServers(json: any): any[] {
  return onlyResource(json, 'lvsform_virtual_service').real_server;
}

describe('runtimeManaged', () => {
  it('writes runtime_managed, sorted, on the members of a pool that sets it, and on no other', () => {
    // GIVEN a service with a run-time managed pool and an ordinary one
    const { app, stack, lb1, outdir } = fixture();
    const checked = new RealServerPool(stack, 'checked', { members: [{ address: '192.0.2.11' }], runtimeManaged: ['weight', 'thresholds'] });
    const plain = new RealServerPool(stack, 'plain', { members: [{ address: '192.0.2.12' }] });
    lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [checked, plain] });
    // WHEN synthesized
    const rs = realServers(synthJson(app, outdir));
    // THEN the checked pool's member carries the sorted field list and the other carries no key at all
    expect(rs[0]).toMatchObject({ address: '192.0.2.11', runtime_managed: ['thresholds', 'weight'] });
    expect('runtime_managed' in rs[1]).toBe(false);
  });

  it('adds a service-wide runtimeManaged to every real server of the service, merged with the pool', () => {
    // GIVEN a service leaving thresholds to a checker, with a pool leaving weights
    const { app, stack, lb1, outdir } = fixture();
    const pool = new RealServerPool(stack, 'p', { members: [{ address: '192.0.2.11' }], runtimeManaged: ['weight', 'weight'] });
    lb1
      .addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool], runtimeManaged: ['thresholds'] })
      .addRealServer({ address: '192.0.2.12' });
    // WHEN synthesized
    const rs = realServers(synthJson(app, outdir));
    // THEN both fields on the pool's member, thresholds on the service's own member
    expect(rs.map((r) => r.runtime_managed)).toEqual([['thresholds', 'weight'], ['thresholds']]);
  });

  it('refuses a field it does not know, with a "did you mean"', () => {
    // GIVEN a misspelt field WHEN the pool is made THEN it throws naming the pool path and the nearest field
    const { stack } = fixture();
    expect(() => new RealServerPool(stack, 'p', { runtimeManaged: ['weigth' as 'weight'] })).toThrow(ValidationError);
    expect(() => new RealServerPool(stack, 'q', { runtimeManaged: ['weigth' as 'weight'] })).toThrow(
      "web/q: runtimeManaged takes 'thresholds' and 'weight'; got \"weigth\" (did you mean 'weight'?)",
    );
  });

  it('refuses a runtimeManaged that is not an array', () => {
    // GIVEN a single string WHEN the service is made THEN it throws naming the service path
    const { lb1 } = fixture();
    expect(() => lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, runtimeManaged: 'weight' as never })).toThrow(
      /web\/lb1\/http: runtimeManaged must be an array/,
    );
  });

  it('is read back per real server by the provider, and absent for a director without any', () => {
    // GIVEN a synthesized app with one run-time managed pool
    const { app, stack, lb1, outdir } = fixture();
    const pool = new RealServerPool(stack, 'p', { members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }], runtimeManaged: ['weight'] });
    lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });
    const json = synthJson(app, outdir);
    // WHEN read by the provider
    const doc = readSynth(json, path.join(outdir, 'stacks', 'web', 'cdk.tf.json'));
    // THEN each real server of the service carries its fields
    expect(doc.directors[0]!.runtime).toEqual({ 'tcp 198.51.100.10:80': { '192.0.2.11:80': ['weight'], '192.0.2.12:80': ['weight'] } });
  });

  it('is refused by the strict reader when a field is unknown', () => {
    // GIVEN a hand-edited runtime_managed
    const { app, stack, lb1, outdir } = fixture();
    lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [new RealServerPool(stack, 'p', { members: [{ address: '192.0.2.11' }] })] });
    const json = synthJson(app, outdir);
    const svc = Object.values(json.resource.lvsform_virtual_service)[0] as any;
    svc.real_server[0].runtime_managed = ['weights'];
    // WHEN read THEN LVS_SYNTH_INVALID with the JSON path
    let err: unknown;
    try {
      readSynth(json, 'cdk.tf.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LvsError);
    expect((err as LvsError).code).toBe('LVS_SYNTH_INVALID');
    expect((err as LvsError).message).toMatch(/real_server\[0\]\.runtime_managed\[0\]/);
  });
});
