import { Construct } from 'constructs';
import { describe } from './private/address.ts';
import { reachKey } from './private/host-identity.ts';
import { unknownKey } from './private/keys.ts';
import { LvsResource } from './private/lvs-resource.ts';
import { FORMAT_VERSION } from './format-version.ts';
import type { LvsStack } from './lvs-stack.ts';
import { stackMemberProblem } from './private/stacks.ts';
import { VirtualService, type VirtualServiceProps } from './virtual-service.ts';
import { ValidationError } from './validation-error.ts';
import { nameProblem, settingsProblems, sshProblems, type RuleSettings } from './private/rules.ts';

/** How to reach a director over SSH: a host, or an OpenSSH config file and a host alias in it. */
export interface SshProps {
  /**
   * Host name or IP address of the director. Mutually exclusive with `alias`.
   * @default - none: required unless `alias` is set
   */
  readonly host?: string;
  /**
   * SSH port, 1..65535.
   * @default - ssh's own (the config file's `Port`, else 22)
   */
  readonly port?: number;
  /**
   * Login user.
   * @default - ssh's own (the config file's `User`, else the local user)
   */
  readonly user?: string;
  /**
   * Private key file (`ssh -i`).
   * @default - ssh's own
   */
  readonly identityFile?: string;
  /**
   * Known-hosts file (`-o UserKnownHostsFile=`).
   * @default - ssh's own
   */
  readonly knownHostsFile?: string;
  /**
   * OpenSSH client config file (`ssh -F`). Required with `alias`.
   * @default - ssh's own (~/.ssh/config)
   */
  readonly configFile?: string;
  /**
   * A `Host` alias defined in `configFile`. Mutually exclusive with `host`.
   * @default - none
   */
  readonly alias?: string;
  /**
   * Log in as a user that is not root and run lvsform's host script as root through `sudo -n /bin/sh -s`. The
   * director then needs the sudoers rule `<user> ALL=(root) NOPASSWD: /bin/sh -s` (lvsform fails with
   * `LVS_SUDO_REQUIRED`, running nothing, when sudo is missing or asks for a password). That rule grants a root shell:
   * it is as powerful as a root login, only audited and reached through the user's own key.
   * @default false
   */
  readonly sudo?: boolean;
  /**
   * The login of read-only runs (`lvsform plan --read-only`, for a pull-request pipeline): a user whose one sudoers
   * rule runs lvsform's fixed read script as root, so its key can plan and can change nothing. With `setup`, the
   * director set-up installs the script (`/usr/local/libexec/lvsform/read`) and the rule
   * (`/etc/sudoers.d/lvsform-plan`); the user itself must exist on the director.
   * @default - read-only runs log in as `user`
   */
  readonly planUser?: string;
}

/**
 * Host set-up that makes a director come back after a reboot the way it was applied. Every part is planned and shown
 * like any change (a "host setup" section), carried out under the director's lock in the same session as the batch,
 * and idempotent: a host that already matches gets no change.
 */
export interface DirectorSetupProps {
  /**
   * Install `ipvsadm` with the host's package manager (apt-get, dnf or yum) when it is missing.
   * @default true
   */
  readonly installIpvsadm?: boolean;
  /**
   * For a director of a DirectorPair: install keepalived with the host's package manager when it is missing (the
   * pair's VRRP). Ignored outside a pair.
   * @default true
   */
  readonly installKeepalived?: boolean;
  /**
   * Load the IPVS modules the declared services need (`ip_vs`, one per scheduler, one per persistence engine) now, and
   * at boot through `/etc/modules-load.d/lvsform-<stack>.conf`.
   * @default true
   */
  readonly loadModules?: boolean;
  /**
   * Turn on forwarding for NAT services now and at boot through `/etc/sysctl.d/90-lvsform-<stack>.conf`:
   * `net.ipv4.ip_forward` for IPv4 NAT, `net.ipv6.conf.all.forwarding` for IPv6 NAT. Nothing for DR or tunnels.
   * @default true
   */
  readonly ipForward?: boolean;
  /**
   * After every verified apply and destroy, save the whole table (`ipvsadm -S -n`, unmanaged services included: the
   * file is the host's boot state) where the distribution's ipvsadm service restores it at boot, and switch that
   * restore on: `/etc/ipvsadm.rules` with `AUTO="true"` in `/etc/default/ipvsadm` on Debian-likes,
   * `/etc/sysconfig/ipvsadm` with `ipvsadm.service` enabled on RHEL-likes.
   * @default true
   */
  readonly saveRules?: boolean;
}

