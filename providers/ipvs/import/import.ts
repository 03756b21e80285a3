/**
 * `lvsform import`: read an existing IPVS configuration from somewhere (an ipvsadm-save file, a keepalived.conf) into
 * the canonical table, then write it as an lvsform app. `importTable` is the one place that knows the sources, so a
 * new one (a live director over a transport, adoption) is one more case here and one more option in the CLI.
 */
import { SAFE_NAME } from '../model/limits.ts';
import { createReadStream, fstatSync, readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type InputFile, fileIdentity } from '../read/local-writes.ts';
import { LvsError, isLvsError } from '../model/errors.ts';
import { type GeneratedDirector, generateApp, generatedServiceIds } from './generate-app.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import { lockRequest } from '../host/requests/index.ts';
import { serviceId, type Table } from '../model/model.ts';
import { nameProblem, serviceProblems, sshProblems } from '../model/rules.ts';
import { MAX_KEEPALIVED_BYTES, parseKeepalived } from '../read/parse-keepalived.ts';
import type { ImportedPair } from '../read/keepalived/vrrp.ts';
import { fileIncludeReader } from '../read/keepalived/lines.ts';
import { parseSave } from '../read/parse-save.ts';
import { serviceHash, type LiveState } from '../model/live-state.ts';
import { RECORD_FORMAT, type OwnershipRecord } from '../model/record.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import { ownedElsewhereError } from '../plan/plan.ts';
import { IMPORT_SETTINGS_QUERY, type ImportedSettings, importedSettings } from './import-settings.ts';
import { type ImportedRealServer, importRealServer } from './import-real-server.ts';

/** Where the table comes from. */
export type ImportSource =
  | { readonly kind: 'save'; readonly file: string }
  /** `configId`: keepalived's config id (`-i`), which selects the configuration's `@ID` lines. */
  | { readonly kind: 'keepalived'; readonly file: string; readonly configId?: string }
  /** The live table of a director, read over the same session and request an apply uses (`read-table`). */
  | { readonly kind: 'director'; readonly target: HostTarget }
  /** What a real server holds, read as a plan reads it (`real-server-read`): a RealServerHost (import-real-server.ts). */
  | { readonly kind: 'real-server'; readonly target: HostTarget };

/** The sources that hold a table. */
export type TableSource = Exclude<ImportSource, { readonly kind: 'real-server' }>;

export interface ImportedTable {
  readonly table: Table;
  /** A live director's settings (`vips`, `timeouts`, `sysctls`) for the generated Director. */
  readonly settings?: ImportedSettings;
  /** What the source holds that the table does not (each `file:line: ...`). */
  readonly warnings: string[];
  /** The source in words, for the header of the generated app. */
  readonly description: string;
  /** `file:line` of the line that declares a service, where the source has lines. */
  readonly where?: (serviceId: string) => string | undefined;
  /** The director pair a keepalived configuration describes (its one `vrrp_instance`). */
  readonly pair?: ImportedPair;
  /** The local files read (the source and what it includes): an output must never replace one of them. */
  readonly inputs: readonly InputFile[];
}

/** Stack and director names: they name directories and files on each host (the construct library's rule). */
export { SAFE_NAME };

/** The file name that means standard input (`--save -`, `--keepalived -`). */
export const STDIN = '-';

/** The name a source's messages give it (`stdin:3: …` for standard input). */
function sourceName(file: string): string {
  return file === STDIN ? 'stdin' : file;
}

/** Which file standard input is, or undefined when it is closed. */
function stdinIdentity(): string | undefined {
  try {
    return fileIdentity(fstatSync(0, { bigint: true }));
  } catch {
    return undefined;
  }
}

/** A source read: its text, and whether it is a regular file with an x bit set (a pipe has no mode to check). */
interface SourceText {
  readonly text: string;
  readonly executable: boolean;
}

/**
 * Reads a source's text: a regular file, or a pipe (`-` for standard input, a FIFO, `<(ipvsadm -S -n)`), each up to
 * MAX_KEEPALIVED_BYTES; a directory, a device (/dev/zero) or a terminal is refused. Records which file it is in `inputs`
 * (so that --out can never replace it).
 */
