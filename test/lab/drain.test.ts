/**
 * Graceful drain under load on the real kernel: while a bounded stream of requests runs through the VIP, an apply that
 * adds, reweights and removes real servers loses no request. IPVS keeps a closed TCP connection as an inactive entry,
 * which the drain waits for: the test lowers the FIN_WAIT timeout to 2 s (`ipvsadm --set 900 2 300`) and restores the
 * director's values after. TIME_WAIT (120 s) has no such setting, so a drain after traffic that closed normally lasts
 * until two minutes after the last connection closed, or its --drain-timeout: here 5 s, which proves the same as a longer
 * one (rs3 is at weight 0 for the whole wait, so the wait's length changes nothing the test reads) and brings the removal
 * nearer to the requests still flowing.
 *
 * Then what drain is for, with long downloads through the VIP while a real server is removed without it: the
 * connection entries of a deleted real server stay (its destination waits in the dest trash), but the director no
 * longer forwards the client's packets to it. With `net.ipv4.vs.expire_nodest_conn=1` (kube-proxy and Seesaw set it)
 * it ends each such entry at its next packet, and the client's following packet is answered with a reset. With the
 * kernel's default `0` it drops those packets silently and keeps the entries (so that the connection could go on if the
 * real server were added back): the download stalls until the client gives up. Only the drain lets them finish.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { labExec } from '../../lab/index.ts';
import { Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../lib/index.ts';
import { shQuote } from '../../providers/ipvs/host/shell-quote.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { DOWNLOAD_WRITE_OUT, type Download, parseDownloads } from './downloads.ts';
import { lab, resetDirector, sh, traffic } from './helpers.ts';
import { labSsh, synthApp } from './ops-harness.ts';
import { alias, apply, liveTable, plan } from './stack-harness.ts';

/** The web service on director 1 with these real servers (address → weight). */
function web(members: Record<string, number>): Promise<LoadedStack> {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'drain');
    const lb = new Director(stack, 'lb1', { ssh: labSsh(1) });
    const pool = new RealServerPool(stack, 'web', {
      forwarding: Forwarding.NAT,
      members: Object.entries(members).map(([address, weight]) => ({ address, weight })),
    });
    lb.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.WEIGHTED_ROUND_ROBIN, pools: [pool] });
  });
}

let savedTimeouts = '';

beforeEach(async () => {
  // One round trip: the director emptied, its timeouts read ("Timeout (tcp tcpfin udp): 900 120 300"), FIN_WAIT lowered.
  const out = (await resetDirector(alias(1), 'ipvsadm -L --timeout && ipvsadm --set 900 2 300')).stdout;
  savedTimeouts = /:\s*(\d+ \d+ \d+)/.exec(out)?.[1] ?? '900 120 300';
});

afterEach(async () => {
  await sh(alias(1), `ipvsadm --set ${savedTimeouts}`);
});

