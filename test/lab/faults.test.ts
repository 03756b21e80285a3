/**
 * Faults on the real kernel, each ending in a precise report and a re-run that converges: a connection dropped in the
 * middle of a batch, a line the kernel rejects, two applies at once and a killed run's lock, a director that cannot be
 * reached, and an ownership record deleted or corrupt. (A table changed between `plan --out` and `apply FILE` is in
 * engine.test.ts: "refuses a saved plan whose director changed since, and changes nothing".)
 *
 * Lab: directors 1 and 2 of the run, and director 3 booted without the `ovf` scheduler module
 * (the global setup boots it so). A module that is plainly missing fails the plan before any change (see
 * capabilities.test.ts); for a line the kernel itself rejects, the test puts a file that is no module where ip_vs_ovf
 * was: it looks loadable (modules.dep lists it, the file is not empty), and the kernel fails to load it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Scheduler } from '../../lib/index.ts';
import { serviceId, tableEquals } from '../../providers/ipvs/model/model.ts';
import { recordOf } from '../unit/engine/records.ts';
import { openShDirectorHost } from '../../providers/ipvs/host/sh-director-host.ts';
import { lockRequest } from '../../providers/ipvs/host/requests/lock.ts';
import type { BatchRecord, BatchReply } from '../../providers/ipvs/host/requests/batch.ts';
import { lab, resetDirector, sh } from './helpers.ts';
import { alias, apply, hostSnapshot, liveTable, plan } from './stack-harness.ts';
import { buildStack, childrenMatching, lvsform, manyServices, waitFor } from './faults-harness.ts';

beforeEach(async () => {
  await Promise.all([1, 2, 3].map((n) => resetDirector(alias(n))));
});

const ids = (t: { services: readonly { key: Parameters<typeof serviceId>[0] }[] }) => t.services.map((s) => serviceId(s.key)).sort();

async function recordOn(n: number, stack: string): Promise<{ services: Record<string, { path: string }> } | undefined> {
  const r = await sh(alias(n), `cat /var/lib/lvsform/${stack}.json 2>/dev/null || echo NONE`);
  return r.stdout.trim() === 'NONE' ? undefined : JSON.parse(r.stdout);
}

/** The path of ip_vs_ovf's file, from modules.dep, on a director. */
const OVF_KO = `/lib/modules/$(uname -r)/$(grep -o '^[^:]*/ip_vs_ovf\\.ko[^:]*' /lib/modules/$(uname -r)/modules.dep)`;

