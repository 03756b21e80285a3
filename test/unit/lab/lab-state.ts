/** A lab's state for the lab's unit tests: what `labUp` would write, for the VMs given, without booting anything. */
import type { LabBoot } from '../../../lab/boot-director.ts';
import type { LabState, LabVm, labPaths } from '../../../lab/state.ts';

export const UNIT_BOOT: LabBoot = {
  kernel: { release: '6.1.0-57-amd64', packageName: 'linux-image-6.1.0-57-amd64', packageVersion: '6.1.192-3', image: '/k/vmlinux', moduleDir: '/k/modules' },
  initramfs: '/k/initramfs.cpio',
  accel: 'tcg',
};

export function labStateOf(
  paths: ReturnType<typeof labPaths>,
  directors: LabVm[],
  cluster?: LabState['cluster'],
  createdAt = '2026-12-02T00:00:00.000Z',
): LabState {
  return {
    version: 1,
    dir: paths.dir,
    status: 'up',
    createdAt,
    bootMs: 1,
    sshConfig: paths.sshConfig,
    knownHosts: paths.knownHosts,
    identityFile: paths.identityFile,
    logDir: paths.logs,
    boot: UNIT_BOOT,
    directors,
    ...(cluster ? { cluster } : {}),
  };
}
