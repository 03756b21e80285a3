import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { exists } from './host-check.ts';

/** Where the lab keeps what later runs reuse: Debian's kernel, unpacked, the initramfs, the accelerator answer. */
export function labCacheDir(): string {
  return process.env['LVSFORM_LAB_CACHE'] ?? '/var/cache/lvsform-lab';
}

/** Debian's distribution kernel, unpacked: the image QEMU boots and the module tree the guest loads from. */
export interface LabKernel {
  /** The kernel release, e.g. `6.1.0-57-amd64` (what `uname -r` prints in the guest). */
  readonly release: string;
  /** The Debian package it came from, e.g. `linux-image-6.1.0-57-amd64` (version 6.1.192-3). */
  readonly packageName: string;
  readonly packageVersion: string;
  /** The unpacked package (a path on this machine, also seen by every guest through its read-only root). */
  readonly root: string;
  readonly vmlinuz: string;
  /**
   * What QEMU boots: the uncompressed ELF `vmlinux` taken out of `vmlinuz` (booted through its PVH entry, which saves
   * the guest from unpacking its own xz image: seconds under emulation), or `vmlinuz` itself when that fails.
   */
  readonly image: string;
  /** `ROOT/lib/modules/RELEASE`, with `modules.dep` made by `depmod`. */
  readonly moduleDir: string;
}

const GUEST_FILES = join(dirname(fileURLToPath(import.meta.url)), 'guest');
const META = 'lvsform-kernel.json';

/**
 * The modules the initramfs loads before it can mount the root, in dependency order: virtio (PCI), the network card,
 * 9p over virtio and overlayfs. Everything else (IPVS, schedulers, tunnels, ext4, virtio_blk) loads later, from the
 * module tree, inside the guest.
 */
export const INITRAMFS_MODULES = ['virtio_pci', 'virtio_net', '9pnet_virtio', '9p', 'overlay'] as const;

/** The current ABI package behind `linux-image-amd64` (`apt-cache depends` names it), or undefined when apt knows none. */
async function currentKernelPackage(): Promise<string | undefined> {
  const r = await execa('apt-cache', ['depends', 'linux-image-amd64'], { reject: false });
  return /Depends:\s+(linux-image-\d\S*-amd64)\b/.exec(String(r.stdout))?.[1];
}

let aptRefreshed = false;

/** `apt-get update`, at most once per process and only as root; true when it ran and succeeded. */
async function refreshAptLists(progress: (msg: string) => void): Promise<boolean> {
  if (aptRefreshed || process.getuid?.() !== 0) return false;
  aptRefreshed = true;
  progress('apt-get update (the package lists do not name a downloadable kernel)');
  const r = await execa('apt-get', ['update', '-qq'], { reject: false });
  return r.exitCode === 0;
}

async function readKernel(root: string): Promise<LabKernel | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(root, META), 'utf8')) as Pick<LabKernel, 'release' | 'packageName' | 'packageVersion'> & { pvh?: boolean };
    const vmlinuz = join(root, 'boot', `vmlinuz-${meta.release}`);
    const vmlinux = join(root, 'boot', `vmlinux-${meta.release}`);
    const k: LabKernel = {
      release: meta.release,
      packageName: meta.packageName,
      packageVersion: meta.packageVersion,
      root,
      vmlinuz,
      image: meta.pvh && (await exists(vmlinux)) ? vmlinux : vmlinuz,
      moduleDir: join(root, 'lib', 'modules', meta.release),
    };
    return (await exists(k.vmlinuz)) && (await exists(join(k.moduleDir, 'modules.dep'))) ? k : undefined;
  } catch {
    return undefined;
  }
}

/** The newest complete kernel already in the cache (for a machine whose apt lists are gone or that is offline). */
async function newestCachedKernel(cache: string): Promise<LabKernel | undefined> {
  const names = (await readdir(cache).catch(() => [] as string[])).filter((n) => n.startsWith('linux-image-')).sort();
  for (const n of names.reverse()) {
    const k = await readKernel(join(cache, n));
    if (k) return k;
  }
  return undefined;
}

