import { describe, expect, it } from 'vitest';
import { Scheduler, ValidationError } from '../../../lib/index.ts';

describe('Scheduler', () => {
  it.each([
    ['ROUND_ROBIN', 'rr'],
    ['WEIGHTED_ROUND_ROBIN', 'wrr'],
    ['LEAST_CONNECTION', 'lc'],
    ['WEIGHTED_LEAST_CONNECTION', 'wlc'],
    ['LOCALITY_BASED_LEAST_CONNECTION', 'lblc'],
    ['LOCALITY_BASED_LEAST_CONNECTION_WITH_REPLICATION', 'lblcr'],
    ['DESTINATION_HASHING', 'dh'],
    ['SOURCE_HASHING', 'sh'],
    ['SHORTEST_EXPECTED_DELAY', 'sed'],
    ['NEVER_QUEUE', 'nq'],
    ['WEIGHTED_FAILOVER', 'fo'],
    ['WEIGHTED_OVERFLOW', 'ovf'],
    ['MAGLEV_HASHING', 'mh'],
  ] as const)('Scheduler.%s is the kernel scheduler %s without flags', (member, name) => {
    // GIVEN a static member
    const scheduler = Scheduler[member];
    // THEN it names the kernel module and carries no flags
    expect(scheduler.name).toBe(name);
    expect(scheduler.flags).toEqual([]);
  });

  it.each([
    ['sourceHash fallback', () => Scheduler.sourceHash({ fallback: true }), 'sh', ['flag-1']],
    ['sourceHash port', () => Scheduler.sourceHash({ port: true }), 'sh', ['flag-2']],
    ['sourceHash both', () => Scheduler.sourceHash({ fallback: true, port: true }), 'sh', ['flag-1', 'flag-2']],
    ['maglevHash fallback', () => Scheduler.maglevHash({ fallback: true }), 'mh', ['flag-1']],
    ['maglevHash both', () => Scheduler.maglevHash({ port: true, fallback: true }), 'mh', ['flag-1', 'flag-2']],
    ['of with raw bits on any scheduler', () => Scheduler.of('wrr', { flags: ['flag-3', 'flag-1'] }), 'wrr', ['flag-1', 'flag-3']],
    ['of with duplicate flags', () => Scheduler.of('sh', { flags: ['sh-fallback', 'flag-1'] }), 'sh', ['flag-1']],
    ['of a newer kernel scheduler', () => Scheduler.of('twos'), 'twos', []],
  ])('%s yields the kernel flag bits, sorted', (_name, make, name, flags) => {
    // WHEN the scheduler is built
    const scheduler = make();
    // THEN name and flag bits are as the kernel stores them
    expect(scheduler.name).toBe(name);
    expect(scheduler.flags).toEqual(flags);
  });

  it.each([
    ['sh-fallback on rr', 'rr', ['sh-fallback'], /sh-fallback is read by the sh scheduler only; got it on rr/],
    ['sh-port on mh', 'mh', ['sh-port'], /sh-port is read by the sh scheduler only; got it on mh/],
    ['mh-port on sh', 'sh', ['mh-port'], /mh-port is read by the mh scheduler only; got it on sh/],
    ['mh-fallback on wlc', 'wlc', ['mh-fallback'], /mh-fallback is read by the mh scheduler only/],
    ['an unknown flag', 'rr', ['flag-4'], /scheduler flag "flag-4" is unknown/],
    ['a bad name', 'Round Robin', [], /a scheduler name is a kernel module suffix/],
    ['a too long name', 'a_very_long_scheduler', [], /a scheduler name/],
  ])('Scheduler.of refuses %s', (_case, name, flags, message) => {
    // WHEN a scheduler is named with a flag of another scheduler (or a bad name)
    const make = () => Scheduler.of(name, { flags: flags as never });
    // THEN it throws a ValidationError saying why
    expect(make).toThrow(ValidationError);
    expect(make).toThrow(message);
  });
});
