/**
 * `setup`: carries out host set-up items (all but `rules`, the table saved after the batch), each step reporting
 * `@@setup ok|fail`; a failed step does not stop the others. Whether the set-up failed is decided above the seam.
 */
import { LvsError } from '../../model/errors.ts';
import type { SetupItem } from '../../model/host-setup.ts';
import { section, splitSections } from '../sections.ts';
import { writeFileCommand } from '../host-script.ts';
import { shQuote } from '../shell-quote.ts';
import { endedEarly, type RequestKind } from './kind.ts';
import { moduleName, procPath } from './setup-names.ts';

export interface SetupRequest {
  readonly kind: 'setup';
  readonly items: readonly SetupItem[];
}

export interface SetupReply {
  readonly kind: 'setup';
  /** The steps that failed: `<kind> <name> <status>`. */
  readonly failed: readonly string[];
  /** What the steps printed. */
  readonly log: string;
}

/** The umask that creates a file with `mode` (0644 or 0600: read/write bits only), else undefined (a chmod is needed). */
function creatingUmask(mode: string): string | undefined {
  const m = mode.replace(/^0(?=[0-7]{3}$)/, '');
  return m === '644' ? '022' : m === '600' ? '077' : undefined;
}

/**
 * Writes a file atomically (temporary file in the same directory, then rename) with the given mode. Under emulation
 * every process costs 0.05–0.2 s, so the common case starts one (`mv`): the directory is tested by the shell, the
 * text written by its printf (`writeFileCommand`), and a mode of 0644 or 0600 given by the umask at creation (a
 * temporary file left by an interrupted run is removed first, since `>` would keep its mode). Other modes (0755,
 * 0440) and a file visudo checks take a `chmod`.
 */
function writeFileLines(path: string, content: string, mode: string, validate?: 'visudo'): string[] {
  if (!/^[0-7]{3,4}$/.test(mode)) throw new LvsError('LVS_UNSAFE_VALUE', `not a file mode: ${JSON.stringify(mode)}`);
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  const tmp = shQuote(`${dir}/.${path.slice(dir.length + 1)}.lvsform-tmp`);
  const umask = validate ? undefined : creatingUmask(mode);
  // A missing directory is made root-owned and world-readable (umask 022 for mkdir only: the session's 077 would
  // leave a directory such as /usr/local/libexec closed to everyone but root).
  // One && chain: a failed step (a sudoers file visudo refuses) leaves the old file as it was.
  return [
    `{ [ -d ${shQuote(dir)} ] || (umask 022 && mkdir -p ${shQuote(dir)}); } && { [ ! -e ${tmp} ] || rm -f ${tmp}; }`,
    `[ $? = 0 ] && umask ${umask ?? '077'} && ${writeFileCommand(tmp, content, false)}`,
    `lvs_w=$?; umask 077; [ "$lvs_w" = 0 ]${umask ? '' : ` && chmod ${mode} ${tmp}`}${validate === 'visudo' ? ` && { visudo -cqf ${tmp} || { rm -f ${tmp}; false; }; }` : ''} && mv -f ${tmp} ${shQuote(path)}`,
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
      const pkg = it.name === 'keepalived' ? 'keepalived' : 'ipvsadm';
      const cmd =
        it.via === 'apt-get'
          ? `DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${pkg}`
          : it.via === 'dnf'
            ? `dnf install -y -q ${pkg}`
            : `yum install -y -q ${pkg}`;
      lines.push(step(name, [`${cmd} </dev/null 2>&1 | tail -n 5`, `command -v ${pkg} >/dev/null 2>&1`]));
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
      // systemctl enable and disable work on the unit files whether or not systemd runs (a chroot, an image). They
      // are for the next boot, so the manager is not reloaded (`--no-reload`): the reload is most of their cost (≈ 2 s of
      // a ≈ 2.4 s enable under emulation) and changes nothing at boot, where systemd reads the links afresh.
      lines.push(step(name, [`systemctl --no-reload ${it.action === 'delete' ? 'disable' : 'enable'} ${shQuote(it.name)} 2>&1`]));
    }
  }
  lines.push(section(tag, 'end'), 'true');
  return lines.join('\n');
}

/** The failed steps of a `setupChunk` output: `[name, status]`. */
export function setupFailures(tag: string, stdout: string): { failed: string[]; log: string } {
  return failuresOf(splitSections(tag, stdout).get('setup') ?? '');
}

function failuresOf(log: string): { failed: string[]; log: string } {
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

export const setup: RequestKind<SetupRequest, SetupReply> = {
  script: (req, tag) => setupChunk(tag, req.items),
  parse: (_req, sections, ctx) => {
    if (!sections.has('end')) throw endedEarly(ctx, 'the host set-up');
    return { kind: 'setup', ...failuresOf(sections.get('setup') ?? '') };
  },
};
