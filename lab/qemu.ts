import { execa } from 'execa';

/** The emulator every lab director runs in (Debian's qemu-system-x86). */
export const QEMU = '/usr/bin/qemu-system-x86_64';

let version: Promise<string> | undefined;

/** `qemu-system-x86_64 --version`'s first line, e.g. "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)". */
export function qemuVersion(): Promise<string> {
  version ??= execa(QEMU, ['--version'], { reject: false }).then((r) => String(r.stdout).split('\n')[0] ?? 'unknown');
  return version;
}
