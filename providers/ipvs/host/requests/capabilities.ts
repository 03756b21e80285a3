/**
 * `capabilities`: what the director can do, read before any change: the kernel release, `ipvsadm -h` (what the
 * installed ipvsadm accepts, when asked) and the state of the given modules. The gates are judged above the seam
 * (`missingCapabilities`).
 */
import { LvsError } from '../../model/errors.ts';
import { type Capabilities, MODULE_NAME, type ModuleState, parseIpvsadmHelp } from '../capabilities.ts';
import { section, splitSections, type Sections } from '../sections.ts';
import { shQuote } from '../shell-quote.ts';
import type { RequestKind } from './kind.ts';

export interface CapabilitiesRequest {
  readonly kind: 'capabilities';
  /** Modules to report on (names checked against `MODULE_NAME`; others are left out). */
  readonly modules: readonly string[];
  /** Also read `ipvsadm -h`. */
  readonly help: boolean;
}

export type CapabilitiesReply = { readonly kind: 'capabilities' } & Capabilities;

/**
 * One line of `sh` that prints `module_<m>=loaded|builtin|available|unreadable|disabled|missing` for a module whose
 * name has been checked against /^ip_vs(_[a-z0-9_]+)?$/. Expects `$lvs_mods` (the running kernel's module directory).
 * `modprobe -n` succeeds from modules.dep alone, even when the .ko file is gone or empty (measured on 6.1 with kmod
 * 30): so the dry run's `insmod PATH` lines are checked for a non-empty file, and an `install /bin/false` rule (a
 * module disabled in /etc/modprobe.d) is reported as such.
 */
export function moduleProbe(m: string): string {
  return (
    `if [ -d /sys/module/${m} ]; then echo "module_${m}=loaded"; elif grep -qs "/${m}.ko" "$lvs_mods/modules.builtin"; then echo "module_${m}=builtin"; ` +
    `elif lvs_out=$(modprobe -n -v ${shQuote(m)} 2>/dev/null); then lvs_st=available; ` +
    `for lvs_ko in $(printf '%s\\n' "$lvs_out" | awk '$1 == "insmod" { print $2 }'); do [ -s "$lvs_ko" ] || lvs_st=unreadable; done; ` +
    `case "$lvs_out" in *"install /bin/false"*|*"install /bin/true"*|*"install /usr/bin/false"*|*"install /usr/bin/true"*) lvs_st=disabled ;; esac; ` +
    `echo "module_${m}=$lvs_st"; else echo "module_${m}=missing"; fi`
  );
}

const STATES = new Set<string>(['loaded', 'builtin', 'available', 'unreadable', 'disabled', 'missing']);

/** The modules' states from `moduleProbe` lines. */
export function parseModuleStates(text: string): Map<string, ModuleState> {
  const modules = new Map<string, ModuleState>();
  for (const line of text.split('\n')) {
    const m = /^module_(ip_vs[a-z0-9_]*)=([a-z]+)$/.exec(line.trim());
    if (m && STATES.has(m[2]!)) modules.set(m[1]!, m[2] as ModuleState);
  }
  return modules;
}

/**
 * The script. Module names are checked against a fixed pattern before they reach it. `help: false` skips
 * `ipvsadm -h` (see `needsIpvsadmHelp`).
 */
export function capabilityChunk(tag: string, modules: readonly string[], help = true): string {
  // The kernel release is read with the shell's own `read` (what `uname -r` prints, without starting a process).
  return [
    'lvs_rel=""; read -r lvs_rel < /proc/sys/kernel/osrelease 2>/dev/null || lvs_rel=$(uname -r)',
    section(tag, 'kernel'),
    'printf \'%s\\n\' "$lvs_rel"',
    section(tag, 'help'),
    help ? 'if command -v ipvsadm >/dev/null 2>&1; then ipvsadm -h 2>&1 9>&-; else echo "@@missing ipvsadm"; fi' : 'echo "@@skipped"',
    section(tag, 'modules'),
    'lvs_mods=/lib/modules/$lvs_rel',
    ...modules.filter((m) => MODULE_NAME.test(m)).map(moduleProbe),
    section(tag, 'end'),
  ].join('\n');
}

function fromSections(s: Sections, stdout: string, where: string): Capabilities {
  if (!s.has('end')) throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: the capability read ended early; the host printed: ${stdout.slice(-300)}`);
  const help = s.get('help') ?? '';
  const skipped = help.trim() === '@@skipped';
  return {
    kernel: (s.get('kernel') ?? '').trim(),
    ipvsadm: skipped || help.includes('@@missing ipvsadm') ? undefined : parseIpvsadmHelp(help),
    modules: parseModuleStates(s.get('modules') ?? ''),
  };
}

/** Parses what `capabilityChunk` printed under `tag`. */
export function parseCapabilities(tag: string, stdout: string, where: string): Capabilities {
  return fromSections(splitSections(tag, stdout), stdout, where);
}

export const capabilities: RequestKind<CapabilitiesRequest, CapabilitiesReply> = {
  script: (req, tag) => capabilityChunk(tag, req.modules, req.help),
  parse: (_req, sections, ctx) => ({ kind: 'capabilities', ...fromSections(sections, ctx.stdout, ctx.where) }),
};
