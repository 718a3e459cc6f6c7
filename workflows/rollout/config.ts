// Rolling config change: new tunables/logging rendered into every member's
// config, one member at a time with the same gates as an upgrade.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { ClusterSpec } from '../../common/spec';
import type { ClusterHealthView } from '../../common/operations';
import { clusterTopology, initialCluster } from '../../common/topology';
import { EtcdCluster, EtcdOperation, EtcdPhase } from '../../common/searchAttributes';
import type { ClusterPki } from '../../activities/pki';
import { Progress } from '../progress';
import { memberPki } from '../provision';
import { memberOps, rollbackOps, slow } from './proxies';
import { memberStep, rollMembers, rollOrder } from './rolling';

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
  upsertSearchAttributes([
    { key: EtcdCluster, value: spec.name },
    { key: EtcdOperation, value: 'config-change' },
    { key: EtcdPhase, value: 'Updating' },
  ]);
  const next: ClusterSpec = { ...spec, tunables: tunables ?? spec.tunables, logging: logging ?? spec.logging };
  const progress = new Progress(`Config change on ${spec.name}`, ['Check cluster is safe to disrupt', 'Locate etcd release']);
  const { order, leader } = await progress.step(
    'Check cluster is safe to disrupt',
    () => rollOrder(spec),
    (o) => `order ${o.order.join(' → ')}`,
  );
  progress.add(...order.map((m) => memberStep('Reconfigure', m, leader)));
  const release = await progress.step('Locate etcd release', () =>
    slow.fetchRelease.executeWithOptions({ summary: `etcd ${spec.version}` }, [{ version: spec.version, source: spec.artifactSource }]),
  );
  const initial = initialCluster(clusterTopology(spec));
  const prepare = (s: ClusterSpec, ops: typeof memberOps) => async (member: string) => {
    await ops.prepareMember.executeWithOptions({ summary: `${member}: render config` }, [
      {
        spec: s,
        member,
        pki: pki ? memberPki(pki, member) : (undefined as never),
        initialCluster: initial,
        clusterState: 'existing',
        binDir: release.binDir,
      },
    ]);
  };
  const health = await rollMembers(
    spec,
    progress,
    {
      what: 'config change',
      apply: prepare(next, memberOps),
      revert: prepare(spec, rollbackOps),
      version: spec.version,
      previousVersion: spec.version,
    },
    { order, leader, prefix: 'Reconfigure' },
  );
  progress.succeed();
  return { spec: next, health, order };
}
