import type { Construct } from 'constructs';
import { LocalBackend, TerraformStack } from './cdktf.ts';
import { Director } from './director.ts';
import { RealServerHost } from './real-server-host.ts';
import { describe } from './private/address.ts';
import { SAFE_NAME } from './private/checks.ts';
import { LvsResource } from './private/lvs-resource.ts';
import { markLvsStack } from './private/stacks.ts';
import { ValidationError, type ValidationProblem } from './validation-error.ts';

/**
 * A stack of directors and their services. Its id is the stack name: the name of its `cdk.tf.json` directory and of
 * the ownership record on each host, so it must match /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.
 *
 * Validation at synth gathers every problem of the stack into one `ValidationError` (code `LVS_VALIDATION`).
 */
export class LvsStack extends TerraformStack {
  /** True while an App has validated this stack in the current synth (so it is not validated twice). */
  private validatedByApp = false;

  constructor(scope: Construct, id: string) {
    if (typeof id !== 'string' || !SAFE_NAME.test(id)) {
      ValidationError.fail(id, `stack name must match ${SAFE_NAME} (it names a directory and a file on each host); got ${describe(id)}`);
    }
    super(scope, id);
    markLvsStack(this);
    // A relative state path keeps cdk.tf.json independent of the directory synth ran in.
    new LocalBackend(this, { path: `terraform.${id}.tfstate` });
    this.node.addValidation({ validate: () => [...this.validateDirectors(), ...this.validateRealServerHosts()] });
  }

  /** The real-server hosts of this stack, in the order added. */
  get realServerHosts(): RealServerHost[] {
    return this.node.children.filter((c): c is RealServerHost => c instanceof RealServerHost);
  }

  /** The directors of this stack, in the order added. */
  get directors(): Director[] {
    return this.node.children.filter((c): c is Director => c instanceof Director);
  }

  /** Every problem of this stack's constructs, with construct paths, in tree order; empty when the stack is valid. */
  collectProblems(): ValidationProblem[] {
    const problems: ValidationProblem[] = [];
    for (const construct of this.node.findAll()) {
      for (const message of construct.node.validate()) problems.push({ path: construct.node.path, message });
    }
    return problems;
  }

  /** Throws one ValidationError listing every problem of the stack. */
  override runAllValidations(): void {
    if (this.validatedByApp) return;
    const problems = this.collectProblems();
    if (problems.length > 0) throw new ValidationError(problems);
  }

  /** @internal Called by App.synth after it validated every stack. */
  _markValidated(value: boolean): void {
    this.validatedByApp = value;
  }

  override prepareStack(): void {
    // lvsform resources hold no tokens and create nothing on resolve: skip cdktf's preparing walk over them.
    LvsResource.withSilentResources(() => super.prepareStack());
  }

  override toTerraform(): Record<string, unknown> {
    const tf = LvsResource.withSilentResources(() => super.toTerraform()) as Record<string, unknown>;
    const resources = (tf.resource ??= {}) as Record<string, Record<string, unknown>>;
    for (const element of lvsResources(this)) {
      const byType = (resources[element.resourceType] ??= {});
      byType[element.friendlyUniqueId] = element.attributes();
    }
    if (Object.keys(resources).length === 0) delete tf.resource;
    return tf;
  }

  override toHclTerraform(): { hcl: string; metadata: Record<string, unknown> } {
    throw new Error('lvsform synthesizes JSON only; unset SYNTH_HCL_OUTPUT');
  }

  private validateRealServerHosts(): string[] {
    return realServerHostProblems(this);
  }

  private validateDirectors(): string[] {
    const problems: string[] = [];
    const byName = new Map<string, Director>();
    const byReach = new Map<string, Director>();
    for (const director of this.directors) {
      const sameName = byName.get(director.name);
      if (sameName) {
        problems.push(
          `directors ${sameName.node.path} and ${director.node.path} share the name ${director.name}; names identify directors in plans and records, give each its own`,
        );
      } else {
        byName.set(director.name, director);
      }
      const key = director.reachKey;
      const sameHost = byReach.get(key);
      if (sameHost) {
        problems.push(
          `directors ${sameHost.node.path} and ${director.node.path} reach the same machine (${key}); one host has one IPVS table and one record per stack, describe it with one Director`,
        );
      } else {
        byReach.set(key, director);
      }
    }
    return problems;
  }
}

/**
 * A real server's address belongs to one host (two hosts claiming it would both prepare it, and each would take the
 * other's VIPs for its own); a host's name is unique among hosts and directors (plans and messages name it); and a
 * machine is one host: a director that is also a real server would take its own lock twice.
 */
function realServerHostProblems(stack: LvsStack): string[] {
  const problems: string[] = [];
  const byAddress = new Map<string, RealServerHost>();
  const byName = new Map<string, string>(stack.directors.map((d) => [d.name, d.node.path]));
  const byReach = new Map<string, string>(stack.directors.map((d) => [d.reachKey, d.node.path]));
  for (const host of stack.realServerHosts) {
    for (const a of host.addresses) {
      const first = byAddress.get(a);
      if (first && first !== host) {
        problems.push(
          `address ${a} is claimed by real-server hosts ${first.node.path} and ${host.node.path}; an address is one machine's, name it on one host`,
        );
      } else byAddress.set(a, host);
    }
    const sameName = byName.get(host.name);
    if (sameName) problems.push(`${sameName} and ${host.node.path} share the name ${host.name}; plans and messages name hosts, give each its own`);
    else byName.set(host.name, host.node.path);
    const sameMachine = byReach.get(host.reachKey);
    if (sameMachine) {
      problems.push(
        `${sameMachine} and ${host.node.path} reach the same machine (${host.reachKey}); a machine that is both director and real server is not supported yet, describe it once`,
      );
    } else byReach.set(host.reachKey, host.node.path);
  }
  return problems;
}

function lvsResources(stack: TerraformStack): LvsResource[] {
  const out: LvsResource[] = [];
  const visit = (c: Construct): void => {
    if (c instanceof LvsResource) out.push(c);
    for (const child of c.node.children) if (!(child instanceof TerraformStack)) visit(child);
  };
  for (const child of stack.node.children) visit(child);
  return out;
}
