/**
 * The host side of host set-up (plan/host-setup.ts plans it): the chunks that read the facts, carry out the items and
 * save the table for the next boot, their parsers, and the calls that run them in a director's session.
 */
import { LvsError } from '../model/errors.ts';
import type { Table } from '../model/model.ts';
import { factsQuery } from '../plan/host-setup.ts';
import { DEBIAN_LAYOUT, RHEL_LAYOUT, RHEL_SERVICE, type HostFacts, type SetupItem } from '../model/host-setup.ts';
import { sectionLine, splitSections } from './host-script.ts';
import { describeTarget } from '../model/host-target.ts';
import { newTag } from './read-live.ts';
import { hereDoc, shQuote } from './shell-quote.ts';
import type { HostSession } from './transport.ts';

// ---- the chunks ---------------------------------------------------------------------------------------------------

function section(tag: string, name: string): string {
  return `printf '%s\\n' ${shQuote(sectionLine(tag, name))}`;
}

const MODULE_RE = /^[a-z0-9_]{1,56}$/;
const SYSCTL_RE = /^net\.[a-z0-9_.]{1,120}$/;

function procPath(key: string): string {
  if (!SYSCTL_RE.test(key)) throw new LvsError('LVS_UNSAFE_VALUE', `not a sysctl lvsform sets: ${JSON.stringify(key)}`);
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

function moduleName(m: string): string {
  if (!MODULE_RE.test(m)) throw new LvsError('LVS_UNSAFE_VALUE', `not a kernel module name: ${JSON.stringify(m)}`);
  return m;
}

/** Reads what `planHostSetup` needs: os-release, commands, modules, files and sysctls. Changes nothing. */
export function factsChunk(tag: string, query: { modules: readonly string[]; files: readonly string[]; sysctls: readonly string[] }): string {
  const lines = [
    section(tag, 'os-release'),
    'cat /etc/os-release 2>/dev/null',
    section(tag, 'commands'),
    'for lvs_c in apt-get dnf yum systemctl ipvsadm; do command -v "$lvs_c" >/dev/null 2>&1 && echo "$lvs_c"; done',
    section(tag, 'modules'),
  ];
  for (const m of query.modules) lines.push(`[ -d /sys/module/${shQuote(moduleName(m))} ] && echo ${shQuote(m)}`);
  lines.push(section(tag, 'sysctls'));
  for (const k of query.sysctls) {
    lines.push(`if [ -r ${shQuote(procPath(k))} ]; then printf '%s=%s\\n' ${shQuote(k)} "$(cat ${shQuote(procPath(k))})"; fi`);
  }
  lines.push(
    section(tag, 'service'),
    `if command -v systemctl >/dev/null 2>&1; then systemctl is-enabled ${RHEL_SERVICE} 2>/dev/null || true; else echo '@@none'; fi`,
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
export function parseHostFacts(tag: string, stdout: string, query: { files: readonly string[] }, where: string): HostFacts {
  const s = splitSections(tag, stdout);
  if (!s.has('end')) throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: reading the host set-up ended early: ${stdout.slice(-300)}`);
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

/** Writes a file atomically (temporary file in the same directory, then rename) with the given mode. */
function writeFileLines(path: string, content: string, mode: string, validate?: 'visudo'): string[] {
  if (!/^[0-7]{3,4}$/.test(mode)) throw new LvsError('LVS_UNSAFE_VALUE', `not a file mode: ${JSON.stringify(mode)}`);
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  const tmp = `${dir}/.${path.slice(dir.length + 1)}.lvsform-tmp`;
  // A missing directory is made root-owned and world-readable (umask 022 for mkdir only: the session's 077 would
  // leave a directory such as /usr/local/libexec closed to everyone but root).
  // One && chain: a failed step (a sudoers file visudo refuses) leaves the old file as it was.
  return [
    `(umask 022 && mkdir -p ${shQuote(dir)}) && cat > ${shQuote(tmp)} ${hereDoc(content)}`,
    `[ $? = 0 ] && chmod ${mode} ${shQuote(tmp)}${validate === 'visudo' ? ` && { visudo -cqf ${shQuote(tmp)} || { rm -f ${shQuote(tmp)}; false; }; }` : ''} && mv -f ${shQuote(tmp)} ${shQuote(path)}`,
  ];
}

function step(name: string, body: string[]): string {
  // Each step reports `@@setup ok|fail <name> <status>`; a failed step does not stop the others.
  return [
    `{`,
    ...body.map((l) => `  ${l}`),
    `} 2>&1 9>&-; lvs_rc=$?`,
    `if [ "$lvs_rc" = 0 ]; then printf '@@setup ok %s\\n' ${shQuote(name)}; else printf '@@setup fail %s %s\\n' ${shQuote(name)} "$lvs_rc"; fi`,
  ].join('\n');
}

/** Carries out every item but `rules` (the table is saved after the batch). Prints its log in section `setup`. */
export function setupChunk(tag: string, items: readonly SetupItem[]): string {
  const lines = [section(tag, 'setup')];
  for (const it of items) {
    const name = `${it.kind} ${it.name}`;
    if (it.kind === 'package') {
      const cmd =
        it.via === 'apt-get'
          ? 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q ipvsadm'
          : it.via === 'dnf'
            ? 'dnf install -y -q ipvsadm'
            : 'yum install -y -q ipvsadm';
      lines.push(step(name, [`${cmd} </dev/null 2>&1 | tail -n 5`, 'command -v ipvsadm >/dev/null 2>&1']));
    } else if (it.kind === 'module') {
      lines.push(step(name, [`modprobe ${shQuote(moduleName(it.name))} 2>&1`]));
    } else if (it.kind === 'sysctl') {
      lines.push(step(name, [`printf '%s\\n' ${shQuote(it.after ?? '1')} > ${shQuote(procPath(it.name))}`]));
    } else if (it.kind === 'file') {
      lines.push(step(name, it.action === 'delete' ? [`rm -f ${shQuote(it.name)}`] : writeFileLines(it.name, it.after ?? '', it.mode ?? '644', it.validate)));
    } else if (it.kind === 'boot-service' && it.via === 'debian') {
      const f = shQuote(it.name);
      const tmp = shQuote(`${it.name}.lvsform-tmp`);
      lines.push(
        step(name, [
          `if [ -f ${f} ] && grep -q '^[[:space:]]*AUTO=' ${f}; then`,
          `  sed 's/^[[:space:]]*AUTO=.*/AUTO="true"/' ${f} > ${tmp} && chmod 644 ${tmp} && mv -f ${tmp} ${f}`,
          `else`,
          `  mkdir -p /etc/default && printf '%s\\n' 'AUTO="true"' >> ${f}`,
          `fi`,
        ]),
      );
    } else if (it.kind === 'boot-service') {
      // systemctl enable and disable work on the unit files whether or not systemd runs (a chroot, an image).
      lines.push(step(name, [`systemctl ${it.action === 'delete' ? 'disable' : 'enable'} ${shQuote(it.name)} 2>&1`]));
    }
  }
  lines.push(section(tag, 'end'), 'true');
  return lines.join('\n');
}

/**
 * Saves the whole table (`ipvsadm -S -n`, from this session, after the verified batch) to the distribution's rules
 * file atomically, mode 0600. Prints `@@rules written`, `@@rules unchanged` or `@@rules fail <status>`.
 */
export function saveRulesChunk(item: SetupItem): string {
  const layout = item.via === 'rhel' ? RHEL_LAYOUT : DEBIAN_LAYOUT;
  const path = item.name;
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  const tmp = shQuote(`${dir}/.${path.slice(dir.length + 1)}.lvsform-tmp`);
  const file = shQuote(path);
  return [
    `mkdir -p ${shQuote(dir)}`,
    `if { printf '%s\\n' ${shQuote(layout.header)}; ipvsadm -S -n; } > ${tmp} 2>/dev/null 9>&-; then`,
    `  if cmp -s ${tmp} ${file}; then rm -f ${tmp}; echo '@@rules unchanged'`,
    `  elif chmod 600 ${tmp} && mv -f ${tmp} ${file}; then echo '@@rules written'`,
    `  else echo '@@rules fail move'; fi`,
    `else lvs_rc=$?; rm -f ${tmp}; echo "@@rules fail $lvs_rc"; fi`,
  ].join('\n');
}

/** The failed steps of a `setupChunk` output: `[name, status]`. */
export function setupFailures(tag: string, stdout: string): { failed: string[]; log: string } {
  const log = splitSections(tag, stdout).get('setup') ?? '';
  const failed = log
    .split('\n')
    .filter((l) => l.startsWith('@@setup fail '))
    .map((l) => l.slice('@@setup fail '.length));
  return {
    failed,
    log: log
      .split('\n')
      .filter((l) => !l.startsWith('@@setup '))
      .join('\n')
      .trim(),
  };
}

// ---- in a session (the director's lock held) ------------------------------------------------------------------

/** Reads the facts for `planHostSetup` over an open session. */
export async function readHostFacts(session: HostSession, stack: string, desired: Table, settings = false): Promise<HostFacts> {
  const tag = newTag();
  const query = factsQuery(stack, desired, session.target.ssh?.planUser, settings);
  const res = await session.run(factsChunk(tag, query));
  return parseHostFacts(tag, res.stdout, query, describeTarget(session.target));
}

/**
 * Carries out the set-up items that come before the batch (all but the saved table).
 * @throws LvsError `LVS_SETUP_FAILED` naming the steps that failed and what the host said.
 */
export async function runHostSetup(session: HostSession, items: readonly SetupItem[]): Promise<void> {
  const before = items.filter((i) => i.kind !== 'rules');
  if (before.length === 0) return;
  const tag = newTag();
  const res = await session.run(setupChunk(tag, before));
  const { failed, log } = setupFailures(tag, res.stdout);
  if (!splitSections(tag, res.stdout).has('end')) {
    throw new LvsError('LVS_HOST_OUTPUT', `director ${describeTarget(session.target)}: the host set-up ended early: ${res.stdout.slice(-300)}`);
  }
  if (failed.length > 0) {
    throw new LvsError(
      'LVS_SETUP_FAILED',
      `director ${describeTarget(session.target)}: host set-up failed: ${failed.join('; ')}${log ? `; the host said: ${log.split('\n').slice(-5).join(' | ')}` : ''}`,
      {
        hint: 'The IPVS table was not changed. Fix the cause on the director (or turn that part of the Director `setup` off) and apply again.',
      },
    );
  }
}

/**
 * Saves the whole table where the distribution restores it at boot, when the plan says the file is out of date.
 * @throws LvsError `LVS_SETUP_FAILED` when the file could not be written.
 */
export async function saveRulesAfterApply(session: HostSession, items: readonly SetupItem[]): Promise<'written' | 'unchanged' | 'none'> {
  const item = items.find((i) => i.kind === 'rules');
  if (!item) return 'none';
  const res = await session.run(saveRulesChunk(item));
  const out = res.stdout.trim().split('\n').pop() ?? '';
  if (out === '@@rules written') return 'written';
  if (out === '@@rules unchanged') return 'unchanged';
  throw new LvsError(
    'LVS_SETUP_FAILED',
    `director ${describeTarget(session.target)}: could not save the table to ${item.name}: ${out || res.stdout.slice(-200)}`,
    {
      hint: 'The table was applied and verified, but a reboot would not restore it. Check that the directory is writable and apply again.',
    },
  );
}
