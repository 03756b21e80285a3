/**
 * One director as the app declares it: where it is, the table it should hold, the construct path of each service, and
 * what else it asks for (host set-up, fields a health checker owns). The synthesized-JSON reader builds it; the plan,
 * doctor, status and state read it.
 */
import type { HostTarget } from './host-target.ts';
import type { HostSetupSpec } from './host-setup.ts';
import type { Table } from './model.ts';
import type { RuntimeManaged } from './runtime-managed.ts';
import type { DirectorSettingsSpec } from './director-settings.ts';

export interface DesiredDirector {
  readonly name: string;
  readonly target: HostTarget;
  readonly table: Table;
  /** serviceId → construct path. */
  readonly paths: ReadonlyMap<string, string>;
  /** Host set-up that survives a reboot (the Director's `setup`), when the app asked for it. */
  readonly setup?: HostSetupSpec;
  /** Real-server fields a health checker owns at run time (`runtimeManaged`), when the app leaves any. */
  readonly runtime?: RuntimeManaged;
  /** Director settings (VIPs, timeouts, sysctls), when the app manages any. */
  readonly settings?: DirectorSettingsSpec;
}
