import { Construct } from 'constructs';
import { describe, parseAddress } from './private/address.ts';
import { unknownKey } from './private/keys.ts';
import { LvsResource } from './private/lvs-resource.ts';
import { nameProblem, realServerHostProblems } from './private/rules.ts';
import { stackMemberProblem } from './private/stacks.ts';
import { checkSsh, hostReachKey, renderSsh, type SshProps } from './director.ts';
import { FORMAT_VERSION } from './format-version.ts';
import type { LvsStack } from './lvs-stack.ts';
import { ValidationError } from './validation-error.ts';

/**
 * The NAT return path of a real server: replies to clients must leave through the director, which rewrites them.
 * lvsform reads the real server's routes of each family it serves by NAT and shows whether the default route goes
 * through `gateways`, and any more specific route that would take replies to clients around the director; it
 * replaces the default route only with `manage: true`.
 */
export interface NatReturnProps {
  /** The director's inside address (the real servers' gateway), one per family: `['192.0.2.1', '2001:db8::1']`. */
  readonly gateways: readonly string[];
  /**
   * Replace the default route of a family whose gateway is another (`ip route replace default via …`), recording the
   * one found so that destroy puts it back. A wrong default route cuts a host off: say so only when you mean it.
   * @default false (checked and shown, never changed)
   */
  readonly manage?: boolean;
  /**
   * The networks the clients are in (`['192.0.2.0/24']`): only routes that reach into them are checked for a way
   * around the director.
   * @default - clients may be anywhere: every route more specific than the default that does not go through the
   * director (but the one to the director's own network) is shown as a warning
   */
  readonly clients?: readonly string[];
}

/** Props of a RealServerHost: how to reach it (exactly one of `ssh` or `local`), its addresses, its name. */
export interface RealServerHostProps {
  /**
   * Reach the real server over SSH, as a director (an OpenSSH config and alias can `ProxyJump` through the director to
   * a private NAT network).
   * @default - none: set `ssh` or `local`
   */
  readonly ssh?: SshProps;
  /**
   * The real server is the machine running lvsform.
   * @default false
   */
  readonly local?: boolean;
  /**
   * The real server's own addresses, as its pools name them: every pool member with one of these addresses is
   * prepared on this host for the forwarding method of every service it backs.
   */
  readonly addresses: readonly string[];
  /**
   * The interface that faces the director and the clients: the ARP settings of direct routing and tunnelling are set
   * on it as well as on `all`.
   * @default - only `net.ipv4.conf.all.*` (the kernel takes the larger of `all` and the interface's value)
   */
  readonly interface?: string;
  /**
   * The NAT return path to check (and, with `manage`, to set).
   * @default - the route back is shown, with a warning that lvsform cannot tell whether it goes through the director
   */
  readonly nat?: NatReturnProps;
  /**
   * The host's name in plans and messages. Must match /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.
   * @default - the construct id
   */
  readonly name?: string;
}

/**
 * A real server lvsform prepares for the services that send to it: the VIPs on `lo` and the ARP settings for direct
 * routing, the decapsulating device (and `fou` port) for tunnelling, the route back for NAT. Synthesizes to one
 * `lvsform_real_server_host` resource.
 */
export class RealServerHost extends Construct {
  readonly name: string;
  readonly transport: 'ssh' | 'local';
  readonly ssh: SshProps | undefined;
  /** The addresses, canonical (IPv6 in RFC 5952 form). */
  readonly addresses: readonly string[];
  private readonly props: RealServerHostProps;
  private readonly resource: LvsResource;

  constructor(scope: LvsStack, id: string, props: RealServerHostProps) {
    super(scope, id);
    const path = this.node.path;
    const fail = (message: string): never => ValidationError.fail(path, message);
    const wrong = stackMemberProblem('a RealServerHost', scope, props, 'ssh or local and addresses', ['ssh', 'local', 'addresses', 'interface', 'nat', 'name']);
    if (wrong) fail(wrong);
    this.name = props.name ?? id;
    const badName = nameProblem('real server', this.name);
    if (badName) fail(badName);
    const local = props.local ?? false;
    if (typeof local !== 'boolean') fail(`local must be true or false; got ${describe(local)}`);
    if (props.ssh !== undefined && local) fail('a real server is reached either over ssh or locally, not both; got ssh and local: true');
    if (props.ssh === undefined && !local) fail('a real server needs a way to reach it: ssh: { host } (or { configFile, alias }) or local: true; got neither');
    this.transport = local ? 'local' : 'ssh';
    this.ssh = props.ssh === undefined ? undefined : checkSsh(props.ssh, fail);
    const canonical = (a: unknown): unknown => {
      const p = parseAddress(a);
      return 'text' in p ? p.text : a;
    };
    if (props.nat !== undefined) {
      if (props.nat === null || typeof props.nat !== 'object' || Array.isArray(props.nat))
        fail(`nat must be an object like { gateways: ['192.0.2.1'] }; got ${describe(props.nat)}`);
      const bad = unknownKey('nat', props.nat, ['gateways', 'manage', 'clients']);
      if (bad) fail(bad);
    }
    const addresses = Array.isArray(props.addresses) ? props.addresses.map(canonical) : props.addresses;
    const network = (n: unknown): unknown => {
      if (typeof n !== 'string' || !n.includes('/')) return n;
      const at = n.lastIndexOf('/');
      return `${canonical(n.slice(0, at))}${n.slice(at)}`;
    };
    const nat = props.nat && {
      gateways: Array.isArray(props.nat.gateways) ? props.nat.gateways.map(canonical) : props.nat.gateways,
      manage: props.nat.manage,
      ...(props.nat.clients === undefined ? {} : { clients: Array.isArray(props.nat.clients) ? props.nat.clients.map(network) : props.nat.clients }),
    };
    const problem = realServerHostProblems({ addresses, interface: props.interface, nat })[0];
    if (problem) fail(problem.message);
    this.addresses = addresses as string[];
    this.props = {
      ...props,
      ...(nat
        ? { nat: { gateways: nat.gateways as string[], manage: nat.manage ?? false, ...(nat.clients ? { clients: nat.clients as string[] } : {}) } }
        : {}),
    };
    this.resource = new LvsResource(this, 'Resource', 'lvsform_real_server_host', () => this.render());
  }

  /** `lvsform_real_server_host.<logical id>`, for `depends_on`. */
  get resourceAddress(): string {
    return this.resource.address;
  }

  /** The machine behind this host, as `Director.reachKey`. */
  get reachKey(): string {
    return hostReachKey(this.transport === 'local' ? undefined : this.ssh);
  }

  private render(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.name,
      format_version: FORMAT_VERSION,
      construct_path: this.node.path,
      transport: this.transport,
    };
    if (this.ssh) out.ssh = renderSsh(this.ssh);
    out.addresses = [...this.addresses];
    if (this.props.interface !== undefined) out.interface = this.props.interface;
    if (this.props.nat) {
      out.nat = {
        gateways: [...this.props.nat.gateways],
        manage: this.props.nat.manage ?? false,
        ...(this.props.nat.clients ? { clients: [...this.props.nat.clients] } : {}),
      };
    }
    return out;
  }
}