async function readText(file: string, what: string, inputs: InputFile[]): Promise<SourceText> {
  const name = file === STDIN ? 'standard input' : file;
  const tooBig = (size: number | string) =>
    new LvsError('LVS_IMPORT_READ', `${name} is ${size} bytes; the import reads at most ${MAX_KEEPALIVED_BYTES}`, { hint: `Is this really a ${what} file?` });
  try {
    const info = file === STDIN ? fstatSync(0, { bigint: true }) : await stat(file, { bigint: true });
    const pipe = info.isFIFO() || info.isSocket();
    if (!info.isFile() && !pipe) {
      throw new LvsError('LVS_IMPORT_READ', `${name} is not a file or a pipe`, {
        hint: file === STDIN ? `Pipe the ${what} file in (… | lvsform import … -), or name it.` : `Pass the ${what} file itself, or pipe it in with -.`,
      });
    }
    if (info.isFile() && info.size > BigInt(MAX_KEEPALIVED_BYTES)) throw tooBig(info.size.toString());
    inputs.push({ path: name, id: fileIdentity(info) });
    // /dev/stdin (or /dev/fd/0) of a socket cannot be opened (ENXIO): standard input under any name is read as such.
    const ownStdin = file === STDIN || (pipe && fileIdentity(info) === stdinIdentity());
    let text = '';
    let bytes = 0;
    const decoder = new TextDecoder('utf-8');
    const stream = ownStdin ? process.stdin : createReadStream(file);
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > MAX_KEEPALIVED_BYTES) throw tooBig(`more than ${MAX_KEEPALIVED_BYTES}`);
        text += decoder.decode(chunk, { stream: true });
      }
    } finally {
      if (!ownStdin) (stream as ReturnType<typeof createReadStream>).destroy();
    }
    text += decoder.decode();
    // A byte-order mark (editors on Windows add one) would glue itself to the first keyword, unseen.
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, executable: info.isFile() && (info.mode & 0o111n) !== 0n };
  } catch (e) {
    if (e instanceof LvsError) throw e;
    throw new LvsError('LVS_IMPORT_READ', `cannot read ${name}: ${(e as Error).message}`, { cause: e, hint: `Check the path of the ${what} file.` });
  }
}

/** The most lines of what was skipped an LVS_IMPORT_EMPTY message repeats (the first ones say why, as a rule). */
const MAX_EMPTY_REASONS = 12;

/**
 * Refuses a file that yields nothing to import: an app with no service, written with exit 0, would hide a wrong file
 * (an nginx.conf, a keepalived.conf whose virtual servers keepalived would not read, an empty save). The warnings that
 * say why travel in the message, since nothing else is printed.
 */
function refuseEmpty(description: string, warnings: readonly string[], hint: string): never {
  const shown = warnings.slice(0, MAX_EMPTY_REASONS);
  const more = warnings.length > shown.length ? [`… and ${warnings.length - shown.length} more`] : [];
  const why = shown.length > 0 ? `; what was skipped:\n  ${[...shown, ...more].join('\n  ')}` : '';
  throw new LvsError('LVS_IMPORT_EMPTY', `${description} holds no service to import, so nothing was written${why}`, { hint });
}

