// Shared pieces of the apply and fleet benchmarks: the generated table, lab targets, raw baselines over the same
// transport lvsform uses (one HostSession = one `ssh … sh -s` per director), and small statistics helpers.
import { labDown, labUp, type LabState } from '../../lab/index.ts';
import { batchChunk } from '../../providers/ipvs/host/requests/batch.ts';
import { newTag, splitSections } from '../../providers/ipvs/host/sections.ts';
import type { Destination, Service, Table } from '../../providers/ipvs/model/model.ts';
import { normalizeTable, serviceId } from '../../providers/ipvs/model/model.ts';
import type { DesiredDirector } from '../../providers/ipvs/model/desired-director.ts';
import { HostSession } from '../../providers/ipvs/host/transport.ts';
import type { HostTarget } from '../../providers/ipvs/model/host-target.ts';

/** The benches' lab directory: `$LVSFORM_LAB_DIR`, else /tmp/lvsform-lab-bench. */
export const LAB_DIR = process.env['LVSFORM_LAB_DIR'] ?? '/tmp/lvsform-lab-bench';
/** The number of the lab's first director (its tap and addresses): `$LVSFORM_LAB_FIRST_INDEX`, else 1. */
export const FIRST_INDEX = Number(process.env['LVSFORM_LAB_FIRST_INDEX'] ?? 1);
export const REALS = 4;

/** N services × 4 NAT real servers: 50 VIPs × ports from 1000, reals 192.0.2.11–14 on port 8000 + (i mod 1000). */
export function benchTable(n: number, weightOf: (i: number, r: number) => number = () => 1): Table {
  const services: Service[] = [];
  for (let i = 0; i < n; i++) {
    const destinations: Destination[] = Array.from({ length: REALS }, (_, r) => ({
      address: `192.0.2.${11 + r}`,
      port: 8000 + (i % 1000),
      forwarding: { method: 'masq' as const },
      weight: weightOf(i, r),
      upperThreshold: 0,
      lowerThreshold: 0,
    }));
    services.push({
      key: { kind: 'addr', protocol: 'tcp', address: `198.51.100.${10 + (i % 50)}`, port: 1000 + Math.floor(i / 50) },
      config: { scheduler: 'rr', schedFlags: [], onePacket: false },
      destinations,
    });
  }
  return normalizeTable({ services });
}

export function targetOf(lab: LabState, k: number): HostTarget {
  const d = lab.directors[k]!;
  return { name: d.name, transport: 'ssh', ssh: { configFile: lab.sshConfig, alias: d.alias } };
}

/**
 * The director as an app declares it, its table a deep copy: objects of its own, as a new `lvsform` process builds
 * them, so that nothing an earlier measurement worked out and kept by identity (service hashes) is found again.
 */
export function desiredFor(target: HostTarget, shared: Table): DesiredDirector {
  const table = structuredClone(shared);
  return { name: target.name, target, table, paths: new Map(table.services.map((s, i) => [serviceId(s.key), `bench/svc-${i}`])) };
}

/** Runs one script on a director over its own session (one connection), returning its output. */
export async function runOnce(target: HostTarget, script: string): Promise<string> {
  const s = HostSession.open(target);
  try {
    return (await s.run(script)).stdout;
  } finally {
    await s.close();
  }
}

/** The baseline of a fresh apply: `ipvsadm -R` of the lines, over one connection. */
export async function rawRestore(target: HostTarget, lines: string): Promise<void> {
  const tag = newTag();
  const out = await runOnce(target, batchChunk(tag, lines));
  const status = (splitSections(tag, out).get('restore-status') ?? '').trim();
  const said = (splitSections(tag, out).get('restore') ?? '').trim();
  if (status !== '0' || said !== '') throw new Error(`raw ipvsadm -R failed (${status}): ${said.slice(0, 200)}`);
}

/** The director's IPVS unloaded: no table, ip_vs and its schedulers out of the kernel (their dest trash goes with them). */
export const UNLOAD_IPVS = `ipvsadm -C 2>/dev/null; for m in $(awk '/^ip_vs_/ {print $1}' /proc/modules); do modprobe -r "$m"; done; modprobe -r ip_vs; ! grep -q '^ip_vs' /proc/modules`;

/**
 * A lab director back to the state its boot leaves it in, in under a second instead of a ≈ 10 s reboot: IPVS unloaded
 * and loaded again as the lab's boot loads it (an empty table, no dest trash: a re-add of trashed destinations is
 * faster, which would favour the side measured second), no lvsform state directory. Both sides of a fresh-apply
 * bench start from it, on the same boot, so that the speed of one boot (which differs by more than the targets'
 * margins from boot to boot here) weighs on both alike.
 */
const FRESH_DIRECTOR = `{ if ${UNLOAD_IPVS}; then modprobe -a ip_vs ip_vs_rr && rm -rf /var/lib/lvsform && [ "$(grep -c . /proc/net/ip_vs)" = 3 ] && echo @@fresh; fi; } 2>&1`;

/** Every target back to a fresh boot's IPVS and no lvsform state (FRESH_DIRECTOR), all at once; throws if one is not. */
export async function freshen(targets: readonly HostTarget[]): Promise<void> {
  await Promise.all(
    targets.map(async (t) => {
      const out = await runOnce(t, FRESH_DIRECTOR);
      if (!out.includes('@@fresh')) throw new Error(`${t.name} could not be made fresh (ip_vs unloaded and loaded again): ${out.slice(-300)}`);
    }),
  );
}

/** The boot under way, if any: a stop waits for it, so that it takes down what the boot has made. */
let booting: Promise<unknown> | undefined;

export async function bootLab(directors: number, progress = false, dir = LAB_DIR, firstIndex = FIRST_INDEX): Promise<{ lab: LabState; seconds: number }> {
  const t = performance.now();
  await labDown({ dir });
  const up = labUp({ dir, directors, firstIndex, ...(progress ? { onProgress: (m: string) => console.log(`  lab: ${m}`) } : {}) });
  booting = up;
  const lab = await up;
  return { lab, seconds: (performance.now() - t) / 1000 };
}

/**
 * Takes the lab in `dir` down when the benchmark is stopped (Ctrl-C, SIGTERM) or its output is closed (`| head`):
 * without it the directors would outlive the process. A boot under way is let finish first (the lab's own handler
 * takes a boot stopped by a signal down). Call once, before the lab boots.
 */
export function downOnStop(dir: string): void {
  let going = false;
  const stop = (why: string, code: number): void => {
    if (going) return;
    going = true;
    console.error(`${why}: taking the lab down`);
    void Promise.resolve(booting)
      .catch(() => undefined)
      .then(() => labDown({ dir }))
      .finally(() => process.exit(code));
  };
  process.once('SIGINT', () => stop('SIGINT', 130));
  process.once('SIGTERM', () => stop('SIGTERM', 143));
  process.stdout.on('error', (e: NodeJS.ErrnoException) => stop(`standard output ${e.code ?? e.message}`, 141));
}

export async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [(performance.now() - t) / 1000, r];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function fmt(x: number): string {
  return x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function argList(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  return (process.argv[i + 1] ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

export function argNumber(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}