describe('the kernel rejects one line of the batch', () => {
  beforeEach(async () => {
    await sh(alias(3), `printf 'not a kernel module\\n' > "${OVF_KO}"`);
  });
  afterEach(async () => {
    await sh(alias(3), `rm -f "${OVF_KO}"`);
  });

  it('reports exactly the failed service, exits 1, and records only what is really there', async () => {
    // GIVEN director 3, whose ip_vs_ovf file is no module (the kernel cannot load it, though it looks loadable),
    // and a stack with an ovf service between two good ones
    const { dir, stack } = await buildStack('ovf', [3], ({ lbs, pool }) => {
      lbs[0]!.addVirtualService('a', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [pool] });
      lbs[0]!.addVirtualService('overflow', { address: '198.51.100.10', port: 81, scheduler: Scheduler.WEIGHTED_OVERFLOW, pools: [pool] });
      lbs[0]!.addVirtualService('c', { address: '198.51.100.10', port: 82, scheduler: Scheduler.WEIGHTED_LEAST_CONNECTION, pools: [pool] });
    });
    // WHEN it is applied with the real command line
    const run = await lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
    // THEN it exits 1 and names the director, the verification failure, ipvsadm's words and the one service left to create
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    // (the line on standard output names the director and the code; the error itself is on standard error, once)
    expect(run.stdout).toMatch(/✗ lb1 \(lab-director-\d+ via .*\): failed \(LVS_VERIFY_FAILED; the error is printed to standard error\)/);
    expect(run.stderr).toMatch(/director lb1 \(lab-director-\d+ via .*\): after the batch, 3 difference\(s\) remain/);
    expect(run.stderr).toMatch(/ipvsadm said: Scheduler or persistence engine not found/);
    const still = run.stdout.split('\n').filter((l) => l.includes('still to'));
    expect(still).toEqual([
      '    still to create: service tcp 198.51.100.10:81',
      '    still to create: service tcp 198.51.100.10:81 real 192.0.2.11:81',
      '    still to create: service tcp 198.51.100.10:81 real 192.0.2.12:81',
    ]);
    // AND the kernel holds the two good services, the ownership record lists exactly those
    const live = await liveTable(3);
    expect(ids(live)).toEqual(['tcp 198.51.100.10:80', 'tcp 198.51.100.10:82']);
    expect(Object.keys((await recordOn(3, 'ovf'))!.services).sort()).toEqual(['tcp 198.51.100.10:80', 'tcp 198.51.100.10:82']);
    // AND --json carries the same outcome with the stable code
    const json = await lvsform(dir, ['apply', '--no-synth', '--auto-approve', '--json']);
    expect(json.exitCode).toBe(1);
    const out = JSON.parse(json.stdout) as { outcomes: { status: string; error?: { code: string }; residual: { serviceId: string }[] }[] };
    expect(out.outcomes.map((o) => [o.status, o.error?.code, o.residual.map((r) => r.serviceId)])).toEqual([
      ['failed', 'LVS_VERIFY_FAILED', ['tcp 198.51.100.10:81', 'tcp 198.51.100.10:81', 'tcp 198.51.100.10:81']],
    ]);
    // AND once the app stops asking for what the kernel cannot do, a re-run converges and plans nothing after
    const fixed = await buildStack('ovf', [3], ({ lbs, pool }) => {
      lbs[0]!.addVirtualService('a', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [pool] });
      lbs[0]!.addVirtualService('overflow', { address: '198.51.100.10', port: 81, scheduler: Scheduler.WEIGHTED_FAILOVER, pools: [pool] });
      lbs[0]!.addVirtualService('c', { address: '198.51.100.10', port: 82, scheduler: Scheduler.WEIGHTED_LEAST_CONNECTION, pools: [pool] });
    });
    const again = await lvsform(fixed.dir, ['apply', '--no-synth', '--auto-approve']);
    expect(again.exitCode, again.stdout).toBe(0);
    expect(tableEquals(await liveTable(3), fixed.stack.directors[0]!.table)).toBe(true);
    const second = await plan(fixed.stack);
    expect(second.directors.map((d) => [d.error, d.changes.length])).toEqual([[undefined, 0]]);
    void stack;
  });
});

describe('one of three directors unreachable', () => {
  it('applies the two that answer, names the one that does not and why, and exits 1', async () => {
    // GIVEN a third director whose alias points at a closed port (the lab guest answers nothing on port 1)
    const cfgDir = fs.mkdtempSync(path.join(lab().dir, 'unreachable-'));
    const cfg = path.join(cfgDir, 'ssh_config');
    const guest = lab().directors[2]!.guestAddress;
    fs.writeFileSync(cfg, `Host lab-closed-port\n  HostName ${guest}\n  Port 1\n  User root\n  BatchMode yes\n  ConnectTimeout 5\n`);
    const { dir, stack } = await buildStack('three', [1, 2, { configFile: cfg, alias: 'lab-closed-port' }], ({ lbs, pool }) => {
      for (const lb of lbs) lb.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });
    });
    // WHEN it is applied
    const run = await lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
    // THEN lb1 and lb2 are applied and verified, lb3 is named with the reason, and the exit status is 1
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/✓ lb1 .*applied and verified/);
    expect(run.stdout).toMatch(/✓ lb2 .*applied and verified/);
    expect(run.stdout).toMatch(/✗ lb3 \(lab-closed-port via .*\): failed \(LVS_HOST_UNREACHABLE; the error is printed to standard error\)/);
    expect(run.stderr).toMatch(/director lb3 .*cannot reach the host over SSH: .*(Connection refused|port 1)/);
    expect(run.stdout).toMatch(/Apply failed on 1 of 3 director\(s\)/);
    for (const n of [1, 2]) expect(tableEquals(await liveTable(n), stack.directors[n - 1]!.table)).toBe(true);
    // AND the JSON outcome carries LVS_HOST_UNREACHABLE for lb3 only
    const json = await lvsform(dir, ['plan', '--no-synth', '--json']);
    expect(json.exitCode).toBe(1);
    const p = JSON.parse(json.stdout) as { directors: { name: string; error: { code: string } | null }[] };
    expect(p.directors.map((d) => [d.name, d.error?.code])).toEqual([
      ['lb1', undefined],
      ['lb2', undefined],
      ['lb3', 'LVS_HOST_UNREACHABLE'],
    ]);
  });
});

