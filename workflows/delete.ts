// Delete a cluster: stop every member, remove its service files; data dirs
// (and the cluster's keys in the key store) are kept unless the caller asked
// to purge them.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { ClusterSpec } from '../common/spec';
import { EtcdCluster, EtcdOperation } from '../common/searchAttributes';
import { Progress } from './progress';
import { hostOps } from './activities';

export interface DeleteInput {
  spec: ClusterSpec;
  purge: boolean;
}

export async function deleteCluster({ spec, purge }: DeleteInput): Promise<void> {
  upsertSearchAttributes([
    { key: EtcdCluster, value: spec.name },
    { key: EtcdOperation, value: 'delete' },
  ]);
  const progress = new Progress(`Delete ${spec.name}${purge ? ' (purge data)' : ''}`, ['Stop members', 'Remove host files']);
  await progress.step('Stop members', () =>
    Promise.all(
      spec.members.map((m) =>
        hostOps.stopMember.executeWithOptions({ summary: `stop ${m.name}` }, [{ cluster: spec.name, member: m.name }]),
      ),
    ),
  );
  await progress.step(
    'Remove host files',
    async () => {
      await Promise.all(
        spec.members.map((m) =>
          hostOps.removeMemberHost.executeWithOptions({ summary: `${m.name}: remove config, certificates${purge ? ' and data' : ''}` }, [
            { cluster: spec.name, member: m.name, purge },
          ]),
        ),
      );
      if (purge) {
        await hostOps.purgeClusterDir.executeWithOptions({ summary: `remove what is left of ${spec.name} (set-aside data, snapshots)` }, [{ cluster: spec.name }]);
        await hostOps.pruneClusterKeys.executeWithOptions({ summary: `remove ${spec.name}'s private keys from the key store` }, [{ cluster: spec.name }]);
      }
    },
    () => (purge ? 'data purged' : 'data dirs kept'),
  );
  progress.succeed();
}
