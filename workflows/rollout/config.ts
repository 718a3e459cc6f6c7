// Rolling config change: new tunables/logging rendered into every member's
// config, one member at a time with the same gates as an upgrade.
import type { ClusterSpec } from '../../common/spec';
import type { ClusterHealthView } from '../../common/operations';
import { clusterTopology, initialCluster } from '../../common/topology';
import type { ClusterPki } from '../../activities/pki';
import { Progress } from '../progress';
import { memberPki } from '../provision';
import { call, download, rollback, rolloutStep, step } from '../activities';
import { memberStep, rollMembers, rollOrder } from './rolling';
import { setSearchAttributes } from '../search-attributes';

export interface RollingConfigChangeInput {
  spec: ClusterSpec;
  pki?: ClusterPki;
  tunables?: ClusterSpec['tunables'];
  logging?: ClusterSpec['logging'];
}

export async function rollingConfigChange({
  spec,
  pki,
  tunables,
  logging,
}: RollingConfigChangeInput): Promise<{ spec: ClusterSpec; health?: ClusterHealthView; order: string[] }> {
  setSearchAttributes({ cluster: spec.name, operation: 'config-change', phase: 'Updating' });
  const next: ClusterSpec = { ...spec, tunables: tunables ?? spec.tunables, logging: logging ?? spec.logging };
  const progress = new Progress(`Config change on ${spec.name}`, ['Check cluster is safe to disrupt', 'Locate etcd release']);
  const { order, leader } = await progress.step(
    'Check cluster is safe to disrupt',
    () => rollOrder(spec),
    (o) => `order ${o.order.join(' → ')}`,
  );
  progress.add(...order.map((m) => memberStep('Reconfigure', m, leader)));
  const release = await step(progress, 'Locate etcd release', download.fetchRelease, `etcd ${spec.version}`, {
    version: spec.version,
    source: spec.artifactSource,
  });
  const initial = initialCluster(clusterTopology(spec));
  const prepare = (s: ClusterSpec, ops: typeof rolloutStep) => async (member: string) => {
    await call(ops.prepareMember, `${member}: render config`, {
      spec: s,
      member,
      pki: pki ? memberPki(pki, member) : (undefined as never),
      initialCluster: initial,
      clusterState: 'existing',
      binDir: release.binDir,
    });
  };
  const health = await rollMembers(
    spec,
    progress,
    {
      what: 'config change',
      apply: prepare(next, rolloutStep),
      revert: prepare(spec, rollback),
      version: spec.version,
      previousVersion: spec.version,
    },
    { order, leader, prefix: 'Reconfigure' },
  );
  progress.succeed();
  return { spec: next, health, order };
}
