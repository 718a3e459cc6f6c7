// Delete a cluster: stop every member, remove its service files. Data dirs
// (and the cluster's keys in the key store) are purged when asked; else data
// dirs are renamed aside (`<dataDir>.deleted-<stamp>`): kept for the operator,
// but a new cluster with the same names never starts on them.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { ClusterSpec } from '../common/spec';
import { EtcdCluster, EtcdOperation } from '../common/searchAttributes';
import { Progress } from './progress';
import { hostOps } from './activities';
import { stampNow } from './membership/join';

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
        hostOps.stopMember.executeWithOptions({ summary: `stop ${m.name}` }, [{ cluster: spec.name, member: m.name, spec }]),
      ),
    ),
  );
  const stamp = stampNow();
  await progress.step(
    'Remove host files',
    async () => {
      const r = await Promise.all(
        spec.members.map((m) =>
          hostOps.removeMemberHost.executeWithOptions(
            { summary: `${m.name}: remove config, certificates${purge ? ' and data' : '; data dir set aside'}` },
            [{ cluster: spec.name, member: m.name, purge, spec, ...(purge ? {} : { setAsideStamp: stamp }) }],
          ),
        ),
      );
      if (purge) {
        await hostOps.purgeClusterDir.executeWithOptions({ summary: `remove what is left of ${spec.name} (set-aside data, snapshots)` }, [
          { cluster: spec.name, spec },
        ]);
        await hostOps.pruneClusterKeys.executeWithOptions({ summary: `remove ${spec.name}'s private keys from the key store` }, [
          { cluster: spec.name },
        ]);
      }
      return r.filter((x) => x.setAside).length;
    },
    (kept) => (purge ? 'data purged' : `${kept} data dir(s) kept as <dataDir>.deleted-${stamp}`),
  );
  progress.succeed();
}
