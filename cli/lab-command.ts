import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Command, Option } from 'commander';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { intArg } from './args.ts';
import { pathOption } from './paths.ts';

type Progress = (line: string) => void;

/**
 * What these commands call in the lab (lab/index.ts, loaded through tsx when they run). Written out here: a type taken
 * from the lab's module (`typeof import('../lab/index.ts')`) would bring the whole lab into the product's build. The
 * lab's module is checked against it in test/unit/architecture/lab-api.test.ts.
 */
export interface Lab {
  readonly labUp: (opts: {
    directors: number;
    cluster?: boolean;
    realServers?: number;
    privateRealServers?: boolean;
    firstIndex: number;
    dir: string | undefined;
    ipForward?: boolean;
    persistent?: boolean;
    accel?: string;
    skipModules: string[];
    onProgress: Progress;
  }) => Promise<{ readonly dir: string }>;
  readonly labReboot: (
    director: string,
    opts: { dir: string | undefined; options: { persistent?: boolean; ipForward?: boolean }; onProgress: Progress },
  ) => Promise<unknown>;
  readonly labStop: (vm: string, opts: { dir: string | undefined; onProgress: Progress }) => Promise<unknown>;
  readonly labStart: (vm: string, opts: { dir: string | undefined; onProgress: Progress }) => Promise<unknown>;
  readonly labDown: (opts: { dir: string | undefined }) => Promise<void>;
  readonly labStatus: (opts: { dir: string | undefined }) => Promise<{
    readonly dir: string;
    readonly running: boolean;
    readonly state: { readonly sshConfig: string } | undefined;
    readonly directors: readonly LabVmStatus[];
    readonly realServers: readonly LabVmStatus[];
    readonly network?: { readonly present: readonly string[]; readonly missing: readonly string[] };
  }>;
  readonly labExec: (
    director: string,
    command: readonly string[],
    opts: { dir: string | undefined },
  ) => Promise<{ readonly stdout: string; readonly stderr: string; readonly exitCode: number }>;
  readonly labTraffic: (opts: {
    target: string;
    director: string;
    count: number;
    protocol: 'tcp' | 'udp';
    intervalMs: number;
    dir: string | undefined;
  }) => Promise<{ readonly perServer: Readonly<Record<string, number>>; readonly failures: number; readonly total: number }>;
}

interface LabVmStatus {
  readonly alias: string;
  readonly guestAddress: string;
  readonly kernelRunning: boolean;
  readonly stopped: boolean;
  readonly controlMasterRunning: boolean;
}