describe('graceful drain on the lab', () => {
  it('adds, reweights and removes real servers under load with no failed request', async () => {
    // GIVEN rs1 and rs3 serving the VIP
    expect((await apply(await web({ '192.0.2.11': 1, '192.0.2.13': 1 }))).outcomes[0]?.status).toBe('applied');
    const next = await web({ '192.0.2.11': 2, '192.0.2.12': 1 });
    // AND a plan that adds rs2, reweights rs1 and drains rs3
    const p = await plan(next, { drain: true });
    expect(p.directors[0]!.drain.map((d) => d.destinationId)).toEqual(['192.0.2.13:80']);
    expect(p.directors[0]!.changes.map((c) => `${c.action} ${c.kind === 'destination' ? c.destinationId : c.serviceId}`).sort()).toEqual([
      'create 192.0.2.12:80',
      'delete 192.0.2.13:80',
      'update 192.0.2.11:80',
    ]);
    // WHEN 300 requests run through the VIP while the change is applied with drain
    const load = traffic({ director: alias(1), target: '198.51.100.10:80', count: 300, intervalMs: 20 });
    await new Promise((r) => setTimeout(r, 1500));
    const report = await apply(next, { drain: true, drainTimeout: 5 });
    const result = await load;
    // THEN the apply is verified, every request was answered, and rs3 answered only before it left
    expect(report.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
    expect(result.failures).toBe(0);
    expect(result.total).toBe(300);
    expect(Object.keys(result.perServer).sort()).toEqual(['rs1', 'rs2', 'rs3']);
    // AND the table is the new one
    const table = await liveTable(1);
    expect(table.services[0]!.destinations.map((d) => [d.address, d.weight])).toEqual([
      ['192.0.2.11', 2],
      ['192.0.2.12', 1],
    ]);
  });
});

/** What each download fetches: 12 MiB on the guest's tmpfs, once (rs3's copy is a hard link to rs1's). */
const FILE_BYTES = 12 * 1024 * 1024;
const DOWNLOADS = 6;
/**
 * Each download's own rate on the client link (`fq maxrate`, paced by the guest's kernel). Unshaped, six 24 MiB
 * downloads ended within about 2 s on a quiet machine, some before all are seen established (`curl --limit-rate` is not
 * honoured under TCG); and the more the guest forwards, the slower the apply's own commands run (an apply took 11–13 s
 * beside six downloads at 16 Mbit/s on a loaded machine). At 8 Mbit/s each 12 MiB download lasts 12.6 s or more: far longer than
 * it takes to see all six established and stop them (about 1 s), and short enough that the drained case's bound below
 * can sit well under TIME_WAIT's two minutes.
 */
const FLOW_RATE = '8mbit';
/**
 * The drained apply's bound. A finished connection stays an inactive entry in TIME_WAIT for 120 s (`ipvsadm --set`
 * cannot shorten that state), so the drain ends at this bound, not when rs3's downloads end: it must only come after
 * them. 24 MiB downloads took 30–107 s on a machine with a load average of 15 on two cores; these are half as long
 * (≤ 54 s there), and rs3's are resumed when the drain's wait begins. A bound that came first would cut rs3's downloads,
 * which the test sees (broken downloads, an established entry on rs3 after the apply).
 */
const DRAIN_TIMEOUT = 75;
/** The client gives up on a download that received nothing for this long (curl exit 28). */
const STALL_SECONDS = 15;
const CLIENT = '198.51.100.200';
const VIP = '198.51.100.10';
const KEPT = '192.0.2.11';
const REMOVED = '192.0.2.13';
/** curl's exit code for a transfer that stalled (a reset connection is 56, "failure receiving network data"). */
const CURL_STALLED = 28;

/**
 * Sets `net.ipv4.vs.expire_nodest_conn` on a director and returns the value it replaced: the one place the test
 * touches it.
 */
async function setExpireNodestConn(director: string, value: string): Promise<string> {
  const file = '/proc/sys/net/ipv4/vs/expire_nodest_conn';
  return (await sh(director, `cat ${file} && echo ${shQuote(value)} > ${file}`)).stdout.trim();
}

const complete = (d: Download): boolean => d.exitCode === 0 && d.bytes === FILE_BYTES;

/** Where the guest keeps the downloads' process ids, to pause and resume them. */
const PIDS = '/run/lvsform-downloads';

/** Starts the downloads from the client namespace, at once, one curl each; resolves when all have ended. */
async function runDownloads(director: string): Promise<Download[]> {
  const curl = `curl --silent --output /dev/null --max-time 240 --speed-limit 1 --speed-time ${STALL_SECONDS} ${DOWNLOAD_WRITE_OUT} http://${VIP}/big.bin`;
  const script = `ip netns exec client sh -c ${shQuote(`: > ${PIDS}; i=0; while [ $i -lt ${DOWNLOADS} ]; do ${curl} & echo $! >> ${PIDS}; i=$((i + 1)); done; wait`)}`;
  return parseDownloads(await labExec(director, script, { state: lab(), timeoutMs: 300_000 }), DOWNLOADS);
}

/** The director's entries for the client's connections to the VIP: client port → state and real server. */
async function connectionEntries(director: string): Promise<Map<number, { state: string; server: string }>> {
  const out = (await sh(director, 'ipvsadm -L -n -c')).stdout;
  const line = new RegExp(`^TCP\\s+\\S+\\s+(\\S+)\\s+${CLIENT}:(\\d+)\\s+${VIP}:80\\s+([\\d.]+):80\\s*$`, 'gm');
  return new Map([...out.matchAll(line)].map((m) => [Number(m[2]), { state: m[1]!, server: m[3]! }]));
}

/** The client's established connections to the VIP: client port → real server. */
async function establishedConnections(director: string): Promise<Map<number, string>> {
  const entries = [...(await connectionEntries(director))].filter(([, e]) => e.state === 'ESTABLISHED');
  return new Map(entries.map(([port, e]) => [port, e.server]));
}

/**
 * Polls until every download has its established connection (30 s bound). Entries there before the downloads started
 * are not theirs: a stalled connection of an earlier run stays ESTABLISHED for up to 15 minutes.
 */
async function waitForDownloads(director: string, before: ReadonlySet<number>): Promise<Map<number, string>> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const conns = new Map([...(await establishedConnections(director))].filter(([port]) => !before.has(port)));
    if (conns.size >= DOWNLOADS) return conns;
    if (performance.now() > deadline) throw new Error(`only ${conns.size} of ${DOWNLOADS} downloads connected`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Stops or continues the downloads' curl processes. A stopped client reads nothing: once its socket buffer is full the
 * transfer waits, open, however long the apply takes (on a loaded machine an apply beside the downloads took 2–31 s).
 */
async function signalDownloads(director: string, signal: 'STOP' | 'CONT'): Promise<void> {
  await sh(director, `kill -${signal} $(cat ${PIDS})`);
}

interface RemovalRun {
  readonly downloads: readonly Download[];
  /** Client ports of the downloads the removed real server served, and of those the kept one served. */
  readonly onRemoved: readonly number[];
  readonly onKept: readonly number[];
  /** The downloads' established connections read right after the apply returned: client port → real server. */
  readonly afterApply: ReadonlyMap<number, string>;
  /** The downloads' entries left on the director once every download had ended: client port → state. */
  readonly afterDownloads: ReadonlyMap<number, string>;
  readonly status: string | undefined;
  readonly applySeconds: number;
}

/**
 * rs1 and rs3 serve the VIP; rs3 is removed by an apply while the downloads are open. The downloads are stopped from
 * the moment all are established until the removal has happened: without drain until the apply returns, with drain
 * until its first wait (rs3 is at weight 0 then, and still has its connections).
 */
async function removeDuringDownloads(name: string, drain: boolean): Promise<RemovalRun> {
  const director = alias(1);
  const started = performance.now();
  expect((await apply(await web({ [KEPT]: 1, [REMOVED]: 1 }))).outcomes[0]?.status).toBe('applied');
  // Synthesized before the downloads start: a synth costs seconds of CPU on a busy machine.
  const next = await web({ [KEPT]: 1 });
  const before = new Set((await establishedConnections(director)).keys());
  const running = runDownloads(director);
  running.catch(() => undefined); // awaited below; a failed wait must not leave it unhandled
  const servedBy = await waitForDownloads(director, before);
  await signalDownloads(director, 'STOP');
  let resumed: Promise<void> | undefined;
  const resume = (): Promise<void> => {
    resumed ??= signalDownloads(director, 'CONT');
    return resumed;
  };
  const progress: string[] = [];
  const onProgress = (_d: string, m: string): void => {
    progress.push(m);
    if (/^drain(ing:| timeout)/.test(m)) resume().catch(() => undefined); // awaited below
  };
  const applyStarted = performance.now();
  let report: Awaited<ReturnType<typeof apply>>;
  let applySeconds: number;
  let afterApply: Map<number, string>;
  try {
    report = await apply(next, { drain, drainTimeout: DRAIN_TIMEOUT, onProgress });
    applySeconds = (performance.now() - applyStarted) / 1000;
    afterApply = new Map([...(await establishedConnections(director))].filter(([port]) => servedBy.has(port)));
  } finally {
    await resume();
  }
  const downloads = await running;
  const entries = [...(await connectionEntries(director))].filter(([port]) => servedBy.has(port));
  const afterDownloads = new Map(entries.map(([port, e]) => [port, e.state]));
  const ports = (server: string) =>
    [...servedBy]
      .filter(([, s]) => s === server)
      .map(([p]) => p)
      .sort((a, b) => a - b);
  const times = downloads.map((d) => d.seconds);
  console.log(
    `drain ${name}: case ${((performance.now() - started) / 1000).toFixed(1)} s, apply ${applySeconds.toFixed(1)} s` +
      `${progress.some((m) => m.startsWith('drain timeout')) ? ' (to the drain timeout)' : ''}, ` +
      `downloads ${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)} s, ` +
      `${downloads.filter((d) => !complete(d)).length} of ${downloads.length} broken, ${ports(REMOVED).length} on ${REMOVED} ` +
      `(exit codes ${downloads.map((d) => `${servedBy.get(d.port) === REMOVED ? 'rs3' : 'rs1'}:${d.exitCode}`).join(' ')})`,
  );
  return {
    downloads,
    onRemoved: ports(REMOVED),
    onKept: ports(KEPT),
    afterApply,
    afterDownloads,
    status: report.outcomes[0]?.status,
    applySeconds,
  };
}

const broken = (run: RemovalRun): Download[] => run.downloads.filter((d) => !complete(d)).sort((a, b) => a.port - b.port);
const destinations = async (): Promise<string[]> => (await liveTable(1)).services[0]!.destinations.map((d) => d.address);

describe('drain, and what becomes of a removed real server’s connections without it', () => {
  let savedExpire = '';

  beforeAll(async () => {
    await sh(
      alias(1),
      `head -c ${FILE_BYTES} /dev/zero > /srv/lvsform/rs1/big.bin && ln -f /srv/lvsform/rs1/big.bin /srv/lvsform/rs3/big.bin && ` +
        `tc qdisc replace dev client0 root fq maxrate ${shQuote(FLOW_RATE)}`,
    );
  });

  afterAll(async () => {
    await sh(alias(1), 'tc qdisc del dev client0 root; rm -f /srv/lvsform/rs1/big.bin /srv/lvsform/rs3/big.bin');
  });

  afterEach(async () => {
    if (savedExpire !== '') await setExpireNodestConn(alias(1), savedExpire);
    savedExpire = '';
  });

  it('with expire_nodest_conn=1, --no-drain ends exactly the downloads the removed real server served', async () => {
    // GIVEN a director that ends a removed real server's connections at their next packet
    savedExpire = await setExpireNodestConn(alias(1), '1');
    // WHEN rs3 is removed without drain while six downloads run
    const run = await removeDuringDownloads('(a) expire_nodest_conn=1 --no-drain', false);
    // THEN the apply is verified and rs3 is gone
    expect(run.status).toBe('applied');
    expect(await destinations()).toEqual([KEPT]);
    // AND rs3's downloads broke and the director ended their entries; rs1's finished byte for byte. (The client is
    // reset when a packet of its own follows the one that ended the entry, else its download stalls: exit 56 or 28.)
    expect(run.onRemoved.length).toBeGreaterThan(0);
    expect(run.onKept.length).toBeGreaterThan(0);
    expect(broken(run).map((d) => d.port)).toEqual(run.onRemoved);
    expect(run.onRemoved.filter((p) => run.afterDownloads.has(p))).toEqual([]);
  });

  it('with expire_nodest_conn=1, the default drain breaks none and removes the real server after its downloads', async () => {
    // GIVEN the same director
    savedExpire = await setExpireNodestConn(alias(1), '1');
    // WHEN rs3 is removed with drain while six downloads run
    const run = await removeDuringDownloads('(b) expire_nodest_conn=1 drain', true);
    // THEN the apply is verified, rs3 is gone, and the apply ended after rs3's downloads, within its bound
    expect(run.status).toBe('applied');
    expect(await destinations()).toEqual([KEPT]);
    expect(run.onRemoved.length).toBeGreaterThan(0);
    expect([...run.afterApply.values()]).not.toContain(REMOVED);
    expect(run.applySeconds).toBeLessThan(DRAIN_TIMEOUT + 30);
    // AND every download finished byte for byte, rs3's among them
    expect(broken(run)).toEqual([]);
  });

  it('with the kernel default expire_nodest_conn=0, --no-drain stalls the removed real server’s downloads', async () => {
    // GIVEN the kernel's default
    savedExpire = await setExpireNodestConn(alias(1), '0');
    // WHEN rs3 is removed without drain while six downloads run
    const run = await removeDuringDownloads('(c) expire_nodest_conn=0 --no-drain', false);
    // THEN the apply is verified and rs3 is gone from the table, while its connections' entries stay
    expect(run.status).toBe('applied');
    expect(await destinations()).toEqual([KEPT]);
    expect(run.onRemoved.length).toBeGreaterThan(0);
    expect(
      [...run.afterApply]
        .filter(([, s]) => s === REMOVED)
        .map(([p]) => p)
        .sort((a, b) => a - b),
    ).toEqual(run.onRemoved);
    // AND rs3's downloads received nothing more until the client gave up (no reset), rs1's finished byte for byte;
    // their entries are still there, established: even the client's closing packets were dropped
    expect(broken(run).map((d) => [d.port, d.exitCode])).toEqual(run.onRemoved.map((p) => [p, CURL_STALLED]));
    expect(run.onRemoved.map((p) => run.afterDownloads.get(p))).toEqual(run.onRemoved.map(() => 'ESTABLISHED'));
  });
});
