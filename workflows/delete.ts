// Delete a cluster: stop every member, remove its service files. Data dirs
// (and the cluster's keys in the key store) are purged when asked; else data
// dirs are renamed aside (`<dataDir>.deleted-<stamp>`): kept for the operator,
// but a new cluster with the same names never starts on them.
import type { ClusterSpec } from '../common/spec';
import { Progress } from './progress';
import { call, hostStep } from './activities';
import { stampNow } from './membership/join';
import { setSearchAttributes } from './search-attributes';

export interface DeleteInput {
  spec: ClusterSpec;
  purge: boolean;
}

export async function deleteCluster({ spec, purge }: DeleteInput): Promise<void> {
  setSearchAttributes({ cluster: spec.name, operation: 'delete', phase: 'Deleting' });
  const progress = new Progress(`Delete ${spec.name}${purge ? ' (purge data)' : ''}`, ['Stop members', 'Remove host files']);
  await progress.step('Stop members', () =>
    Promise.all(spec.members.map((m) => call(hostStep.stopMember, `stop ${m.name}`, { cluster: spec.name, member: m.name, spec }))),
  );
  const stamp = stampNow();
  await progress.step(
    'Remove host files',
    async () => {
      const r = await Promise.all(
        spec.members.map((m) =>
          call(hostStep.removeMemberHost, `${m.name}: remove config, certificates${purge ? ' and data' : '; data dir set aside'}`, {
            cluster: spec.name,
            member: m.name,
            purge,
            spec,
            ...(purge ? {} : { setAsideStamp: stamp }),
          }),
        ),
      );
      if (purge) {
        await call(hostStep.purgeClusterDir, `remove what is left of ${spec.name} (set-aside data, snapshots)`, {
          cluster: spec.name,
          spec,
        });
        await call(hostStep.pruneClusterKeys, `remove ${spec.name}'s private keys from the key store`, { cluster: spec.name });
      }
      return r.filter((x) => x.setAside).length;
    },
    (kept) => (purge ? 'data purged' : `${kept} data dir(s) kept as <dataDir>.deleted-${stamp}`),
  );
  progress.succeed();
}
