// etcd membership and leadership activities. Each checks the cluster first,
// so a retry or a replay after a worker crash never adds a member twice or
// removes the wrong one.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec } from '../../common/spec';
import type { Config } from '../../infra/config';
import { providerFor, type HostProvider } from '../hosts';
import { clusterHealth, type ClusterHealth } from './client';
import { safeToDisrupt } from './gates';
import { addLearner, moveLeader, promoteLearner, removeMember } from './membership';

export function etcdActivities(cfg: Config) {
  const hosts = (spec: ClusterSpec): HostProvider => providerFor(spec, cfg);
  return {
    /** MemberAdd as a learner; a member already listed with this peer URL (a retry) is reused. */
    async addLearner({ spec, member }: { spec: ClusterSpec; member: string }) {
      return addLearner(hosts(spec), spec, { member });
    },

    /** Promotes a learner; fails (retryably) while etcd says it has not caught up. A voter already is a no-op. */
    async promoteLearner({ spec, member }: { spec: ClusterSpec; member: string }) {
      return promoteLearner(hosts(spec), spec, { member });
    },

    /** MemberRemove by name or peer URL; absent already is a no-op. */
    async removeEtcdMember({ spec, member }: { spec: ClusterSpec; member: string }) {
      return removeMember(hosts(spec), spec, { member });
    },

    /**
     * The one leadership transfer (before a restart, a removal or a defrag):
     * moves leadership away from `from` (to `to`, or any other healthy voter)
     * when `from` leads; a no-op otherwise. Verified: throws (retryably) until
     * the leader changed.
     */
    async transferLeadership({ spec, from, to }: LeadershipMove): Promise<{ moved: boolean; leader: string }> {
      return transferLeadership(hosts(spec), spec, from, to);
    },

    /**
     * Before one member of a roll restarts, in one activity: the safety check (throws a
     * non-retryable `Refused` failure when quorum would not survive it), then the leadership
     * transfer away from it.
     */
    async prepareRestart({ spec, from, to }: LeadershipMove): Promise<{ moved: boolean; leader: string }> {
      return prepareRestart(hosts(spec), spec, from, to);
    },

    /**
     * `etcdctl snapshot save` from the first member that answers, kept by the
     * host provider under `name` (purged with the cluster).
     * An existing complete snapshot of that name is kept (a retry after a crash).
     */
    async snapshotCluster({ spec, name }: { spec: ClusterSpec; name: string }): Promise<{ file: string; bytes: number; member: string }> {
      return hosts(spec).saveSnapshot(spec, name);
    },
  };
}

/** What the prepareRestart activity does (documented there); rollMember runs it first too. */
export async function prepareRestart(
  host: HostProvider,
  spec: ClusterSpec,
  from: string,
  to?: string,
): Promise<{ moved: boolean; leader: string }> {
  // The reading the safety check judged also tells who leads (no second reading).
  return transferLeadership(host, spec, from, to, await safeToDisrupt(host, spec, { down: [from] }));
}

interface LeadershipMove {
  spec: ClusterSpec;
  from: string;
  to?: string;
}

/** What the transferLeadership activity does (documented there). */
async function transferLeadership(
  host: HostProvider,
  spec: ClusterSpec,
  from: string,
  to?: string,
  read?: ClusterHealth,
): Promise<{ moved: boolean; leader: string }> {
  const h = read ?? (await clusterHealth(host, spec));
  if (!h.leader) throw ApplicationFailure.retryable('no leader right now', 'NoLeader');
  if (h.leader !== from) return { moved: false, leader: h.leader };
  const target = to || h.members.find((m) => m.name !== from && !m.isLearner && m.healthy)?.name;
  if (!target) throw ApplicationFailure.nonRetryable(`no healthy voter to move leadership to from ${from}`, 'NoLeaderTarget');
  await moveLeader(host, spec, { to: target });
  const after = await clusterHealth(host, spec);
  if (after.leader !== target)
    throw ApplicationFailure.retryable(`leadership did not move to ${target} yet (leader: ${after.leader ?? 'none'})`, 'LeaderNotMoved');
  return { moved: true, leader: target };
}
