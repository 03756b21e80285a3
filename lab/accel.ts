import { access, constants, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { QEMU, qemuVersion } from './qemu.ts';
import { type LabKernel, labCacheDir } from './kernel.ts';

export type Accel = 'kvm' | 'tcg';

export interface AccelChoice {
  readonly accel: Accel;
  /** How it was decided: asked for, remembered from an earlier probe, probed now, or no /dev/kvm at all. */
  readonly source: 'option' | 'environment' | 'cache' | 'probe' | 'no-kvm';
  /** For a probe: what it saw (e.g. "booted in 0.8 s", "no answer in 10 s"). */
  readonly detail?: string;
}

/** How long a probe boot under KVM may take before the lab gives up on KVM (a working KVM boots in about a second). */
export const PROBE_DEADLINE_MS = 10_000;

function parseAccel(value: string, from: string): Accel {
  if (value === 'kvm' || value === 'tcg') return value;
  throw new LvsError('LVS_LAB_BAD_OPTIONS', `${from} must be kvm or tcg; got "${value}"`);
}

async function cpuModel(): Promise<string> {
  const info = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? 'unknown';
}

/**
 * Boots the lab's kernel under KVM with `lvsform_probe=1` (its initramfs prints `lvsform-probe-ok` and powers off) and
 * says whether the line came before the deadline. On some hosts KVM creates VMs but a guest kernel hangs after the
 * BIOS (nested virtualisation) or QEMU aborts setting MSRs: both count as "no".
 */
export async function probeKvm(k: LabKernel, initramfs: string): Promise<{ ok: boolean; detail: string }> {
  const started = Date.now();
  const child = execa(
    QEMU,
    [
      ...['-machine', 'pc', '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-smp', '1', '-nodefaults', '-no-reboot'],
      ...['-display', 'none', '-serial', 'stdio', '-monitor', 'none'],
      ...['-kernel', k.image, '-initrd', initramfs, '-append', 'console=ttyS0 quiet panic=-1 lvsform_probe=1'],
    ],
    { reject: false, stdin: 'ignore', all: true, timeout: PROBE_DEADLINE_MS, killSignal: 'SIGKILL' },
  );
  const r = await child;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const out = String(r.all ?? '');
  if (out.includes('lvsform-probe-ok')) return { ok: true, detail: `a KVM guest booted in ${seconds} s` };
  if (r.timedOut) return { ok: false, detail: `a KVM guest did not answer in ${PROBE_DEADLINE_MS / 1000} s` };
  const last = out.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.exitCode}`;
  return { ok: false, detail: `QEMU with KVM failed: ${last}` };
}

/**
 * Picks the accelerator: `--accel` (or `LVSFORM_LAB_ACCEL`) when given; TCG when /dev/kvm cannot be opened; otherwise
 * the answer of a probe boot under KVM, remembered in the cache for this host kernel, CPU, QEMU and guest kernel.
 */
export async function chooseAccel(k: LabKernel, initramfs: string, opts: { accel?: string; progress?: (msg: string) => void } = {}): Promise<AccelChoice> {
  if (opts.accel !== undefined) return { accel: parseAccel(opts.accel, '--accel'), source: 'option' };
  const env = process.env['LVSFORM_LAB_ACCEL'];
  if (env) return { accel: parseAccel(env, 'LVSFORM_LAB_ACCEL'), source: 'environment' };
  const kvm = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
  if (!kvm) return { accel: 'tcg', source: 'no-kvm' };

  const key = [release(), await cpuModel(), await qemuVersion(), k.release, k.packageVersion, basename(k.image)].join(' | ');
  const file = join(labCacheDir(), 'accel.json');
  const known = await readFile(file, 'utf8')
    .then((t) => JSON.parse(t) as Record<string, { accel: Accel; detail: string }>)
    .catch(() => ({}) as Record<string, { accel: Accel; detail: string }>);
  const hit = known[key];
  if (hit && (hit.accel === 'kvm' || hit.accel === 'tcg')) return { accel: hit.accel, source: 'cache', detail: hit.detail };

  opts.progress?.('probing KVM (a short boot with a deadline; the answer is remembered)');
  const probe = await probeKvm(k, initramfs);
  const accel: Accel = probe.ok ? 'kvm' : 'tcg';
  known[key] = { accel, detail: probe.detail };
  await mkdir(labCacheDir(), { recursive: true });
  await writeFile(`${file}.${process.pid}.tmp`, `${JSON.stringify(known, null, 2)}\n`);
  await rename(`${file}.${process.pid}.tmp`, file);
  return { accel, source: 'probe', detail: probe.detail };
}