/** Reads the source into the canonical table. */
export async function importTable(source: TableSource): Promise<ImportedTable> {
  switch (source.kind) {
    case 'director': {
      const host = openShDirectorHost(source.target);
      try {
        // The settings read after the table's (whose read loads ip_vs, and with it /proc/sys/net/ipv4/vs).
        const [{ live }, { settings }] = await host.exchange([
          { kind: 'read-table', stack: 'imported', thresholds: true, record: false },
          { kind: 'settings-read', query: IMPORT_SETTINGS_QUERY },
        ]);
        return {
          table: live.table,
          settings: importedSettings(settings, live.table),
          warnings: [],
          description: `the live table of director ${describeTarget(source.target)}`,
          inputs: [],
        };
      } finally {
        await host.close();
      }
    }
    case 'save': {
      const inputs: InputFile[] = [];
      const { text } = await readText(source.file, 'ipvsadm-save', inputs);
      const name = sourceName(source.file);
      const description = source.file === STDIN ? 'the ipvsadm-save text on standard input' : `the ipvsadm-save file ${name}`;
      const lines = new Map<string, number>();
      const table = parseSave(text, name, lines);
      if (table.services.length === 0) {
        refuseEmpty(
          description,
          [],
          'An empty table saves to an empty file: check that this is the saved table, or import the director itself with --director.',
        );
      }
      return {
        table,
        warnings: [],
        description,
        where: (id) => (lines.has(id) ? `${name}:${lines.get(id)}` : undefined),
        inputs,
      };
    }
    case 'keepalived': {
      const inputs: InputFile[] = [];
      const { text, executable } = await readText(source.file, 'keepalived.conf', inputs);
      const name = sourceName(source.file);
      const description = source.file === STDIN ? 'the keepalived configuration on standard input' : `the keepalived configuration ${name}`;
      const origins = new Map<string, string>();
      const readIncluded = (file: string): string => {
        const read = readFileSync(file, 'utf8');
        inputs.push({ path: file, id: fileIdentity(statSync(file, { bigint: true })) });
        return read;
      };
      // Includes stay files, relative to the main file's directory (the working directory for standard input).
      const { table, warnings, pair } = parseKeepalived(text, name, {
        include: fileIncludeReader(MAX_KEEPALIVED_BYTES, readIncluded),
        origins,
        ...(source.configId !== undefined ? { configId: source.configId } : {}),
      });
      if (table.services.length === 0 && !(pair && pair.addresses.length > 0)) {
        refuseEmpty(
          description,
          warnings,
          'Check that this is the configuration with the virtual_server blocks (`keepalived -t -f FILE` reads it as keepalived does), and the braces above them.',
        );
      }
      if (executable) {
        warnings.unshift(
          `${name}: keepalived reads no executable configuration file (an x bit is set) - imported all the same; chmod a-x it for keepalived to read it`,
        );
      }
      return {
        table,
        warnings,
        description,
        where: (id) => origins.get(id),
        inputs,
        ...(pair && (pair.addresses.length > 0 || table.services.length > 0) ? { pair } : {}),
      };
    }
  }
}

export interface ImportAppOptions {
  readonly stack: string;
  readonly director: GeneratedDirector;
  /** @default 'lvsform' */
  readonly importFrom?: string;
  /**
   * With a `director` source: record the imported services in the stack's ownership record on that director, under
   * its lock and in the same session as the read, so that a `plan` of the generated app shows no changes and owns them.
   * @default false (an import only reads)
   */
  readonly adopt?: boolean;
}

export interface ImportResult {
  readonly code: string;
  readonly warnings: string[];
  readonly table: Table;
  /** With `adopt`: the services now recorded as owned by the stack on the director. */
  readonly adopted?: readonly string[];
  /** With a `real-server` source: what was found and inferred. */
  readonly realServer?: ImportedRealServer;
  /** The local files read (the source and its includes), which an output must not replace. */
  readonly inputs?: readonly InputFile[];
}

/**
 * What the table holds but lvsform refuses to declare, one line per service (empty when the table can round-trip):
 * the rule set the constructs and the synthesized-JSON reader apply (model/rules.ts). The kernel accepts some of these
 * but they do nothing (an IPv4-mapped address never receives a packet; a persistence engine is consulted only by
 * persistent services); an import that let one through would write an app that does not synthesize.
 */
export function unsupportedServices(table: Table): string[] {
  const out: string[] = [];
  for (const s of table.services) {
    const why = [...new Set(serviceProblems(s).map((p) => p.message))];
    if (why.length > 0) out.push(`${serviceId(s.key)}: ${why.join('; ')}`);
  }
  return out;
}