/**
 * Where lvsform puts the VIPs of a director's services (every service with an address; firewall-mark services have
 * none). Exactly one of `interface` or `dummy`. Each VIP that is on no interface of the director is added as a /32
 * (IPv4, labelled `<interface>:lvs`) or /128 (IPv6, without duplicate address detection) before the services that use
 * it, announced to the neighbours (IPv4: one gratuitous ARP, `arping -U` from iputils-arping; IPv6: one unsolicited
 * neighbour advertisement, sent by perl; each when the director has the tool), recorded as
 * lvsform's, and removed after the last service that uses it goes. An address lvsform did not add is never removed.
 */
export interface VipProps {
  /**
   * An existing interface facing the clients (`eth0`): the VIPs answer ARP and neighbour discovery there.
   * @default - none: set `interface` or `dummy`
   */
  readonly interface?: string;
  /**
   * A dummy interface lvsform creates (NOARP, as kube-proxy's `kube-ipvs0`) for VIPs an upstream router routes to the
   * director; deleted when lvsform removes its last address.
   * @default - none: set `interface` or `dummy`
   */
  readonly dummy?: string;
}

/**
 * The IPVS connection timeouts (`ipvsadm --set TCP TCPFIN UDP`), in seconds, 1..2147483. Each one left out is not
 * managed. The kernel's defaults are 900, 120 and 300. lvsform records the values it found, and puts them back on
 * destroy or when the app stops naming them.
 */
export interface IpvsTimeoutProps {
  /**
   * Idle timeout of an established TCP connection: after it, the connection is gone from `ipvsadm -L -c` and its next
   * packet is scheduled afresh (or dropped).
   * @default - not managed (the kernel's 900)
   */
  readonly tcp?: number;
  /**
   * Timeout of a TCP connection after its FIN.
   * @default - not managed (the kernel's 120)
   */
  readonly tcpFin?: number;
  /**
   * Timeout of a UDP "connection" (the last datagram's age).
   * @default - not managed (the kernel's 300)
   */
  readonly udp?: number;
}

/**
 * The `net.ipv4.vs.*` sysctls operators tune (Documentation/networking/ipvs-sysctl.rst). Each one left out is not
 * managed (never reset). lvsform records the value it found, and puts it back on destroy or when the app stops naming
 * it. A director whose kernel lacks one is refused before any change.
 */
export interface IpvsSysctlProps {
  /**
   * `conntrack`: keep netfilter connection tracking for IPVS connections (iptables NAT or conntrack rules need it).
   * @default - not managed (the kernel's false)
   */
  readonly conntrack?: boolean;
  /**
   * `expire_nodest_conn`: end a removed real server's connections at their next packet, instead of letting them live on
   * (kube-proxy and Seesaw set it).
   * @default - not managed (the kernel's false)
   */
  readonly expireNodestConn?: boolean;
  /**
   * `expire_quiescent_template`: expire persistence templates of a real server at weight 0, so persistent clients move.
   * @default - not managed (the kernel's false)
   */
  readonly expireQuiescentTemplate?: boolean;
  /**
   * `conn_reuse_mode` (0..3, a bitmap), or `'auto'` as kube-proxy sets it: 0 on kernels 4.2 to 5.8 (where 1 stalls a
   * reused client port), left as it is from 5.9 on.
   * @default - not managed (the kernel's 1)
   */
  readonly connReuseMode?: number | 'auto';
  /**
   * `sloppy_tcp`: accept TCP connections from any state (a director taking over mid-connection; Linux 3.12).
   * @default - not managed (the kernel's false)
   */
  readonly sloppyTcp?: boolean;
  /**
   * `sloppy_sctp`: the same for SCTP (Linux 3.12).
   * @default - not managed (the kernel's false)
   */
  readonly sloppySctp?: boolean;
  /**
   * `schedule_icmp`: schedule ICMP packets that belong to no connection (Linux 4.3).
   * @default - not managed (the kernel's false)
   */
  readonly scheduleIcmp?: boolean;
  /**
   * `ignore_tunneled`: leave tunnelled packets to the stack (Linux 4.3).
   * @default - not managed (the kernel's false)
   */
  readonly ignoreTunneled?: boolean;
}

