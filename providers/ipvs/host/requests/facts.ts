/**
 * `facts`: what host set-up is planned from (plan/host-setup.ts): os-release, commands, loaded modules, the sysctls and
 * files asked for. Changes nothing.
 */
import { LvsError } from '../../model/errors.ts';
import { hostLabel } from '../../model/host-target.ts';
import { RHEL_SERVICE, type HostFacts } from '../../model/host-setup.ts';
import { section, splitSections, type Sections } from '../sections.ts';
import { shQuote } from '../shell-quote.ts';
import type { RequestKind } from './kind.ts';
import { moduleName, procPath } from './setup-names.ts';

/** What to read (`factsQuery`). */
export interface FactsQuery {
  readonly modules: readonly string[];
  readonly files: readonly string[];
  readonly sysctls: readonly string[];
}

export interface FactsRequest {
  readonly kind: 'facts';
  /** The stack whose files are read (the read-only script reads them by stack). */
  readonly stack: string;
  readonly query: FactsQuery;
}

export type FactsReply = { readonly kind: 'facts' } & HostFacts;

/** Reads what `planHostSetup` needs: os-release, commands, modules, files and sysctls. Changes nothing. */
export function factsChunk(tag: string, query: FactsQuery): string {
  const lines = [
    section(tag, 'os-release'),
    // The shell's own read: a `cat` is a process (≈ 0.06 s under emulation) for a dozen lines.
    'if [ -r /etc/os-release ]; then while IFS= read -r lvs_l || [ -n "$lvs_l" ]; do printf \'%s\\n\' "$lvs_l"; done < /etc/os-release; fi',
    section(tag, 'commands'),
    'for lvs_c in apt-get dnf yum systemctl ipvsadm keepalived; do command -v "$lvs_c" >/dev/null 2>&1 && echo "$lvs_c"; done',
    section(tag, 'modules'),
  ];
  for (const m of query.modules) lines.push(`[ -d /sys/module/${shQuote(moduleName(m))} ] && echo ${shQuote(m)}`);
  lines.push(section(tag, 'sysctls'));
  for (const k of query.sysctls) {
    lines.push(`if [ -r ${shQuote(procPath(k))} ]; then read -r lvs_v < ${shQuote(procPath(k))}; printf '%s=%s\\n' ${shQuote(k)} "$lvs_v"; fi`);
  }
  lines.push(
    section(tag, 'service'),
    // Only a RHEL-like host restores the table through this unit (plan/host-setup.ts): a Debian-like one (its
    // /etc/debian_version) is not asked, since `systemctl is-enabled` costs ≈ 0.5 s under emulation.
    `if [ ! -f /etc/debian_version ] && command -v systemctl >/dev/null 2>&1; then systemctl is-enabled ${RHEL_SERVICE} 2>/dev/null || true; else echo '@@none'; fi`,
  );
  query.files.forEach((f, i) => {
    lines.push(section(tag, `file ${i}`), `if [ -f ${shQuote(f)} ]; then echo '@@present'; cat ${shQuote(f)}; printf '\\n@@eof\\n'; else echo '@@absent'; fi`);
  });
  lines.push(section(tag, 'end'), 'true');
  return lines.join('\n');
}

function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/** Parses the output of `factsChunk` for the same query. */
export function parseHostFacts(tag: string, stdout: string, query: Pick<FactsQuery, 'files'>, where: string): HostFacts {
  return fromSections(splitSections(tag, stdout), stdout, query, `director ${where}`);
}

/** `label`: the host as messages name it (`director lb1 (…)`, `real server web1 (…)`). */
function fromSections(s: Sections, stdout: string, query: Pick<FactsQuery, 'files'>, label: string): HostFacts {
  if (!s.has('end')) throw new LvsError('LVS_HOST_OUTPUT', `${label}: reading the host set-up ended early: ${stdout.slice(-300)}`);
  const words = (name: string) =>
    (s.get(name) ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  const files: Record<string, string | null> = {};
  query.files.forEach((f, i) => {
    const text = s.get(`file ${i}`) ?? '@@absent';
    // `@@present\n` + the exact content + `\n@@eof`: a file without a final newline cannot swallow the next marker.
    files[f] = text.startsWith('@@present\n') && text.endsWith('\n@@eof') ? text.slice('@@present\n'.length, -'\n@@eof'.length) : null;
  });
  const sysctls: Record<string, string | null> = {};
  for (const line of words('sysctls')) {
    const at = line.indexOf('=');
    if (at > 0) sysctls[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  const service = words('service')[0];
  return {
    osRelease: parseOsRelease(s.get('os-release') ?? ''),
    commands: words('commands'),
    loadedModules: words('modules'),
    files,
    sysctls,
    rhelServiceEnabled: service === undefined || service === '@@none' ? null : service,
  };
}

export const facts: RequestKind<FactsRequest, FactsReply> = {
  script: (req, tag) => factsChunk(tag, req.query),
  parse: (req, sections, ctx) => ({ kind: 'facts', ...fromSections(sections, ctx.stdout, req.query, hostLabel(ctx.target)) }),
};
