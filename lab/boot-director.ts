import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { exists } from './host-check.ts';
import { isProcessWith } from './processes.ts';
import type { Accel } from './accel.ts';
import { managementMac } from './cluster-addresses.ts';
import type { LabKernel } from './kernel.ts';
import { QEMU } from './qemu.ts';
import { type LabDirector, type labPaths, segmentCards } from './state.ts';

type Paths = ReturnType<typeof labPaths>;

const READY = 'lvsform-ready';

/** What every director of one lab boots: the kernel, its initramfs and the accelerator (kept in the lab's state). */
export interface LabBoot {
  readonly kernel: Pick<LabKernel, 'release' | 'packageName' | 'packageVersion' | 'image' | 'moduleDir'>;
  readonly initramfs: string;
  readonly accel: Accel;
}

/**
 * The argument that marks every QEMU process of this lab (`-name lvsform-lab:DIR`): how `labDown` finds them after a
 * crash, and how a PID is known to still be this lab's.
 */
export function vmMarker(paths: Paths): string {
  return `lvsform-lab:${paths.dir}`;
}

/** The kernel command line: the console, then the settings the initramfs and init.sh read. */
export function kernelArgs(paths: Paths, d: LabDirector, boot: LabBoot): string {
  return [
    'console=ttyS0',
    'quiet',
    'panic=-1',
    // No guest time on things the lab never uses.
    'mitigations=off',
    'nokaslr',
    `lvsform_index=${d.index}`,
    `lvsform_dir=${paths.dir}`,
    `lvsform_moddir=${boot.kernel.moduleDir}`,
    `lvsform_forward=${d.ipForward ? 1 : 0}`,
    ...(d.skipModules.length > 0 ? [`lvsform_skip=${d.skipModules.join(',')}`] : []),
    ...(d.persistent ? ['lvsform_persist=1'] : []),
    // systemd reads its own arguments from /proc/cmdline: multi-user.target, whatever this machine's default is.
    ...(d.init === 'systemd' ? ['lvsform_systemd=1', 'systemd.unit=multi-user.target'] : []),
    // A cluster VM: its role, name and addresses on the shared (eth1; none for a private real server) and private
    // (eth2) segments.
    ...(d.role && d.private
      ? [
          `lvsform_role=${d.role}`,
          `lvsform_name=${d.name}`,
          ...(d.shared ? [`lvsform_shared=${d.shared.ipv4},${d.shared.ipv6}`] : []),
          `lvsform_private=${d.private.ipv4},${d.private.ipv6}`,
        ]
      : []),
  ].join(' ');
}

/**
 * QEMU's arguments for one virtual machine: this machine's root read-only over virtio-9p, the management tap (and a
 * cluster VM's taps on the shared and private segments: `eth1`, `eth2` in PCI order; a private real server has only
 * the private one, which its set-up renames to `eth2`), the disk if any.
 */