/**
 * The IPVS connection sync daemons (`ipvsadm --start-daemon master|backup --mcast-interface IF --syncid N`): the
 * master sends this director's connections to the others over multicast, the backup takes theirs in, so that a
 * director taking over the VIPs already knows the established connections. A kernel runs one of each role; a pair
 * member runs both (the default), so whichever holds the VIPs sends. lvsform starts them, records them, starts them
 * again at boot (with `setup`) and stops on destroy only the daemons it started.
 */
export interface SyncDaemonProps {
  /** The interface the sync messages go out and come in on (multicast 224.0.0.81, UDP 8848). */
  readonly interface: string;
  /** 0..255: the directors of one pair share it; a backup takes in only its own id (0: every id). */
  readonly syncId: number;
  /**
   * Which daemons to run.
   * @default ['master', 'backup']
   */
  readonly roles?: readonly ('master' | 'backup')[];
}

/** The sysctl props and the kernel's names. */
const SYSCTL_NAMES: Readonly<Record<keyof IpvsSysctlProps, string>> = {
  conntrack: 'conntrack',
  expireNodestConn: 'expire_nodest_conn',
  expireQuiescentTemplate: 'expire_quiescent_template',
  connReuseMode: 'conn_reuse_mode',
  sloppyTcp: 'sloppy_tcp',
  sloppySctp: 'sloppy_sctp',
  scheduleIcmp: 'schedule_icmp',
  ignoreTunneled: 'ignore_tunneled',
};

/** Props of a Director: how to reach it (exactly one of `ssh` or `local`) and its name. */
export interface DirectorProps {
  /**
   * Reach the director over SSH.
   * @default - none: set `ssh` or `local`
   */
  readonly ssh?: SshProps;
  /**
   * The director is the machine running lvsform (`sh` locally, no SSH).
   * @default false
   */
  readonly local?: boolean;
  /**
   * The director's name: in plans, in the services' `director` attribute and in host-side records. Must match
   * /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Make the director's set-up survive a reboot: ipvsadm installed, modules and forwarding now and at boot, the
   * table saved for the distribution's boot service. `{}` turns every part on.
   * @default - no host set-up: lvsform changes only the IPVS table
   */
  readonly setup?: DirectorSetupProps;
  /**
   * Put the VIPs of the director's services on it: `{ interface: 'eth0' }` or `{ dummy: 'lvsform0' }`.
   * @default - VIPs are left alone (right when keepalived's VRRP moves them)
   */
  readonly vips?: VipProps;
  /**
   * The IPVS connection timeouts (`ipvsadm --set`).
   * @default - not managed
   */
  readonly timeouts?: IpvsTimeoutProps;
  /**
   * The `net.ipv4.vs.*` sysctls.
   * @default - not managed
   */
  readonly sysctls?: IpvsSysctlProps;
  /**
   * The connection sync daemons (a DirectorPair's `sync` sets them on each of its directors).
   * @default - not managed
   */
  readonly syncDaemon?: SyncDaemonProps;
}