describe('the ownership record deleted or corrupt', () => {
  it('a deleted record: refuses to take over what is there, says --adopt, and converges with it', async () => {
    // GIVEN an applied stack whose record was then deleted
    const { dir, stack } = await buildStack('rec', [1], ({ lbs, pool }) => {
      lbs[0]!.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });
    });
    expect((await apply(stack)).outcomes[0]!.status).toBe('applied');
    await sh(alias(1), 'rm /var/lib/lvsform/rec.json');
    const before = await hostSnapshot(1);
    // WHEN it is applied again
    const run = await lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
    // THEN lvsform refuses to guess: the declared service exists but is not owned; it says how to recover; nothing changed
    expect(run.exitCode).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/1 declared service\(s\) already exist but are not owned by stack rec: tcp 198\.51\.100\.10:80/);
    expect(run.stdout + run.stderr).toMatch(/--adopt/);
    expect(await hostSnapshot(1)).toBe(before);
    // AND with --adopt it converges and the record is back
    const adopt = await lvsform(dir, ['apply', '--no-synth', '--auto-approve', '--adopt']);
    expect(adopt.exitCode, adopt.stdout).toBe(0);
    expect(Object.keys((await recordOn(1, 'rec'))!.services)).toEqual(['tcp 198.51.100.10:80']);
  });

  it('a corrupt record: refuses with LVS_RECORD_CORRUPT naming the file, changes nothing, and recovers as told', async () => {
    // GIVEN an applied stack whose record was then damaged
    const { dir, stack } = await buildStack('rec', [1], ({ lbs, pool }) => {
      lbs[0]!.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });
    });
    expect((await apply(stack)).outcomes[0]!.status).toBe('applied');
    await sh(alias(1), 'printf "{\\"format\\": 1, \\"stack\\": \\"rec\\", \\"serv" > /var/lib/lvsform/rec.json');
    const before = await hostSnapshot(1);
    // WHEN it is planned and applied
    const run = await lvsform(dir, ['apply', '--no-synth', '--auto-approve', '--json']);
    // THEN both refuse with the stable code, the file and the director, and say how to recover
    expect(run.exitCode).toBe(1);
    const out = JSON.parse(run.stdout) as { outcomes: { error?: { code: string; message: string; hint?: string } }[] };
    expect(out.outcomes[0]!.error?.code).toBe('LVS_RECORD_CORRUPT');
    expect(out.outcomes[0]!.error?.message).toMatch(/the ownership record \/var\/lib\/lvsform\/rec\.json on lb1 .* is not valid JSON/);
    expect(out.outcomes[0]!.error?.hint).toMatch(/Move the file aside and run `lvsform plan --adopt`/);
    // AND the director's table and records are byte-identical
    expect(await hostSnapshot(1)).toBe(before);
    // AND following the hint converges
    await sh(alias(1), 'mv /var/lib/lvsform/rec.json /root/rec.json.bad');
    const adopt = await lvsform(dir, ['apply', '--no-synth', '--auto-approve', '--adopt']);
    expect(adopt.exitCode, adopt.stdout).toBe(0);
    expect(Object.keys((await recordOn(1, 'rec'))!.services)).toEqual(['tcp 198.51.100.10:80']);
    await sh(alias(1), 'rm -f /root/rec.json.bad');
  });
});