/** What to do about services lvsform cannot declare, by where they were read. */
const UNSUPPORTED_HINT = {
  director: 'Nothing was written or recorded. Fix or delete these services on the director (they carry no traffic as they are), then import again.',
  file: 'Nothing was written. Fix or delete these services in the file, at the lines named, then import again.',
} as const;

function refuseUnsupported(table: Table, description: string, from: keyof typeof UNSUPPORTED_HINT, where?: (serviceId: string) => string | undefined): void {
  const bad = unsupportedServices(table).map((line) => {
    const id = line.slice(0, line.indexOf(': '));
    const at = where?.(id);
    return at ? `${at}: ${line}` : line;
  });
  if (bad.length === 0) return;
  throw new LvsError('LVS_IMPORT_UNSUPPORTED', `${description} has ${bad.length} service(s) lvsform cannot declare:\n  ${bad.join('\n  ')}`, {
    hint: UNSUPPORTED_HINT[from],
  });
}

/** The stack's record after adopting every service of the live table (services recorded before are kept). */
export function adoptedRecord(stack: string, director: string, live: LiveState): OwnershipRecord {
  const ids = generatedServiceIds(live.table);
  const services: OwnershipRecord['services'] = {};
  for (const [id, entry] of Object.entries(live.record?.services ?? {})) services[id] = entry;
  for (const s of live.table.services) {
    const id = serviceId(s.key);
    services[id] = { path: `${stack}/${director}/${ids.get(id)!}`, h: serviceHash(s) };
  }
  return { format: RECORD_FORMAT, stack, director, updated: new Date().toISOString(), services };
}

/** The Director to generate, with the settings read from it (when the source is a live director). */
function withSettings(director: GeneratedDirector, settings: ImportedSettings | undefined): GeneratedDirector {
  if (!settings || (!settings.vips && !settings.timeouts && !settings.sysctls)) return director;
  const { notes: _notes, ...props } = settings;
  return { ...director, settings: props };
}

/** Reads a director under its exclusive lock, generates the app and records ownership, in one session. */
async function importAndAdopt(target: HostTarget, opts: ImportAppOptions): Promise<ImportResult> {
  const where = describeTarget(target);
  const host = openShDirectorHost(target);
  try {
    try {
      await host.exchange([lockRequest('import --adopt', true)]);
    } catch (e) {
      if (!isLvsError(e) || !['LVS_LOCKED', 'LVS_NO_FLOCK', 'LVS_NOT_ROOT', 'LVS_HOST_OUTPUT'].includes(e.code)) throw e;
      throw new LvsError('LVS_LOCKED', `director ${where}: cannot take its lock to adopt the imported services (${e.message})`, {
        cause: e,
        hint: 'Nothing was recorded. Wait for the other run to finish and import again, or import without --adopt.',
      });
    }
    const [{ live }, { settings: liveSettings }] = await host.exchange(
      [
        { kind: 'read-table', stack: opts.stack, thresholds: true, record: true },
        { kind: 'settings-read', query: IMPORT_SETTINGS_QUERY },
      ],
      { underLock: true },
    );
    refuseUnsupported(live.table, `the live table of director ${where}`, 'director');
    // Ownership is exclusive: a service another stack's record claims is never adopted.
    const taken = Object.fromEntries(
      live.table.services.flatMap((s) => {
        const other = live.others?.get(serviceId(s.key));
        return other === undefined ? [] : [[serviceId(s.key), other] as const];
      }),
    );
    if (Object.keys(taken).length > 0) throw ownedElsewhereError(target, opts.stack, taken, true);
    // What another stack's record holds stays out: a setting has one owner.
    const settings = importedSettings(liveSettings, live.table, live.otherSettings);
    const code = generateApp(live.table, {
      stack: opts.stack,
      director: withSettings(opts.director, settings),
      source: `the live table of director ${where}`,
      notes: ['The services below were adopted: the ownership record of this stack on the director lists them.', ...settings.notes],
      ...(opts.importFrom !== undefined ? { importFrom: opts.importFrom } : {}),
    });
    const record = adoptedRecord(opts.stack, opts.director.name, live);
    const [written] = await host.exchange([{ kind: 'write-record', stack: opts.stack, record, gzip: false }], { underLock: true });
    if (!written.confirmed) {
      throw new LvsError('LVS_RECORD_WRITE', `director ${where}: could not write the ownership record of stack ${opts.stack}: ${written.said}`, {
        hint: 'Check that /var/lib/lvsform on the director is writable by the SSH user (root).',
      });
    }
    return { code, warnings: [], table: live.table, adopted: live.table.services.map((s) => serviceId(s.key)) };
  } finally {
    await host.close();
  }
}