const SETUP_KEYS = ['installIpvsadm', 'installKeepalived', 'loadModules', 'ipForward', 'saveRules'] as const;
/** @internal The props a Director takes. */
export const DIRECTOR_KEYS = ['ssh', 'local', 'name', 'setup', 'vips', 'timeouts', 'sysctls', 'syncDaemon'] as const;

/** The machine behind a host reached by `ssh` (or locally, without it): one key for every spelling of one place. */
export function hostReachKey(ssh: SshProps | undefined): string {
  if (ssh === undefined) return reachKey({ local: true });
  return reachKey({
    ...(ssh.host === undefined ? {} : { host: ssh.host }),
    ...(ssh.port === undefined ? {} : { port: ssh.port }),
    ...(ssh.configFile === undefined ? {} : { configFile: ssh.configFile }),
    ...(ssh.alias === undefined ? {} : { alias: ssh.alias }),
  });
}

/** One LVS host (a director) and how to reach it. Synthesizes to one `lvsform_director` resource. */
export class Director extends Construct {
  /** The director's name. */
  readonly name: string;
  /** `ssh` or `local`. */
  readonly transport: 'ssh' | 'local';
  /** The SSH settings as given (validated), when the transport is ssh. */
  readonly ssh: SshProps | undefined;
  /** The host set-up with every default filled in, when asked for. */
  readonly setup: Required<DirectorSetupProps> | undefined;
  /** The director settings as synthesized (`vips`, `timeouts`, `sysctls`, `sync_daemon`), when any is managed. */
  private readonly settings: Record<string, unknown>;
  /** The pair this director belongs to, and the VRRP instance it renders for it (at synth). */
  private pair: { readonly path: string; readonly vrrp: () => Record<string, unknown> } | undefined;
  private readonly resource: LvsResource;

  constructor(scope: LvsStack, id: string, props: DirectorProps) {
    super(scope, id);
    const path = this.node.path;
    const fail = (message: string): never => ValidationError.fail(path, message);
    const problem = stackMemberProblem('a Director', scope, props, 'ssh or local', DIRECTOR_KEYS);
    if (problem) fail(problem);
    this.name = props.name ?? id;
    const badName = nameProblem('director', this.name);
    if (badName) fail(badName);
    const local = props.local ?? false;
    if (typeof local !== 'boolean') fail(`local must be true or false; got ${describe(local)}`);
    if (props.ssh !== undefined && local) fail('a director is reached either over ssh or locally, not both; got ssh and local: true');
    if (props.ssh === undefined && !local) fail('a director needs a way to reach it: ssh: { host } (or { configFile, alias }) or local: true; got neither');
    this.transport = local ? 'local' : 'ssh';
    this.ssh = props.ssh === undefined ? undefined : checkSsh(props.ssh, fail);
    this.setup = props.setup === undefined ? undefined : checkSetup(props.setup, fail);
    this.settings = checkSettings(props, fail);
    this.resource = new LvsResource(this, 'Resource', 'lvsform_director', () => this.render());
    this.node.addValidation({ validate: () => this.validateServices() });
  }

  /** `lvsform_director.<logical id>`, for `depends_on`. */
  get resourceAddress(): string {
    return this.resource.address;
  }

  /**
   * The machine behind this director (see private/host-identity.ts): every spelling of one host (`127.1`, `localhost`,
   * `LB1.example.com.`, port 22 given or not) and every path of one config file give one key.
   */
  get reachKey(): string {
    return hostReachKey(this.transport === 'local' ? undefined : this.ssh);
  }

  /** The virtual services on this director, in the order added. */
  get virtualServices(): VirtualService[] {
    return this.node.children.filter((c): c is VirtualService => c instanceof VirtualService);
  }

  /** Whether lvsform puts this director's VIPs on it (`vips`). */
  get placesVips(): boolean {
    return this.settings.vips !== undefined;
  }

  /** Whether this director runs the sync daemons (`syncDaemon`). */
  get syncsConnections(): boolean {
    return this.settings.sync_daemon !== undefined;
  }

