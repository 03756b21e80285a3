import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseAccel } from '../../../lab/accel.ts';
import { directorAddresses } from '../../../lab/addresses.ts';
import { bootFailureReason, kernelArgs, qemuArgs, vmMarker, type LabBoot } from '../../../lab/boot-director.ts';
import type { LabKernel } from '../../../lab/kernel.ts';
import { defaultInit, labPaths, type LabDirector } from '../../../lab/state.ts';

const scratch = mkdtempSync(join(tmpdir(), 'lvsform-qemu-boot-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const paths = labPaths('/tmp/lvsform-lab-unit');
const kernel: LabKernel = {
  release: '6.1.0-57-amd64',
  packageName: 'linux-image-6.1.0-57-amd64',
  packageVersion: '6.1.192-3',
  root: '/var/cache/lvsform-lab/linux-image-6.1.0-57-amd64',
  vmlinuz: '/var/cache/lvsform-lab/linux-image-6.1.0-57-amd64/boot/vmlinuz-6.1.0-57-amd64',
  image: '/var/cache/lvsform-lab/linux-image-6.1.0-57-amd64/boot/vmlinux-6.1.0-57-amd64',
  moduleDir: '/var/cache/lvsform-lab/linux-image-6.1.0-57-amd64/lib/modules/6.1.0-57-amd64',
};
const boot: LabBoot = { kernel, initramfs: `${kernel.root}/initramfs-0123456789abcdef.cpio`, accel: 'tcg' };

function director(overrides: Partial<LabDirector> = {}): LabDirector {
  return {
    ...directorAddresses(2),
    skipModules: [],
    ipForward: true,
    persistent: false,
    vmPid: null,
    controlMasterPid: null,
    controlPath: join(paths.controlSockets, 'lab-director-2'),
    consoleLog: join(scratch, 'director-2.console.log'),
    ...overrides,
  };
}

describe('the QEMU command line of a lab director', () => {
  it("shares this machine's root read-only and marks the process as this lab's", () => {
    // GIVEN director 2 of a lab WHEN its QEMU arguments are made
    const args = qemuArgs(paths, director(), 512, boot);
    // THEN the 9p root is read-only, the tap is the director's, the kernel is entered directly, and the marker is set
    expect(args).toContain('local,id=root,path=/,security_model=passthrough,readonly=on,multidevs=remap');
    expect(args).toContain('tap,id=n0,ifname=lvsftap2,script=no,downscript=no');
    expect(args[args.indexOf('-kernel') + 1]).toBe(kernel.image);
    expect(args[args.indexOf('-name') + 1]).toBe(vmMarker(paths));
    expect(args).toContain('tcg,thread=multi');
    expect(args).not.toContain('-drive');
  });

  it('gives a persistent director its disk as a virtio block device, and KVM its host CPU', () => {
    // GIVEN a persistent director under KVM WHEN its arguments are made
    const args = qemuArgs(paths, director({ persistent: true }), 512, { ...boot, accel: 'kvm' });
    // THEN the disk is /dev/vda in the guest and the kernel is told to mount it
    expect(args[args.indexOf('-drive') + 1]).toBe(`file=${paths.disks}/director-2.ext4,format=raw,if=virtio`);
    expect(args.join(' ')).toContain('-accel kvm -cpu host');
    expect(kernelArgs(paths, director({ persistent: true }), boot)).toContain('lvsform_persist=1');
  });

  it("boots a director with init 'systemd' into multi-user.target with systemd as PID 1, and the lab's init otherwise", () => {
    // GIVEN a persistent director booted by systemd, and one booted by the lab's init
    const systemd = kernelArgs(paths, director({ persistent: true, init: 'systemd' }), boot).split(' ');
    const own = kernelArgs(paths, director({ persistent: true, init: 'lab' }), boot).split(' ');
    // THEN only the first tells init.sh to hand over to systemd, and systemd which target to reach
    expect(systemd).toEqual(expect.arrayContaining(['lvsform_persist=1', 'lvsform_systemd=1', 'systemd.unit=multi-user.target']));
    expect(own.filter((a) => a.includes('systemd'))).toEqual([]);
    // AND a director that keeps a disk boots with systemd unless told otherwise
    expect([defaultInit(true), defaultInit(false), defaultInit(undefined)]).toEqual(['systemd', 'lab', 'lab']);
  });

  it('passes the hidden modules, forwarding and the module tree to the guest init', () => {
    // GIVEN a director without forwarding and with a hidden module WHEN its kernel arguments are made
    const line = kernelArgs(paths, director({ ipForward: false, skipModules: ['ip_vs_sh', 'ip_vs_mh'] }), boot);
    // THEN init finds everything it reads
    expect(line.split(' ')).toEqual(
      expect.arrayContaining([
        'console=ttyS0',
        'lvsform_index=2',
        `lvsform_dir=${paths.dir}`,
        `lvsform_moddir=${kernel.moduleDir}`,
        'lvsform_forward=0',
        'lvsform_skip=ip_vs_sh,ip_vs_mh',
      ]),
    );
  });
});

describe('why a director did not boot', () => {
  it("names QEMU's own error first, skipping its warnings", async () => {
    // GIVEN QEMU's standard error with a warning and then the error that stopped it
    const d = director({ consoleLog: join(scratch, 'a.console.log') });
    writeFileSync(
      join(scratch, 'a.console.stderr.log'),
      "WARNING: Image format was not specified for 'x'\nqemu-system-x86_64: -netdev tap,id=n0: could not configure /dev/net/tun (lvsftap2): Operation not permitted\n",
    );
    // WHEN the reason is looked for THEN it is QEMU's error line
    expect(await bootFailureReason(d, '')).toBe('QEMU: -netdev tap,id=n0: could not configure /dev/net/tun (lvsftap2): Operation not permitted');
  });

  it("names the init's complaint, else the kernel's panic", async () => {
    // GIVEN no QEMU error, and a console with the init's complaint or a panic
    const d = director({ consoleLog: join(scratch, 'b.console.log') });
    // WHEN the reason is looked for THEN it is the complaint, or the panic line
    expect(await bootFailureReason(d, "lvsform-init: the host's root (9p tag hostroot) did not mount\n")).toBe(
      "the host's root (9p tag hostroot) did not mount",
    );
    expect(await bootFailureReason(d, '[ 1.2] Kernel panic - not syncing: VFS: Unable to mount root fs\n')).toContain('Kernel panic');
    expect(await bootFailureReason(d, '')).toBe('the virtual machine exited before printing anything');
  });
});

describe('the accelerator', () => {
  it('takes --accel as given and refuses anything but kvm or tcg, before any probe', async () => {
    // GIVEN an accelerator asked for WHEN it is chosen THEN the option wins, and a wrong one is refused
    await expect(chooseAccel(kernel, boot.initramfs, { accel: 'tcg' })).resolves.toEqual({ accel: 'tcg', source: 'option' });
    await expect(chooseAccel(kernel, boot.initramfs, { accel: 'hvf' })).rejects.toMatchObject({ code: 'LVS_LAB_BAD_OPTIONS' });
  });

  it('takes LVSFORM_LAB_ACCEL when no option is given', async () => {
    // GIVEN the environment variable WHEN the accelerator is chosen THEN it is used as is
    const before = process.env['LVSFORM_LAB_ACCEL'];
    process.env['LVSFORM_LAB_ACCEL'] = 'kvm';
    try {
      await expect(chooseAccel(kernel, boot.initramfs)).resolves.toEqual({ accel: 'kvm', source: 'environment' });
    } finally {
      if (before === undefined) delete process.env['LVSFORM_LAB_ACCEL'];
      else process.env['LVSFORM_LAB_ACCEL'] = before;
    }
  });
});
