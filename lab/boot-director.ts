import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LvsError } from '../providers/ipvs/errors.ts';
import { isProcessWith } from './processes.ts';
import type { LabDirector, labPaths } from './state.ts';

type Paths = ReturnType<typeof labPaths>;

export const UML_KERNEL = '/usr/bin/linux.uml';
const READY = 'lvsform-ready';

/** The argument that marks every process of this lab's kernels (also how `labDown` finds them after a crash). */
export function umlDirArg(paths: Paths): string {
  return `uml_dir=${paths.uml}`;
}

/** The kernel command line: the host's root under an overlay (done by init.sh), the tap with gro=1, init settings. */
export function kernelArgs(paths: Paths, d: LabDirector, memoryMb: number): string[] {
  return [
    `umid=${d.umid}`,
    umlDirArg(paths),
    `mem=${memoryMb}M`,
    'root=/dev/root',
    'rootfstype=hostfs',
    'rootflags=/',
    'rw',
    `init=${join(paths.guest, 'init.sh')}`,
    'con=null',
    'con0=null,fd:1',
    'ssl=null',
    `vec0:transport=tap,ifname=${d.tap},gro=1`,
    'quiet',
    `lvsform_index=${d.index}`,
    `lvsform_dir=${paths.dir}`,
    `lvsform_forward=${d.ipForward ? 1 : 0}`,
    ...(d.skipModules.length > 0 ? [`lvsform_skip=${d.skipModules.join(',')}`] : []),
    ...(d.persistent ? [`ubd0=${diskFile(paths, d)}`, 'lvsform_persist=1'] : []),
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
  if (await stat(file).then(() => true, () => false)) return;
  await execa('truncate', ['-s', '64M', file]);
  await execa('mkfs.ext4', ['-q', '-F', '-L', 'lvsform-disk', file]);
}

/** Starts one director's kernel in its own session (it outlives `lab up`); returns its PID (= process group). */
export function startDirector(paths: Paths, d: LabDirector, memoryMb: number): number {
  // The kernel gets file descriptors of its own (no pipe through this process), so `lab up` can exit while it runs.
  const console = openSync(d.consoleLog, 'a');
  const errors = openSync(d.consoleLog.replace(/\.log$/, '.stderr.log'), 'a');
  try {
    const child = execa(UML_KERNEL, kernelArgs(paths, d, memoryMb), {
      cwd: '/',
      detached: true,
      cleanup: false,
      reject: false,
      buffer: false,
      stdin: 'ignore',
      // execa's types list only 3..9 as numeric descriptors; any open descriptor works at run time.
      stdout: console as 3,
      stderr: errors as 3,
      env: { TMPDIR: '/dev/shm' },
    });
    if (child.pid === undefined) throw new LvsError('LVS_LAB_BOOT_FAILED', `${d.alias}: ${UML_KERNEL} did not start`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(console);
    closeSync(errors);
  }
}

/** Waits for init's ready line on the console; reports init's warnings; fails fast if the kernel dies. */
export async function waitForDirector(
  paths: Paths,
  d: LabDirector,
  timeoutMs: number,
  onWarning: (msg: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  for (;;) {
    const log = await readFile(d.consoleLog, 'utf8').catch(() => '');
    const warnings = log.split('\n').filter((l) => l.startsWith('lvsform-init: '));
    for (const w of warnings.slice(seen)) onWarning(`${d.alias}: ${w.slice('lvsform-init: '.length)}`);
    seen = warnings.length;
    if (log.includes(READY)) return;
    const tail = () => log.split('\n').slice(-15).join('\n');
    if (!(await isProcessWith(d.umlPid, umlDirArg(paths)))) {
      throw new LvsError('LVS_LAB_BOOT_FAILED', `${d.alias} stopped while booting. Console:\n${tail()}`, {
        hint: `see ${d.consoleLog}`,
      });
    }
    if (Date.now() > deadline) {
      throw new LvsError('LVS_LAB_BOOT_TIMEOUT', `${d.alias} was not ready after ${timeoutMs} ms. Console:\n${tail()}`, {
        hint: `see ${d.consoleLog}`,
      });
    }
    await new Promise((r) => setTimeout(r, 40));
  }
}