  /**
   * @internal A DirectorPair takes this director in: its sync daemons (unless it has its own) and the VRRP instance
   * rendered at synth. A director belongs to one pair.
   */
  joinPair(path: string, sync: Record<string, unknown> | undefined, vrrp: () => Record<string, unknown>): void {
    if (this.pair) ValidationError.fail(path, `director ${this.node.path} is already in director pair ${this.pair.path}; a director belongs to one pair`);
    if (sync && this.settings.sync_daemon) {
      ValidationError.fail(path, `director ${this.node.path} has its own syncDaemon, and the pair's sync sets it too: leave one out`);
    }
    if (sync) this.settings.sync_daemon = sync;
    this.pair = { path, vrrp };
  }

  /** Adds a virtual service to this director and returns it. */
  addVirtualService(id: string, props: VirtualServiceProps): VirtualService {
    return new VirtualService(this, id, props);
  }

  private validateServices(): string[] {
    const problems: string[] = [];
    const seen = new Map<string, VirtualService>();
    for (const service of this.virtualServices) {
      const key = service.serviceId;
      const first = seen.get(key);
      if (first) {
        problems.push(
          `service ${key} is defined twice on director ${this.name}: ${first.node.path} and ${service.node.path}; IPVS holds one service per identity, remove one`,
        );
      } else {
        seen.set(key, service);
      }
    }
    return problems;
  }

  private render(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, format_version: FORMAT_VERSION, transport: this.transport };
    if (this.ssh) out.ssh = renderSsh(this.ssh);
    if (this.setup) {
      out.setup = {
        install_ipvsadm: this.setup.installIpvsadm,
        // Only a pair member has keepalived to install: other directors' synth is as it was.
        ...(this.pair ? { install_keepalived: this.setup.installKeepalived } : {}),
        load_modules: this.setup.loadModules,
        ip_forward: this.setup.ipForward,
        save_rules: this.setup.saveRules,
      };
    }
    Object.assign(out, this.settings);
    if (this.pair) out.vrrp = this.pair.vrrp();
    return out;
  }
}

