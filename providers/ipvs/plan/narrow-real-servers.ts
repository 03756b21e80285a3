/**
 * The real servers of a run narrowed to some directors (`--director`) or construct paths (`--target`): an operator
 * who applies lb1 alone expects the real servers lb1's services send to to be ready for them, and nothing else touched.
 * So each real server one of the run's services sends to is prepared for those services only (`narrowedTo`: `prepFor`
 * over the run's part of the tables), and nothing is removed or put back there (plan/real-server.ts, `holdRemovals`),
 * since a service outside the run may still send to it. A real server none of them sends to is left out of the run.
 */
import type { DesiredDirector } from '../model/desired-director.ts';
import type { DesiredRealServer } from '../model/desired-real-server.ts';
import { serviceId } from '../model/model.ts';
import { prepFor } from '../model/real-server.ts';
import { pathIsTargeted } from './plan.ts';

export function narrowRealServers(
  realServers: readonly DesiredRealServer[],
  directors: readonly DesiredDirector[],
  targets: readonly string[],
): DesiredRealServer[] {
  const tables = directors.map((d) => ({
    name: d.name,
    table:
      targets.length === 0 ? d.table : { ...d.table, services: d.table.services.filter((s) => pathIsTargeted(d.paths.get(serviceId(s.key)) ?? '', targets)) },
  }));
  return realServers.flatMap((rs) => {
    const prep = prepFor(rs.spec.addresses, tables);
    return prep.backing.length > 0 ? [{ ...rs, narrowedTo: prep }] : [];
  });
}
