/**
 * `lvsform import`: writes an lvsform app from an ipvsadm-save file, a keepalived.conf, a live director, or what a
 * real server holds (`--real-server NAME`, reached by the same flags as a director). Parsing and wiring only; the
 * work is `importApp` in providers/ipvs/import/import.ts.
 */
import { type Command, Option } from 'commander';
import { intArg } from './args.ts';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { checkFileTarget, type FileRule, type InputFile, writeFileSafely } from '../providers/ipvs/read/local-writes.ts';
import type { GeneratedDirector } from '../providers/ipvs/import/generate-app.ts';
import type { ImportSource } from '../providers/ipvs/import/import.ts';
import type { HostTarget } from '../providers/ipvs/model/host-target.ts';
import { pathOption } from './paths.ts';
import { readOnlyRefusal } from '../providers/ipvs/model/host-target.ts';
import { readOnlyMode } from './args.ts';

interface ImportOpts {
  save?: string;
  keepalived?: string;
  configId?: string;
  director?: string;
  realServer?: string;
  adopt?: boolean;
  stack: string;
  directorName: string;
  host?: string;
  user?: string;
  sshPort?: number;
  sshConfig?: string;
  alias?: string;
  local?: boolean;
  sudo?: boolean;
  out?: string;
  force?: boolean;
}

/**
 * Where the app may be written: a new file, or with --force any regular file (never a symlink, FIFO or device), and
 * never a file the import read (`inputs`, known once the source is read).
 */
function outRule(force: boolean | undefined, inputs: readonly InputFile[] = []): FileRule {
  return {
    code: 'LVS_IMPORT_WRITE',
    verb: 'write the app to',
    hint: force ? 'Check the directory and its permissions.' : 'Pass --force to overwrite it, or choose another --out.',
    replace: force ? 'regular' : 'never',
    inputs,
  };
}

function sourceOf(opts: ImportOpts, director: GeneratedDirector): ImportSource {
  const given = [opts.save, opts.keepalived, opts.director, opts.realServer].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new LvsError('LVS_USAGE', 'import needs exactly one source: --save FILE, --keepalived FILE, --director NAME or --real-server NAME', {
      hint: 'e.g. lvsform import --keepalived /etc/keepalived/keepalived.conf --host 203.0.113.2, lvsform import --director lb1 --host 203.0.113.2 --adopt, or lvsform import --real-server web1 --host 192.0.2.11',
    });
  }
  if (opts.realServer !== undefined) {
    const target: HostTarget = director.ssh
      ? { name: director.name, transport: 'ssh', ssh: director.ssh, role: 'real-server' }
      : { name: director.name, transport: 'local', role: 'real-server' };
    return { kind: 'real-server', target };
  }
  if (opts.director !== undefined) {
    const target: HostTarget = director.ssh ? { name: director.name, transport: 'ssh', ssh: director.ssh } : { name: director.name, transport: 'local' };
    return { kind: 'director', target };
  }
  if (opts.configId !== undefined && opts.keepalived === undefined) {
    throw new LvsError('LVS_USAGE', '--config-id goes with --keepalived (it selects the @ID lines of a keepalived.conf)');
  }
  if (opts.configId !== undefined && !/^[^\s@^]+$/.test(opts.configId)) {
    throw new LvsError('LVS_USAGE', `--config-id ${JSON.stringify(opts.configId)} can never match an @ID line (an id is one word, without blanks)`, {
      hint: 'Pass the word that follows @ in the keepalived.conf lines for this director, e.g. --config-id lb1.',
    });
  }
  if (opts.save !== undefined) return { kind: 'save', file: opts.save };
  return { kind: 'keepalived', file: opts.keepalived!, ...(opts.configId !== undefined ? { configId: opts.configId } : {}) };
}

