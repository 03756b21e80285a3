import { Construct } from 'constructs';
import { describe } from './private/address.ts';
import { reachKey } from './private/host-identity.ts';
import { unknownKey } from './private/keys.ts';
import { LvsResource } from './private/lvs-resource.ts';
import { FORMAT_VERSION } from './format-version.ts';
import type { LvsStack } from './lvs-stack.ts';
import { isLvsStack } from './private/stacks.ts';
import { VirtualService, type VirtualServiceProps } from './virtual-service.ts';
import { ValidationError } from './validation-error.ts';
import { nameProblem, sshProblems } from './private/rules.ts';

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
}

const SETUP_KEYS = ['installIpvsadm', 'loadModules', 'ipForward', 'saveRules'] as const;

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
  private readonly resource: LvsResource;

  constructor(scope: LvsStack, id: string, props: DirectorProps) {
    super(scope, id);
    const path = this.node.path;
    const fail = (message: string): never => ValidationError.fail(path, message);
    if (!isLvsStack(scope)) fail('a Director belongs directly to an LvsStack');
    if (props === null || typeof props !== 'object' || Array.isArray(props)) fail(`props must be an object with ssh or local; got ${describe(props)}`);
    const unknown = unknownKey('a Director', props, ['ssh', 'local', 'name', 'setup']);
    if (unknown) fail(unknown);
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
    if (this.transport === 'local') return reachKey({ local: true });
    const ssh = this.ssh!;
    return reachKey({
      ...(ssh.host === undefined ? {} : { host: ssh.host }),
      ...(ssh.port === undefined ? {} : { port: ssh.port }),
      ...(ssh.configFile === undefined ? {} : { configFile: ssh.configFile }),
      ...(ssh.alias === undefined ? {} : { alias: ssh.alias }),
    });
  }

  /** The virtual services on this director, in the order added. */
  get virtualServices(): VirtualService[] {
    return this.node.children.filter((c): c is VirtualService => c instanceof VirtualService);
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
    if (this.ssh) {
      const s = this.ssh;
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
      out.ssh = ssh;
    }
    if (this.setup) {
      out.setup = {
        install_ipvsadm: this.setup.installIpvsadm,
        load_modules: this.setup.loadModules,
        ip_forward: this.setup.ipForward,
        save_rules: this.setup.saveRules,
      };
    }
    return out;
  }
}

function checkSetup(setup: DirectorSetupProps, fail: (m: string) => never): Required<DirectorSetupProps> {
  if (setup === null || typeof setup !== 'object' || Array.isArray(setup)) {
    fail(`setup must be an object like { saveRules: true } ({} turns every part on); got ${describe(setup)}`);
  }
  for (const key of Object.keys(setup)) {
    if (!(SETUP_KEYS as readonly string[]).includes(key)) fail(unknownKey('setup', { [key]: true }, SETUP_KEYS)!);
  }
  const out = { installIpvsadm: true, loadModules: true, ipForward: true, saveRules: true };
  for (const key of SETUP_KEYS) {
    const value = setup[key];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') fail(`setup.${key} must be true or false; got ${describe(value)}`);
    out[key] = value;
  }
  return out;
}

function checkSsh(ssh: SshProps, fail: (m: string) => never): SshProps {
  if (ssh === null || typeof ssh !== 'object' || Array.isArray(ssh)) fail(`ssh must be an object like { host: '203.0.113.2' }; got ${describe(ssh)}`);
  const unknown = unknownKey('ssh', ssh, ['host', 'port', 'user', 'identityFile', 'knownHostsFile', 'configFile', 'alias', 'sudo', 'planUser']);
  if (unknown) fail(unknown);
  const problem = sshProblems(ssh)[0];
  if (problem) fail(problem.message);
  return { ...ssh };
}