/**
 * Refuses a stack name, director name or SSH target the generated app could not synthesize with (the rule set the
 * constructs apply), before anything is read or written.
 */
export function refuseBadDirector(opts: Pick<ImportAppOptions, 'stack' | 'director'>, kind: 'director' | 'real server' = 'director'): void {
  for (const [what, value] of [
    ['stack', opts.stack],
    [kind, opts.director.name],
  ] as const) {
    const bad = nameProblem(`the ${what}`, value);
    if (bad) {
      throw new LvsError('LVS_USAGE', bad, { hint: 'Letters, digits, "_", "." and "-", starting with a letter or digit (it names files on each host).' });
    }
  }
  const ssh = opts.director.ssh;
  const problem = ssh === undefined ? undefined : sshProblems(ssh)[0];
  if (problem) {
    const flag = SSH_FLAGS[problem.path] ?? '--host';
    throw new LvsError('LVS_USAGE', `${flag}: ${problem.message}`, {
      hint: 'Nothing was read or written. The generated app would say the same to `lvsform synth`; fix the flag and import again.',
    });
  }
}

/** The `lvsform import` flag that sets each SSH target field. */
const SSH_FLAGS: Readonly<Record<string, string>> = {
  host: '--host',
  port: '--ssh-port',
  user: '--user',
  alias: '--alias',
  configFile: '--ssh-config',
  sudo: '--sudo',
};

/** Reads the source and returns the app text and the warnings. Throws `LVS_USAGE` on a bad stack or director name. */
export async function importApp(source: ImportSource, opts: ImportAppOptions): Promise<ImportResult> {
  refuseBadDirector(opts, source.kind === 'real-server' ? 'real server' : 'director');
  if (source.kind === 'real-server') {
    if (opts.adopt) {
      throw new LvsError('LVS_USAGE', '--adopt goes with --director: a real server holds no services, and lvsform takes nothing it finds there as its own', {
        hint: 'Import the real server without --adopt: lvsform adds only what its services need and is missing, and never removes what it did not add.',
      });
    }
    const { code, imported } = await importRealServer(source.target, {
      stack: opts.stack,
      ...(opts.director.ssh ? { ssh: opts.director.ssh } : {}),
      ...(opts.importFrom !== undefined ? { importFrom: opts.importFrom } : {}),
    });
    return { code, warnings: [], table: { services: [] }, realServer: imported };
  }
  if (opts.adopt) {
    if (source.kind !== 'director') {
      throw new LvsError('LVS_USAGE', '--adopt needs a live source (--director): a file says nothing about what is on a director now', {
        hint: 'Import with --director NAME and --host/--ssh-config+--alias/--local, or apply the generated app with `lvsform apply --adopt`.',
      });
    }
    return importAndAdopt(source.target, opts);
  }
  const imported = await importTable(source);
  refuseUnsupported(imported.table, imported.description, source.kind === 'director' ? 'director' : 'file', imported.where);
  const code = generateApp(imported.table, {
    stack: opts.stack,
    director: withSettings(opts.director, imported.settings),
    source: imported.description,
    notes: [...(imported.settings?.notes ?? []), ...(imported.warnings.length > 0 ? ['Not imported or changed on the way:', ...imported.warnings] : [])],
    ...(opts.importFrom !== undefined ? { importFrom: opts.importFrom } : {}),
    ...(imported.pair ? { pair: imported.pair } : {}),
  });
  return { code, warnings: imported.warnings, table: imported.table, inputs: imported.inputs };
}