function directorOf(opts: ImportOpts): { director: GeneratedDirector; note?: string } {
  const name = opts.realServer ?? opts.director ?? opts.directorName;
  const kind = opts.realServer !== undefined ? 'real server' : 'director';
  const ways = [opts.host !== undefined, opts.sshConfig !== undefined || opts.alias !== undefined, Boolean(opts.local)].filter(Boolean).length;
  if (ways > 1) throw new LvsError('LVS_USAGE', `reach the ${kind} one way: --host H, --ssh-config F --alias A, or --local`);
  if (opts.host !== undefined) {
    return {
      director: {
        name,
        ssh: {
          host: opts.host,
          ...(opts.user !== undefined ? { user: opts.user } : {}),
          ...(opts.sshPort !== undefined ? { port: opts.sshPort } : {}),
          ...(opts.sudo ? { sudo: true } : {}),
        },
      },
    };
  }
  if (opts.sshConfig !== undefined || opts.alias !== undefined) {
    if (opts.sshConfig === undefined || opts.alias === undefined) {
      throw new LvsError('LVS_USAGE', '--ssh-config and --alias go together (the OpenSSH config file and the Host alias in it)');
    }
    return { director: { name, ssh: { configFile: opts.sshConfig, alias: opts.alias, ...(opts.sudo ? { sudo: true } : {}) } } };
  }
  if (opts.sudo) throw new LvsError('LVS_USAGE', `--sudo goes with --host or --ssh-config/--alias (a ${kind} reached over SSH)`);
  if (opts.local) return { director: { name, local: true } };
  return {
    director: { name, local: true },
    note: `no --host, --ssh-config/--alias or --local given: the app reaches the ${kind} locally; edit it if lvsform runs elsewhere`,
  };
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('write an lvsform app (TypeScript) from an ipvsadm-save file, a keepalived.conf, a live director or a real server')
    .addOption(pathOption('--save <file>', 'an `ipvsadm -S -n` / ipvsadm-save file, or a pipe (`-`: standard input)', { stdin: true }))
    .addOption(
      pathOption('--keepalived <file>', 'a keepalived.conf (virtual_server and virtual_server_group blocks), or a pipe (`-`: standard input)', {
        stdin: true,
      }),
    )
    .option(
      '--config-id <id>',
      "with --keepalived: keepalived's config id (its -i, by default the director's short host name): reads the @ID lines as keepalived there does",
    )
    .option('--director <name>', 'the live table of this director (reached by --host, --ssh-config/--alias or --local); NAME names it in the app')
    .option(
      '--real-server <name>',
      'what this real server holds (VIPs on lo, ARP settings, tunnel devices, fou ports, default routes), as a RealServerHost named NAME; reached as --director is',
    )
    .option('--adopt', 'with --director: record the imported services as owned by --stack on the director (so `plan` shows no changes)')
    .option('--stack <name>', 'the stack name of the generated app', 'imported')
    .option('--director-name <name>', 'the name of the director in the generated app', 'lb1')
    .option('--host <host>', 'the director (or real server) is reached over SSH at this host')
    .option('--user <user>', 'the SSH login user (with --host)')
    .addOption(new Option('--ssh-port <port>', 'the SSH port (with --host)').argParser(intArg(1, 65535)))
    .addOption(pathOption('--ssh-config <file>', 'an OpenSSH config file that defines --alias'))
    .option('--alias <alias>', 'the Host alias of the director (or real server) in --ssh-config')
    .option('--local', 'the director (or real server) is the machine lvsform runs on')
    .option('--sudo', 'log in as --user (not root) and read the director through `sudo -n /bin/sh -s`; the generated app says sudo: true')
    .addOption(pathOption('--out <file>', 'write the app to this file instead of stdout'))
    .option('--force', 'overwrite --out if it exists')
    .action(async (opts: ImportOpts) => {
      const { director, note } = directorOf(opts);
      const source = sourceOf(opts, director);
      // import reads through the host's shell (and with --adopt writes the record): it has no read-only way.
      if (readOnlyMode(program)) throw readOnlyRefusal('import', [source.kind === 'real-server' ? source.target : director], Boolean(opts.adopt));
      if ((opts.user !== undefined || opts.sshPort !== undefined) && opts.host === undefined) {
        throw new LvsError('LVS_USAGE', '--user and --ssh-port go with --host');
      }
      // Before the source is read (or a director adopted): a bad --out changes nothing.
      if (opts.out !== undefined) await checkFileTarget(opts.out, outRule(opts.force));
      // Loaded when the command runs, so that start-up and --help stay fast.
      const [{ importApp }, { serviceId }] = await Promise.all([import('../providers/ipvs/import/import.ts'), import('../providers/ipvs/model/model.ts')]);
      const { code, warnings, table, adopted, inputs } = await importApp(source, { stack: opts.stack, director, ...(opts.adopt ? { adopt: true } : {}) });
      if (adopted) process.stderr.write(`adopted ${adopted.length} service(s): stack ${opts.stack} owns them on director ${director.name}\n`);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      if (note) process.stderr.write(`note: ${note}\n`);
      if (opts.out === undefined) {
        process.stdout.write(code);
      } else {
        await writeFileSafely(opts.out, code, outRule(opts.force, inputs));
        const ids = table.services.map((s) => serviceId(s.key));
        const what = source.kind === 'real-server' ? `real server ${director.name}` : `${ids.length} service(s)`;
        process.stderr.write(`wrote ${opts.out}: ${what}${warnings.length ? `, ${warnings.length} warning(s) above` : ''}\n`);
      }
    });
}