/** The lab's entry file in the clone this command runs from (cli/ or dist/cli/), or undefined in an installed package. */
function labEntry(): string | undefined {
  const candidates = ['../lab/index.ts', '../../lab/index.ts'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((file) => existsSync(file));
}

/**
 * The lab is a tool of a clone of lvsform (it needs the lab's Debian packages and the dev dependencies), so it is not
 * part of the build: its TypeScript sources are loaded through tsx, on first use, from the clone this command runs in.
 */
async function loadLab(): Promise<Lab> {
  const entry = labEntry();
  const unavailable = (why: string) =>
    new LvsError('LVS_LAB_UNAVAILABLE', `the lab is not available here: ${why}`, {
      hint: 'The lab runs from a clone of lvsform: clone it, run `npm ci && npm run build`, then `npx lvsform lab up` in the clone.',
    });
  if (!entry) throw unavailable('this installation of lvsform has no lab/ sources');
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch (e) {
    throw unavailable(`tsx (a dev dependency) cannot be loaded (${e instanceof Error ? e.message : String(e)})`);
  }
  return (await import(pathToFileURL(entry).href)) as Lab;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Adds `lvsform lab up|reboot|stop|start|down|status|exec|traffic`: the throwaway real-kernel lab. */
export function registerLabCommands(program: Command): void {
  // Hidden where it cannot run (an installed package ships no lab/): still there, to say why, but not offered by
  // --help or completion.
  const lab = program
    .command('lab', { hidden: labEntry() === undefined })
    .description(
      "the throwaway real-kernel lab: QEMU directors running Debian's kernel with IPVS, real servers and a client (--cluster: each a VM on a shared segment)",
    );
  const initOption = () =>
    new Option(
      '--init <init>',
      "the guest's PID 1: the lab's fast init, or systemd booting like a Debian director (default: systemd with --persistent)",
    ).choices(['lab', 'systemd']);
  const dirOption = () => pathOption('--lab-dir <dir>', 'lab state directory (default $LVSFORM_LAB_DIR or /tmp/lvsform-lab)');

  lab
    .command('up')
    .description('boot the lab (one virtual machine per director, in parallel) and print the time to usable ssh and where it went')
    // 64: the lab's address plan (MAX_DIRECTORS in lab/addresses.ts, not imported: the lab is not built).
    .option('--directors <n>', 'how many directors', intArg(1, 64), 1)
    .option('--cluster', 'directors and real servers as VMs on a shared segment with a client namespace here, and a private segment for NAT')
    // 9: the cluster's address plan (CLUSTER_TOPOLOGY in lab/cluster-addresses.ts).
    .option('--real-servers <n>', 'how many real-server VMs (with --cluster; default 2)', intArg(1, 9))
    .option('--private-real-servers', 'real servers on the private segment only, behind the directors as in VS/NAT (with --cluster)')
    .option('--first-index <k>', 'number of the first director (VM index; to run a second lab beside one)', intArg(1, 64), 1)
    .option('--skip-modules <list>', 'comma-separated kernel modules the directors must not have (e.g. ip_vs_sh)')
    .option('--no-ip-forward', 'boot the directors with IP forwarding off (a cluster lab boots them with it off)')
    .option('--persistent', 'give each director a disk under /etc and /var/lib that survives `lab reboot` (booted with systemd)')
    .addOption(initOption())
    .addOption(new Option('--accel <accel>', 'KVM or emulation (default $LVSFORM_LAB_ACCEL, else KVM if a probe boot works)').choices(['kvm', 'tcg']))
    .addOption(dirOption())
    .action(
      async (o: {
        directors: number;
        cluster?: boolean;
        realServers?: number;
        privateRealServers?: boolean;
        firstIndex: number;
        skipModules?: string;
        ipForward: boolean;
        persistent?: boolean;
        init?: 'lab' | 'systemd';
        accel?: string;
        labDir?: string;
      }) => {
        const state = await (await loadLab()).labUp({
          directors: o.directors,
          ...(o.cluster ? { cluster: true } : {}),
          ...(o.realServers === undefined ? {} : { realServers: o.realServers }),
          ...(o.privateRealServers ? { privateRealServers: true } : {}),
          firstIndex: o.firstIndex,
          dir: o.labDir,
          // Only the flag's "off" is passed: a cluster lab refuses either (its directors boot with forwarding off).
          ...(o.ipForward ? {} : { ipForward: false }),
          ...(o.persistent ? { persistent: true } : {}),
          ...(o.init ? { init: o.init } : {}),
          ...(o.accel ? { accel: o.accel } : {}),
          skipModules: o.skipModules ? o.skipModules.split(',').filter(Boolean) : [],
          onProgress: say,
        });
        say(`state: ${state.dir}/state.json`);
      },
    );

  lab
    .command('reboot <director>')
    .description('sync and power off one director (or cluster real server), then boot it again (same taps, keys and, when persistent, disk)')
    .option('--persistent', 'from now on, boot it with a disk under /etc and /var/lib that survives reboots')
    .option('--no-persistent', 'from now on, boot it without that disk')
    .option('--ip-forward', 'from now on, boot it with IP forwarding on')
    .option('--no-ip-forward', 'from now on, boot it with IP forwarding off')
    .addOption(initOption())
    .addOption(dirOption())
    .action(async (director: string, o: { persistent?: boolean; ipForward?: boolean; init?: 'lab' | 'systemd'; labDir?: string }) => {
      await (await loadLab()).labReboot(director, {
        dir: o.labDir,
        options: {
          ...(o.persistent === undefined ? {} : { persistent: o.persistent }),
          ...(o.ipForward === undefined ? {} : { ipForward: o.ipForward }),
          ...(o.init ? { init: o.init } : {}),
        },
        onProgress: say,
      });
    });

  lab
    .command('stop <vm>')
    .description('power one VM off as a power failure would (its QEMU killed, no shutdown); `lab start` boots it again')
    .addOption(dirOption())
    .action(async (vm: string, o: { labDir?: string }) => {
      await (await loadLab()).labStop(vm, { dir: o.labDir, onProgress: say });
    });

  lab
    .command('start <vm>')
    .description('boot a stopped VM again from its disk (same taps and keys; /etc kept, its enabled units run)')
    .addOption(dirOption())
    .action(async (vm: string, o: { labDir?: string }) => {
      await (await loadLab()).labStart(vm, { dir: o.labDir, onProgress: say });
    });

  lab
    .command('down')
    .description(
      "stop every virtual machine and ssh master of the lab, delete its taps (a stopped VM's too, a cluster's bridges and client namespace) and its state directory",
    )
    .addOption(dirOption())
    .action(async (o: { labDir?: string }) => {
      await (await loadLab()).labDown({ dir: o.labDir });
      say('lab down');
    });

  lab
    .command('status')
    .description("show which virtual machines of the lab run or were stopped (and whether a cluster's network is there)")
    .option('--json', 'print JSON')
    .addOption(dirOption())
    .action(async (o: { json?: boolean; labDir?: string }) => {
      const status = await (await loadLab()).labStatus({ dir: o.labDir });
      if (o.json) {
        say(JSON.stringify(status, null, 2));
      } else if (!status.state) {
        say(`no lab in ${status.dir}`);
      } else {
        const vms = [...status.directors, ...status.realServers];
        const stopped = vms.filter((d) => d.stopped && !d.kernelRunning).map((d) => d.alias);
        const how = status.running ? 'running' : stopped.length > 0 ? `NOT running (stopped: ${stopped.join(', ')}; lab start VM)` : 'NOT running';
        say(`lab in ${status.dir}: ${how} (ssh -F ${status.state.sshConfig} ALIAS)`);
        for (const d of vms) {
          const kernel = d.kernelRunning ? 'up' : d.stopped ? 'stopped' : 'down';
          say(`  ${d.alias.padEnd(20)} ${d.guestAddress.padEnd(15)} kernel ${kernel}, ssh master ${d.controlMasterRunning ? 'up' : 'down'}`);
        }
        if (status.network) {
          say(
            `  network: ${status.network.present.join(', ') || 'none'}${status.network.missing.length > 0 ? `; MISSING ${status.network.missing.join(', ')}` : ''}`,
          );
        }
      }
      if (!status.running) process.exitCode = 1;
    });

  lab
    .command('exec')
    .description('run a command on a director (or cluster real server), e.g. lvsform lab exec lab-director-1 -- ipvsadm -L -n')
    .argument('<director>', 'director or real-server name, ssh alias or VM number')
    .argument('<cmd...>', 'the command and its arguments (after --)')
    .addOption(dirOption())
    .action(async (director: string, cmd: string[], o: { labDir?: string }) => {
      const r = await (await loadLab()).labExec(director, cmd, { dir: o.labDir });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.exitCode;
    });

  lab
    .command('traffic')
    .description("send requests from a director's client namespace (a cluster's: on this machine) to a VIP and count the answers per real server")
    .argument('<target>', 'VIP:PORT, e.g. 198.51.100.10:80 or [2001:db8:100::10]:80')
    .option('--director <name>', 'director name, ssh alias or number', 'lab-director-1')
    .option('--count <n>', 'how many requests', intArg(1, 1_000_000), 20)
    .addOption(new Option('--protocol <protocol>', 'tcp (HTTP) or udp').choices(['tcp', 'udp']).default('tcp'))
    .option('--interval <ms>', 'milliseconds to pause between requests', intArg(0, 60_000), 0)
    .addOption(dirOption())
    .action(async (target: string, o: { director: string; count: number; protocol: 'tcp' | 'udp'; interval: number; labDir?: string }) => {
      const r = await (await loadLab()).labTraffic({
        target,
        director: o.director,
        count: o.count,
        protocol: o.protocol,
        intervalMs: o.interval,
        dir: o.labDir,
      });
      for (const [name, n] of Object.entries(r.perServer).sort(([a], [b]) => a.localeCompare(b))) say(`${name.padEnd(8)} ${n}`);
      say(`failures ${r.failures} of ${r.total}`);
      if (r.failures > 0) process.exitCode = 1;
    });
}
