import type { Construct } from 'constructs';
import { TerraformElement } from '../cdktf.ts';

let suppressed = 0;

/**
 * A Terraform resource whose attributes are plain JSON built by its construct (no tokens, no undefined values).
 *
 * cdktf walks every value of every element through its token resolver, three times per synth; for 40,000 real
 * servers that walk costs seconds. `LvsStack` therefore renders these elements itself, after cdktf has resolved the
 * rest of the stack, and asks them to stay silent (`withSilentResources`) while cdktf runs. Outside that window
 * `toTerraform` returns the true fragment, so anything else that asks (tests, aspects) sees the resource.
 */
export class LvsResource extends TerraformElement {
  /** Runs `fn` while every LvsResource renders as an empty fragment. */
  static withSilentResources<T>(fn: () => T): T {
    suppressed++;
    try {
      return fn();
    } finally {
      suppressed--;
    }
  }

  static isLvsResource(x: unknown): x is LvsResource {
    return x instanceof LvsResource;
  }

  constructor(
    scope: Construct,
    id: string,
    /** The Terraform resource type, e.g. `lvsform_virtual_service`. */
    readonly resourceType: string,
    private readonly render: () => Record<string, unknown>,
  ) {
    super(scope, id, resourceType);
  }

  /** `type.logical_id`, as used in `depends_on`. */
  get address(): string {
    return `${this.resourceType}.${this.friendlyUniqueId}`;
  }

  /** The resource's attributes. */
  attributes(): Record<string, unknown> {
    return this.render();
  }

  override toTerraform(): Record<string, unknown> {
    if (suppressed > 0) return {};
    return { resource: { [this.resourceType]: { [this.friendlyUniqueId]: this.render() } } };
  }
}