describe('the connection drops in the middle of an apply', () => {
  it('reports the lost connection, then plan shows what is there, owned, and apply converges', async () => {
    // GIVEN a stack of 300 services (a batch of seconds on the lab kernel)
    const { dir, stack } = await buildStack('drop', [1], ({ lbs, pool }) => manyServices(lbs[0]!, pool, 300));
    // WHEN the ssh process of the run is killed while the batch runs
    let killed = 0;
    const report = await apply(stack, {
      onProgress: (_d, m) => {
        if (!m.startsWith('applying')) return;
        setTimeout(() => {
          void childrenMatching(process.pid, ['ssh', alias(1), 'sh -s']).then((pids) => {
            for (const pid of pids) {
              process.kill(pid, 'SIGKILL');
              killed += 1;
            }
          });
        }, 300);
      },
    });
    // THEN the director's outcome is a lost connection that says what to do
    expect(killed).toBe(1);
    const o = report.outcomes[0]!;
    expect([o.status, o.error?.code]).toEqual(['failed', 'LVS_CONNECTION_LOST']);
    expect(o.error?.message).toMatch(/director lb1 \(.*\): the connection ended in the middle of a step/);
    expect(o.error?.hint).toMatch(/run `lvsform plan`/);
    // AND once the director's shell has finished, plan shows exactly what is there (a part, all or none of the batch)
    await waitFor('the remote shell to end', async () => (await sh(alias(1), 'flock -n /var/lib/lvsform/lock true', { allowFailure: true })).exitCode === 0);
    const there = ids(await liveTable(1));
    const p = await plan(stack);
    const d = p.directors[0]!;
    expect(d.error).toBeUndefined();
    // (One service create each; its real servers are destination creates of their own.) What the lost run created is
    // owned: the director wrote the record after the batch, in the script it had read, without the connection.
    expect(d.changes.filter((c) => c.kind === 'service' && c.action === 'create').length).toBe(300 - there.length);
    expect(d.conflicts).toEqual([]);
    // AND apply, without --adopt, converges, and a second plan is empty
    const run = await lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(tableEquals(await liveTable(1), stack.directors[0]!.table)).toBe(true);
    const after = await plan(stack);
    expect(after.directors.map((x) => [x.error, x.changes.length, x.conflicts.length])).toEqual([[undefined, 0, 0]]);
  });
});

