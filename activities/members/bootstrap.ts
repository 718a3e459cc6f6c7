// A new cluster's first start and its confirmation, each in one activity:
// no workflow task between the first member and the others, nor between the
// health gate, the write check and marking every member `existing`.
import type { ClusterHealthView } from '../../common/operations';
import type { ClusterSpec } from '../../common/spec';
import type { Config } from '../../infra/config';
import { providerFor, type StartMemberResult } from '../hosts';
import { verifyWriteRead, waitHealthy } from '../etcd/gates';
import { awaitPeerServing } from '../etcd/peer-probe';

export function bootstrapActivities(cfg: Config) {
  return {
    /**
     * A new cluster's members: `first` alone until it answers on its peer port (at most
     * `awaitPeerMs`), then the others at once (see etcd/peer-probe.ts). Idempotent, like each start.
     */
    async startNewMembers({
      spec,
      first,
      awaitPeerMs,
    }: {
      spec: ClusterSpec;
      first: string;
      awaitPeerMs: number;
    }): Promise<{ started: Record<string, StartMemberResult>; firstServing: boolean }> {
      const host = providerFor(spec, cfg);
      const start = async (member: string) => [member, await host.start({ cluster: spec.name, member, spec })] as const;
      const head = await start(first);
      const firstServing = await awaitPeerServing(host, spec, first, Math.min(Math.max(awaitPeerMs, 0), 10_000));
      const rest = await Promise.all(spec.members.filter((m) => m.name !== first).map((m) => start(m.name)));
      return { started: Object.fromEntries([head, ...rest]), firstServing };
    },

    /**
     * The health gate (polling `pollMs` inside the attempt), then `markerKey` written and read
     * back, then every member's config marked `initial-cluster-state: existing` (all members
     * have bootstrapped once all are healthy). Throws, retryably, until the cluster is healthy.
     */
    async confirmBootstrap({
      spec,
      pollMs,
      markerKey,
    }: {
      spec: ClusterSpec;
      pollMs: number;
      markerKey: string;
    }): Promise<{ health: ClusterHealthView; key: string; marked: number }> {
      const host = providerFor(spec, cfg);
      const health = await waitHealthy(host, { spec, expectMembers: spec.members.length, pollMs });
      const { key } = await verifyWriteRead(host, spec, markerKey);
      await Promise.all(spec.members.map((m) => host.setClusterState({ spec, member: m.name }, 'existing')));
      return { health, key, marked: spec.members.length };
    },
  };
}