/** The director settings, checked by the one rule set and written in the synthesized JSON's names. */
function checkSettings(props: DirectorProps, fail: (m: string) => never): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const object = (what: string, v: unknown, example: string): Record<string, unknown> => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${what} must be an object like ${example}; got ${describe(v)}`);
    return v as Record<string, unknown>;
  };
  if (props.vips !== undefined) {
    const v = object('vips', props.vips, "{ interface: 'eth0' }");
    const unknown = unknownKey('vips', v, ['interface', 'dummy']);
    if (unknown) fail(unknown);
    out.vips = { ...(v.interface === undefined ? {} : { interface: v.interface }), ...(v.dummy === undefined ? {} : { dummy: v.dummy }) };
  }
  if (props.timeouts !== undefined) {
    const t = object('timeouts', props.timeouts, '{ tcp: 900 }');
    const unknown = unknownKey('timeouts', t, ['tcp', 'tcpFin', 'udp']);
    if (unknown) fail(unknown);
    out.timeouts = {
      ...(t.tcp === undefined ? {} : { tcp: t.tcp }),
      ...(t.tcpFin === undefined ? {} : { tcp_fin: t.tcpFin }),
      ...(t.udp === undefined ? {} : { udp: t.udp }),
    };
  }
  if (props.sysctls !== undefined) {
    const s = object('sysctls', props.sysctls, '{ expireNodestConn: true }');
    const unknown = unknownKey('sysctls', s, Object.keys(SYSCTL_NAMES));
    if (unknown) fail(unknown);
    const sysctls: Record<string, unknown> = {};
    for (const [key, kernel] of Object.entries(SYSCTL_NAMES)) {
      const v = s[key];
      if (v === undefined) continue;
      if (key === 'connReuseMode') sysctls[kernel] = v;
      else if (typeof v !== 'boolean') fail(`sysctls.${key} must be true or false; got ${describe(v)}`);
      else sysctls[kernel] = v ? 1 : 0;
    }
    out.sysctls = sysctls;
  }
  if (props.syncDaemon !== undefined) out.sync_daemon = syncDaemonJson(object('syncDaemon', props.syncDaemon, "{ interface: 'eth1', syncId: 51 }"), fail);
  const problem = settingsProblems(out as RuleSettings)[0];
  if (problem) {
    // The rule speaks the synthesized JSON's names; the props speak camelCase.
    fail(problem.message.replace('tcp_fin', 'tcpFin').replace(/sysctls\.([a-z_]+)/g, (_m, k: string) => `sysctls.${propName(k)}`));
  }
  return out;
}

/** @internal A `syncDaemon` (or a pair's `sync`) in the synthesized JSON's names; the rules check the values. */
export function syncDaemonJson(s: Record<string, unknown>, fail: (m: string) => never, what = 'syncDaemon'): Record<string, unknown> {
  const unknown = unknownKey(what, s, ['interface', 'syncId', 'roles']);
  if (unknown) fail(unknown);
  const roles = s.roles ?? ['master', 'backup'];
  const problem = settingsProblems({ sync_daemon: { interface: s.interface, sync_id: s.syncId, roles } })[0];
  if (problem) fail(problem.message.replace('sync_daemon.sync_id', `${what}.syncId`).replace(/sync_daemon\b/g, what));
  return { interface: s.interface, sync_id: s.syncId, roles: Array.isArray(roles) ? [...roles] : roles };
}

function propName(kernel: string): string {
  return Object.entries(SYSCTL_NAMES).find(([, k]) => k === kernel)?.[0] ?? kernel;
}

function checkSetup(setup: DirectorSetupProps, fail: (m: string) => never): Required<DirectorSetupProps> {
  if (setup === null || typeof setup !== 'object' || Array.isArray(setup)) {
    fail(`setup must be an object like { saveRules: true } ({} turns every part on); got ${describe(setup)}`);
  }
  for (const key of Object.keys(setup)) {
    if (!(SETUP_KEYS as readonly string[]).includes(key)) fail(unknownKey('setup', { [key]: true }, SETUP_KEYS)!);
  }
  const out = { installIpvsadm: true, installKeepalived: true, loadModules: true, ipForward: true, saveRules: true };
  for (const key of SETUP_KEYS) {
    const value = setup[key];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') fail(`setup.${key} must be true or false; got ${describe(value)}`);
    out[key] = value;
  }
  return out;
}

/** @internal The SSH props in the synthesized JSON's names. */
export function renderSsh(s: SshProps): Record<string, unknown> {
  const ssh: Record<string, unknown> = {};
  if (s.host !== undefined) ssh.host = s.host;
  if (s.port !== undefined) ssh.port = s.port;
  if (s.user !== undefined) ssh.user = s.user;
  if (s.identityFile !== undefined) ssh.identity_file = s.identityFile;
  if (s.knownHostsFile !== undefined) ssh.known_hosts_file = s.knownHostsFile;
  if (s.configFile !== undefined) ssh.config_file = s.configFile;
  if (s.alias !== undefined) ssh.alias = s.alias;
  if (s.sudo) ssh.sudo = true;
  if (s.planUser !== undefined) ssh.plan_user = s.planUser;
  return ssh;
}

/** @internal The SSH props checked by the one rule set (a Director and a RealServerHost take the same). */
export function checkSsh(ssh: SshProps, fail: (m: string) => never): SshProps {
  if (ssh === null || typeof ssh !== 'object' || Array.isArray(ssh)) fail(`ssh must be an object like { host: '203.0.113.2' }; got ${describe(ssh)}`);
  const unknown = unknownKey('ssh', ssh, ['host', 'port', 'user', 'identityFile', 'knownHostsFile', 'configFile', 'alias', 'sudo', 'planUser']);
  if (unknown) fail(unknown);
  const problem = sshProblems(ssh)[0];
  if (problem) fail(problem.message);
  return { ...ssh };
}