/**
 * Debian's own kernel for the lab: `apt-cache depends linux-image-amd64` names the current ABI package; unless the
 * cache has it unpacked already, `apt-get download` fetches it, `dpkg-deb -x` unpacks it and `depmod` indexes its
 * modules (the package ships no modules.dep). Later runs reuse the cache.
 */
export async function ensureKernel(progress: (msg: string) => void = () => {}): Promise<LabKernel> {
  const cache = labCacheDir();
  await mkdir(cache, { recursive: true });
  // apt is asked at most twice a day (it takes a second or more): a newer kernel ABI is picked up then.
  const stamp = join(cache, 'apt-checked');
  const checked = await stat(stamp).then(
    (s) => Date.now() - s.mtimeMs < 12 * 3600_000,
    () => false,
  );
  if (checked) {
    const recent = await newestCachedKernel(cache);
    if (recent) return recent;
  }
  let pkg = await currentKernelPackage();
  if (!pkg && (await refreshAptLists(progress))) pkg = await currentKernelPackage();
  if (pkg) await writeFile(stamp, `${pkg}\n`);
  if (!pkg) {
    const cached = await newestCachedKernel(cache);
    if (cached) return cached;
    throw new LvsError('LVS_LAB_NO_KERNEL', "apt does not know Debian's kernel package linux-image-amd64", {
      hint: "run apt-get update (the lab boots Debian's own kernel, fetched with apt-get download)",
    });
  }
  const root = join(cache, pkg);
  const cached = await readKernel(root);
  if (cached) return cached;

  progress(`fetching Debian's kernel (${pkg}) into ${cache}`);
  const work = join(cache, `.fetch-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    // apt-get download writes into the working directory; as root it warns that _apt cannot write there: harmless.
    let dl = await execa('apt-get', ['download', '-q', pkg], { cwd: work, reject: false });
    if (dl.exitCode !== 0 && (await refreshAptLists(progress))) {
      // Old package lists name a build the archive no longer has: the current lists may name another.
      const fresh = await currentKernelPackage();
      if (fresh && fresh !== pkg) return await ensureKernel(progress);
      dl = await execa('apt-get', ['download', '-q', pkg], { cwd: work, reject: false });
    }
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'));
    if (dl.exitCode !== 0 || !deb) {
      throw new LvsError('LVS_LAB_NO_KERNEL', `could not download ${pkg}: ${String(dl.stderr).trim().split('\n').pop()}`, {
        hint: 'check that apt reaches the Debian archive (apt-get update), then try again',
      });
    }
    const version = /_([^_]+)_amd64\.deb$/.exec(deb)?.[1] ?? 'unknown';
    const tree = join(work, 'tree');
    await execa('dpkg-deb', ['-x', join(work, deb), tree]);
    const release = (await readdir(join(tree, 'lib', 'modules')))[0];
    if (!release) throw new LvsError('LVS_LAB_NO_KERNEL', `${deb} holds no module tree`);
    await execa('depmod', ['-b', tree, release]);
    const pvh = await extractVmlinux(join(tree, 'boot', `vmlinuz-${release}`), join(tree, 'boot', `vmlinux-${release}`));
    const meta = { release, packageName: pkg, packageVersion: version, pvh };
    await writeFile(join(tree, META), `${JSON.stringify(meta, null, 2)}\n`);
    await rm(root, { recursive: true, force: true });
    await rename(tree, root);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const k = await readKernel(root);
  if (!k) throw new LvsError('LVS_LAB_NO_KERNEL', `${pkg} was unpacked into ${root} but has no kernel image`);
  return k;
}

/** The ELF note that marks a kernel QEMU can enter directly in 32-bit mode (XEN_ELFNOTE_PHYS32_ENTRY). */
const PVH_NOTE = 18;

/** True when `file` is an x86-64 ELF whose notes include the PVH entry (a plain scan of its PT_NOTE segments). */
function hasPvhEntry(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(32));
  const phentsize = elf.readUInt16LE(54);
  const phnum = elf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length || elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    let at = Number(elf.readBigUInt64LE(ph + 8));
    const end = at + Number(elf.readBigUInt64LE(ph + 32));
    while (at + 12 <= end && end <= elf.length) {
      const namesz = elf.readUInt32LE(at);
      const descsz = elf.readUInt32LE(at + 4);
      const type = elf.readUInt32LE(at + 8);
      const name = elf.subarray(at + 12, at + 12 + namesz).toString('latin1');
      if (type === PVH_NOTE && name.startsWith('Xen')) return true;
      at += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/**
 * Takes the uncompressed kernel out of Debian's `vmlinuz` (an xz stream after the boot stub) with `xz`, and keeps it
 * when it has a PVH entry; returns whether it did.
 */
async function extractVmlinux(vmlinuz: string, out: string): Promise<boolean> {
  const image = await readFile(vmlinuz);
  const at = image.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) return false;
  const r = await execa('xz', ['-dc', '--single-stream'], {
    input: image.subarray(at),
    encoding: 'buffer',
    reject: false,
    maxBuffer: 512 * 1024 * 1024,
  });
  const elf = Buffer.from(r.stdout as Uint8Array);
  if (r.exitCode !== 0 || !hasPvhEntry(elf)) return false;
  await writeFile(out, elf);
  return true;
}

/** The module files (absolute paths, in load order) that the initramfs needs, from `modprobe --show-depends`. */
async function initramfsModuleFiles(k: LabKernel): Promise<string[]> {
  const r = await execa('modprobe', ['-d', k.root, '-S', k.release, '-a', '--show-depends', ...INITRAMFS_MODULES]);
  const files: string[] = [];
  for (const line of String(r.stdout).split('\n')) {
    const m = /^insmod (\S+\.ko(?:\.xz|\.zst|\.gz)?)/.exec(line.trim());
    if (m && !files.includes(m[1]!)) files.push(m[1]!);
  }
  if (files.length === 0) throw new LvsError('LVS_LAB_NO_KERNEL', `no initramfs modules found in ${k.moduleDir}`);
  return files;
}

/**
 * The initramfs (uncompressed newc cpio, so the guest spends no time unpacking): static busybox, `/init`
 * (lab/guest/initramfs-init.sh) and the modules that mount the root. Built once per kernel and init script, then
 * reused from the cache.
 */
export async function ensureInitramfs(k: LabKernel): Promise<string> {
  const init = await readFile(join(GUEST_FILES, 'initramfs-init.sh'));
  const busybox = await stat('/bin/busybox');
  const key = createHash('sha256').update(init).update(`${k.release}\0${k.packageVersion}\0${busybox.size}\0${busybox.mtimeMs}`).digest('hex').slice(0, 16);
  const out = join(k.root, `initramfs-${key}.cpio`);
  if (await exists(out)) return out;

  const tree = join(k.root, `.initramfs-${process.pid}`);
  await rm(tree, { recursive: true, force: true });
  try {
    for (const d of ['bin', 'dev', 'proc', 'sys', 'mnt', 'lower', 'newroot', 'modules']) {
      await mkdir(join(tree, d), { recursive: true });
    }
    await copyFile('/bin/busybox', join(tree, 'bin', 'busybox'));
    await writeFile(join(tree, 'init'), init, { mode: 0o755 });
    const files = await initramfsModuleFiles(k);
    const order: string[] = [];
    for (const [i, f] of files.entries()) {
      const name = `${String(i).padStart(2, '0')}-${f.slice(f.lastIndexOf('/') + 1)}`;
      await copyFile(f, join(tree, 'modules', name));
      order.push(name);
    }
    await writeFile(join(tree, 'modules', 'order'), `${order.join('\n')}\n`);
    const list = await execa('find', ['.', '-mindepth', '1'], { cwd: tree });
    const tmp = `${out}.${process.pid}.tmp`;
    await execa('busybox', ['cpio', '-o', '-H', 'newc'], {
      cwd: tree,
      input: `${String(list.stdout)}\n`,
      stdout: { file: tmp },
      stderr: 'ignore',
    });
    await rename(tmp, out);
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
  return out;
}