describe('two applies at once against one director', () => {
  it('one fails with "locked by …", the other applies; with --lock-timeout the second waits and finds nothing to do', async () => {
    // GIVEN a stack whose apply takes seconds
    const { dir } = await buildStack('pair', [1], ({ lbs, pool }) => manyServices(lbs[0]!, pool, 200));
    // WHEN two applies start at the same moment
    const [a, b] = await Promise.all([lvsform(dir, ['apply', '--no-synth', '--auto-approve']), lvsform(dir, ['apply', '--no-synth', '--auto-approve'])]);
    // THEN exactly one applied; the other names the holder (operation, user@host, pid) and changed nothing
    const runs = [a, b].sort((x, y) => (x.exitCode ?? 0) - (y.exitCode ?? 0));
    expect(runs.map((r) => r.exitCode)).toEqual([0, 1]);
    expect(runs[1]!.stderr).toMatch(/director lb1 \(.*\) is locked by \d+ exclusive apply by \S+@\S+ pid \d+ at /);
    expect(runs[1]!.stderr).toMatch(/--lock-timeout/);
    expect(ids(await liveTable(1)).length).toBe(200);
    // AND with --lock-timeout both succeed, one after the other, and the table is the desired one exactly once
    await resetDirector(alias(1));
    const [c, d] = await Promise.all([
      lvsform(dir, ['apply', '--no-synth', '--auto-approve', '--lock-timeout', '120']),
      lvsform(dir, ['apply', '--no-synth', '--auto-approve', '--lock-timeout', '120']),
    ]);
    expect([c.exitCode, d.exitCode]).toEqual([0, 0]);
    expect([c.stdout, d.stdout].filter((s) => /applied and verified/.test(s)).length).toBe(1);
    expect([c.stdout, d.stdout].filter((s) => /no changes/.test(s)).length).toBe(1);
    expect(ids(await liveTable(1)).length).toBe(200);
  });

  it('without a confirmation, a director applies while another still waits for its lock; with one, it waits too', async () => {
    // GIVEN two directors, and another process holding lb2's lock for 6 s from now (as a run of another team would)
    const { stack } = await buildStack('pipelined', [1, 2], ({ lbs, pool }) => {
      manyServices(lbs[0]!, pool, 3);
      manyServices(lbs[1]!, pool, 3);
    });
    for (const confirm of [false, true]) {
      await Promise.all([1, 2].map((n) => resetDirector(alias(n))));
      await sh(alias(2), 'mkdir -p /var/lib/lvsform; (flock -x /var/lib/lvsform/lock sleep 6) >/dev/null 2>&1 &');
      await waitFor('the lock held', async () => (await sh(alias(2), 'flock -n /var/lib/lvsform/lock true', { allowFailure: true })).exitCode === 1);
      const started = performance.now();
      let lb1Done: number | undefined;
      // WHEN both are applied with --lock-timeout (and, the second time, a confirmation)
      const report = await apply(stack, {
        lockTimeout: 30,
        onProgress: (d, m) => {
          if (d === 'lb1' && m.startsWith('applying')) lb1Done = performance.now() - started;
        },
        ...(confirm ? { confirm: async () => true } : {}),
      });
      // THEN both are applied and verified
      expect(report.outcomes.map((o) => [o.director, o.status])).toEqual([
        ['lb1', 'applied'],
        ['lb2', 'applied'],
      ]);
      expect(ids(await liveTable(2)).length).toBe(3);
      // AND lb1's batch went out while lb2 was still locked, or, to be confirmed with the whole plan, only after
      expect(lb1Done! < 3000, `lb1's batch ${lb1Done} ms after the start`).toBe(!confirm);
    }
  });

  it('force-unlock refuses while the holder is alive (a run waiting for confirmation holds the lock)', async () => {
    // GIVEN an apply that holds the director's lock while it waits for its confirmation
    const { dir, stack } = await buildStack('held', [1], ({ lbs, pool }) => manyServices(lbs[0]!, pool, 3));
    let answer: (v: boolean) => void = () => undefined;
    let asked: () => void = () => undefined;
    const question = new Promise<void>((r) => (asked = r));
    const running = apply(stack, {
      confirm: () =>
        new Promise<boolean>((r) => {
          answer = r;
          asked();
        }),
    });
    await question;
    const before = await hostSnapshot(1);
    // WHEN force-unlock is run against it
    const refused = await lvsform(dir, ['force-unlock', 'lb1', '--no-synth']);
    // THEN it refuses with LVS_LOCK_HELD, naming the live holder, and changes nothing
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/Error \[LVS_LOCK_HELD\]: lb1 \(.*\) is locked by a live run: \d+ exclusive apply by \S+@\S+ pid \d+ at /);
    expect(await hostSnapshot(1)).toBe(before);
    // AND a concurrent apply is refused with "locked by" while the first one waits
    const second = await lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toMatch(/is locked by \d+ exclusive apply by /);
    answer(false);
    expect((await running).outcomes.map((o) => o.status)).toEqual(['skipped']);
    expect(await hostSnapshot(1)).toBe(before);
  });

  it('a lvsform killed with SIGKILL mid-apply leaves no held lock: the kernel frees it with the shell; force-unlock clears the holder line', async () => {
    // GIVEN an apply of 600 services run by the real command line, and a watcher inside the director that returns as
    // soon as its batch runs (`ipvsadm -R` exactly: the capability read's `ipvsadm -h` runs under the lock too, before
    // the batch); polled there, not over SSH, so that a batch of a second or less is not missed between two probes
    const { dir } = await buildStack('killed', [1], ({ lbs, pool }) => manyServices(lbs[0]!, pool, 600));
    const batchSeen = sh(alias(1), 'i=0; while [ $i -lt 3000 ]; do pgrep -xf "ipvsadm -R" >/dev/null && exit 0; i=$((i + 1)); done; exit 1', {
      allowFailure: true,
    });
    const run = lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
    // WHEN the lvsform process is killed with SIGKILL while its batch runs on the director
    expect((await batchSeen).exitCode).toBe(0);
    run.kill('SIGKILL');
    await run;
    // THEN the director's shell finishes the chunk it had read, sees the end of its input and exits, and the kernel
    // releases the flock with it: the lock is free without anybody's help
    await waitFor('the lock to be free', async () => (await sh(alias(1), 'flock -n /var/lib/lvsform/lock true', { allowFailure: true })).exitCode === 0, 120);
    // AND the holder line it left names a process that is gone: force-unlock clears it
    expect((await sh(alias(1), 'cat /var/lib/lvsform/lock.holder')).stdout).toMatch(/^\d+ exclusive apply by /);
    const freed = await lvsform(dir, ['force-unlock', 'lb1', '--no-synth']);
    expect(freed.exitCode, freed.stderr).toBe(0);
    expect(freed.stdout).toMatch(/lb1 .*: freed the lock left by a run that is gone/);
    expect((await sh(alias(1), 'ls /var/lib/lvsform')).stdout.split('\n')).not.toContain('lock.holder');
    // AND the next apply takes the lock and converges (adopting what the killed run created before it died)
    const again = await lvsform(dir, ['apply', '--no-synth', '--auto-approve', '--adopt']);
    expect(again.exitCode, again.stdout).toBe(0);
    expect(ids(await liveTable(1)).length).toBe(600);
  });
});

