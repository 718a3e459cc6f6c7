// Maintenance activities: database sizes, defragmentation, compaction,
// alarms, and the cleanup of a deleted cluster's schedules.
import { Client, Connection } from '@temporalio/client';
import type { ClusterSpec } from '../../common/spec';
import type { Config } from '../../infra/config';
import { MaintenanceSchedules } from '../../infra/schedules';
import { compactTo, currentRevision, defragmentMember, disarmAlarms, memberStatuses } from '../etcd/ops';
import { providerFor, type HostProvider } from '../hosts';

export function maintenanceActivities(cfg: Config) {
  const hosts = (spec: ClusterSpec): HostProvider => providerFor(spec, cfg);
  let schedules: Promise<MaintenanceSchedules> | undefined;
  const scheduleClient = () =>
    (schedules ??= (async () => {
      const { dataConverterFor } = await import('../../worker/temporal');
      const connection = await Connection.connect({ address: cfg.temporalAddress });
      return new MaintenanceSchedules(
        new Client({ connection, namespace: cfg.namespace, dataConverter: dataConverterFor(cfg) }),
        cfg.taskQueue,
      );
    })());

  return {
    async memberDbStatus({ spec }: { spec: ClusterSpec }) {
      return memberStatuses(hosts(spec), spec);
    },

    async defragMember({ spec, member }: { spec: ClusterSpec; member: string }) {
      return defragmentMember(hosts(spec), spec, member);
    },

    async currentRevision({ spec }: { spec: ClusterSpec }): Promise<number> {
      return currentRevision(hosts(spec), spec);
    },

    async compactKeyspace({ spec, revision }: { spec: ClusterSpec; revision: number }) {
      return compactTo(hosts(spec), spec, revision);
    },

    async disarmAlarms({ spec }: { spec: ClusterSpec }): Promise<string[]> {
      return disarmAlarms(hosts(spec), spec);
    },

    /** Removes a deleted cluster's schedules (called by a schedule that finds its cluster gone). */
    async deleteClusterSchedules({ cluster }: { cluster: string }): Promise<string[]> {
      return (await scheduleClient()).removeAll(cluster);
    },
  };
}