export function qemuArgs(paths: Paths, d: LabDirector, memoryMb: number, boot: LabBoot): string[] {
  const cards = segmentCards(d).map((c) => c.nic);
  return [
    ...['-name', vmMarker(paths)],
    ...['-machine', 'pc', '-m', String(memoryMb), '-smp', '1'],
    ...(boot.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi']),
    ...['-nodefaults', '-no-reboot', '-display', 'none', '-serial', 'stdio', '-monitor', 'none'],
    ...['-kernel', boot.kernel.image, '-initrd', boot.initramfs, '-append', kernelArgs(paths, d, boot)],
    // The host's root, read-only twice over: QEMU opens it read-only, the guest mounts it read-only under its overlay.
    ...['-fsdev', 'local,id=root,path=/,security_model=passthrough,readonly=on,multidevs=remap'],
    ...['-device', 'virtio-9p-pci,fsdev=root,mount_tag=hostroot'],
    ...['-netdev', `tap,id=n0,ifname=${d.tap},script=no,downscript=no`],
    ...['-device', `virtio-net-pci,netdev=n0,mac=${managementMac(d.index)}`],
    ...cards.flatMap((c, i) => [
      ...['-netdev', `tap,id=n${i + 1},ifname=${c.tap},script=no,downscript=no`],
      ...['-device', `virtio-net-pci,netdev=n${i + 1},mac=${c.mac}`],
    ]),
    ...(d.persistent ? ['-drive', `file=${diskFile(paths, d)},format=raw,if=virtio`] : []),
  ];
}

/** The ext4 image that holds a persistent director's /etc and /var/lib changes. */
export function diskFile(paths: Paths, d: Pick<LabDirector, 'name'>): string {
  return join(paths.disks, `${d.name}.ext4`);
}

/** Creates a persistent director's disk (64 MB, sparse, ext4) unless it exists. */
export async function ensureDisk(paths: Paths, d: Pick<LabDirector, 'name'>): Promise<void> {
  const file = diskFile(paths, d);
  await mkdir(paths.disks, { recursive: true });
  if (await exists(file)) return;
  await execa('truncate', ['-s', '64M', file]);
  await execa('mkfs.ext4', ['-q', '-F', '-L', 'lvsform-disk', file]);
}

/** Starts one director's virtual machine in its own session (it outlives `lab up`); returns its PID (= process group). */
export function startDirector(paths: Paths, d: LabDirector, memoryMb: number, boot: LabBoot): number {
  // QEMU gets file descriptors of its own (no pipe through this process), so `lab up` can exit while it runs.
  const console = openSync(d.consoleLog, 'a');
  const errors = openSync(stderrLog(d), 'a');
  try {
    const child = execa(QEMU, qemuArgs(paths, d, memoryMb, boot), {
      cwd: '/',
      detached: true,
      cleanup: false,
      reject: false,
      buffer: false,
      stdin: 'ignore',
      // execa's types list only 3..9 as numeric descriptors; any open descriptor works at run time.
      stdout: console as 3,
      stderr: errors as 3,
    });
    if (child.pid === undefined) throw new LvsError('LVS_LAB_BOOT_FAILED', `${d.alias}: ${QEMU} did not start`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(console);
    closeSync(errors);
  }
}

function stderrLog(d: Pick<LabDirector, 'consoleLog'>): string {
  return d.consoleLog.replace(/\.log$/, '.stderr.log');
}

/** The one line that best says why a director died: QEMU's own error, the init's complaint, or the kernel's panic. */
export async function bootFailureReason(d: Pick<LabDirector, 'consoleLog'>, log: string): Promise<string> {
  const stderr = (await readFile(stderrLog(d), 'utf8').catch(() => '')).split('\n');
  const qemu = stderr.filter((l) => l.startsWith('qemu-system-x86_64: ')).pop();
  if (qemu) return qemu.replace(/^qemu-system-x86_64: /, 'QEMU: ');
  const lines = log.split('\n').map((l) => l.trim());
  const init = lines.filter((l) => l.startsWith('lvsform-init: ')).pop();
  if (init) return init.slice('lvsform-init: '.length);
  const panic = lines.find((l) => l.includes('Kernel panic'));
  return panic ?? lines.filter(Boolean).pop() ?? 'the virtual machine exited before printing anything';
}

/** Waits for init's ready line on the console; reports init's warnings; fails fast if the kernel dies. */
export async function waitForDirector(paths: Paths, d: LabDirector, timeoutMs: number, onWarning: (msg: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  for (;;) {
    const log = await readFile(d.consoleLog, 'utf8').catch(() => '');
    const warnings = log.split('\n').filter((l) => l.startsWith('lvsform-init: '));
    for (const w of warnings.slice(seen)) onWarning(`${d.alias}: ${w.slice('lvsform-init: '.length)}`);
    seen = warnings.length;
    if (log.includes(READY)) return;
    const tail = () => log.split('\n').slice(-15).join('\n');
    if (!(await isProcessWith(d.vmPid, vmMarker(paths)))) {
      const why = await bootFailureReason(d, log);
      throw new LvsError('LVS_LAB_BOOT_FAILED', `${d.alias} stopped while booting: ${why}\nConsole:\n${tail()}`, {
        hint: `see ${d.consoleLog} and ${stderrLog(d)}`,
      });
    }
    if (Date.now() > deadline) {
      const last = log.trim().split('\n').filter(Boolean).pop() ?? 'nothing on the console';
      throw new LvsError('LVS_LAB_BOOT_TIMEOUT', `${d.alias} was not ready after ${timeoutMs / 1000} s (last console line: ${last})\nConsole:\n${tail()}`, {
        hint: `see ${d.consoleLog}; under emulation (TCG) a busy machine boots slower: try a longer --boot-timeout`,
      });
    }
    await new Promise((r) => setTimeout(r, 40));
  }
}