describe('the record a batch leaves, chosen and written by the director', () => {
  // Records of many new services, as a large first apply writes (the fallback over what travels as one printf word).
  const expected = recordOf('rides', 2, false);
  const otherwise = recordOf('rides', 5000, true);

  /** The batch as an apply sends it: with its record, and the read-back of /proc in the same round trip. */
  async function batchOn(batch: string, records: Pick<BatchRecord, 'expected' | 'otherwise'> = { expected, otherwise }): Promise<BatchReply> {
    const d = lab().directors[0]!;
    const host = openShDirectorHost({ name: d.name, transport: 'ssh', ssh: { configFile: lab().sshConfig, alias: d.alias } });
    try {
      const [, reply, readBack] = await host.exchange(
        [
          lockRequest('apply', true),
          { kind: 'batch', batch, record: { stack: 'rides', ...records, gzip: true } },
          { kind: 'proc', listings: [], compress: false },
        ],
        { underLock: true },
      );
      // The read-back, which runs before the record's write, shows what the batch made.
      expect(readBack.ended && readBack.proc.services.map((s) => [s.id, s.scheduler])).toContainEqual(['tcp 198.51.100.10:80', 'rr']);
      return reply;
    } finally {
      await host.close();
    }
  }

  it('after a batch the kernel complains about: the pending record, sent compressed and decoded by the shell', async () => {
    // GIVEN a batch whose second line names a scheduler the kernel does not have
    const reply = await batchOn('-A -t 198.51.100.10:80 -s rr\n-A -t 198.51.100.10:81 -s nosuch\n');
    // THEN ipvsadm said so, and the director wrote the other record and confirmed it
    expect(reply.said).toMatch(/Scheduler or persistence engine not found/);
    expect(reply.record).toEqual({ wrote: 'otherwise', confirmed: true, said: '' });
    // AND the file holds exactly that record, mode 0600
    const file = await sh(alias(1), 'stat -c %a /var/lib/lvsform/rides.json; cat /var/lib/lvsform/rides.json');
    const [mode, ...text] = file.stdout.split('\n');
    expect(mode).toBe('600');
    expect(JSON.parse(text.join('\n'))).toEqual(otherwise);
  });

  it("after a first apply's batch the kernel complains about: the pending record, derived by the director from the expected one", async () => {
    // GIVEN a first apply's records (every service new: the pending record is the expected one's services marked so)
    const first = { expected: recordOf('rides', 40, false), otherwise: { ...recordOf('rides', 40, true), updated: '2026-01-01T00:00:01.000Z' } };
    // WHEN its batch names a scheduler the kernel does not have
    const reply = await batchOn('-A -t 198.51.100.10:80 -s rr\n-A -t 198.51.100.10:82 -s nosuch\n', first);
    // THEN the director wrote the pending record, which never travelled, and confirmed it
    expect(reply.record).toEqual({ wrote: 'otherwise', confirmed: true, said: '' });
    const text = (await sh(alias(1), 'cat /var/lib/lvsform/rides.json')).stdout;
    expect(JSON.parse(text)).toEqual({ ...first.otherwise, updated: first.expected.updated });
  });

  it('after a silent batch: the record the apply expects', async () => {
    const reply = await batchOn('-A -t 198.51.100.10:80 -s rr\n');
    expect([reply.said, reply.record]).toEqual(['', { wrote: 'expected', confirmed: true, said: '' }]);
    expect(JSON.parse((await sh(alias(1), 'cat /var/lib/lvsform/rides.json')).stdout)).toEqual(expected);
  });
});
