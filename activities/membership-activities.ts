// Membership activities, bound to the worker's configuration (spread into
// createActivities). Each checks the world first, so a retry or a replay
// after a worker crash never adds a member twice, removes the wrong one or
// moves a data dir that is still in use.
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../infra/config';
import type { ClusterSpec } from '../common/spec';
import type { ClusterHealthView } from '../common/operations';
import { clusterTopology, memberTopology } from '../common/topology';
import { clusterHealth, type ClusterHealth } from './etcd/client';
import { addLearner, moveLeader, promoteLearner, removeMember, withEtcdClient } from './etcd';
import { hostFiles, providerFor, type HostProvider } from './hosts';
import { shQuote } from './hosts/files';
import { toView } from './index';

/**
 * Pure rule for removing `member` (separated for unit tests). Returns the
 * reasons it is unsafe (empty = safe). The member itself may be unhealthy —
 * removing broken members is the point — but every other voter must be
 * healthy, there must be a leader and no alarm, the change must be able to
 * commit under the current membership, and the voters left must keep quorum.
 */
export function removalRisks(h: ClusterHealth, member: string): string[] {
  const risks: string[] = [];
  if (h.error) risks.push(`cluster unreachable: ${h.error}`);
  const target = h.members.find((m) => m.name === member);
  const voters = h.members.filter((m) => !m.isLearner);
  const others = voters.filter((m) => m.name !== member);
  const unhealthy = others.filter((m) => !m.healthy);
  if (unhealthy.length) risks.push(`unhealthy voting members: ${unhealthy.map((m) => m.name).join(', ')}`);
  if (!h.leader) risks.push('no leader');
  if (h.alarms.length) risks.push(`alarms: ${h.alarms.join(', ')}`);
  if (target && !target.isLearner && others.length === 0) risks.push(`${member} is the last voting member`);
  if (target && !target.isLearner) {
    const healthyNow = voters.filter((m) => m.healthy).length;
    const quorumNow = Math.floor(voters.length / 2) + 1;
    if (healthyNow < quorumNow)
      risks.push(
        `quorum lost already: ${healthyNow} of ${voters.length} voting members healthy, ${quorumNow} needed to commit the removal`,
      );
    const left = others.filter((m) => m.healthy).length;
    const quorumAfter = Math.floor(others.length / 2) + 1;
    if (others.length > 0 && left < quorumAfter) {
      risks.push(`quorum would be lost: ${left} of ${others.length} remaining voting members healthy, ${quorumAfter} needed`);
    }
  }
  return risks;
}

/** `initial-cluster: …` in a rendered config, replaced in place (everything else kept byte for byte). */
export function withInitialCluster(yamlText: string, initialCluster: string): string {
  const value = /^[A-Za-z0-9._=:/,-]+$/.test(initialCluster) ? initialCluster : JSON.stringify(initialCluster);
  const re = /^initial-cluster:.*$/m;
  if (re.test(yamlText)) return yamlText.replace(re, `initial-cluster: ${value}`);
  return `${yamlText.replace(/\n?$/, '\n')}initial-cluster: ${value}\n`;
}

/** `<dataDir>.removed-<stamp>`: where a removed member's data is kept; never reused. */
export function setAsidePath(dataDir: string, stamp: string): string {
  return `${dataDir.replace(/\/+$/, '')}.removed-${stamp}`;
}

export function createMembershipActivities(cfg: Config) {
  const hosts = (spec: ClusterSpec): HostProvider => providerFor(spec, cfg);

  /** Is a member with this name or peer URL in etcd's member list? */
  const listed = async (spec: ClusterSpec, member: string): Promise<boolean> => {
    const m = spec.members.find((x) => x.name === member);
    const peerURL = m ? memberTopology(spec, m).peerURL : undefined;
    const endpoints = clusterTopology(spec)
      .filter((t) => t.name !== member)
      .map((t) => t.clientURL);
    if (endpoints.length === 0) return false;
    return withEtcdClient(
      hosts(spec),
      spec,
      async (c) => {
        const { members } = await c.cluster.memberList({ linearizable: true });
        return members.some((x) => x.name === member || (peerURL !== undefined && x.peerURLs.includes(peerURL)));
      },
      { endpoints },
    );
  };

  const setAside = async (spec: ClusterSpec, member: string, stamp: string): Promise<string | undefined> => {
    const host = hosts(spec);
    const at = { spec, member };
    const { dataDir } = hostFiles(spec, member);
    if (!(await host.exists(at, dataDir))) return undefined;
    const aside = setAsidePath(dataDir, stamp);
    if (await host.exists(at, aside))
      throw ApplicationFailure.nonRetryable(`${aside} already exists; refusing to overwrite kept data`, 'DataAsideExists');
    await host.move(at, dataDir, aside);
    return aside;
  };

  return {
    /** Safety gate before a removal: throws a non-retryable `Refused` failure with the reasons. */
    async checkSafeToRemove({ spec, member }: { spec: ClusterSpec; member: string }): Promise<ClusterHealthView> {
      const h = await clusterHealth(hosts(spec), spec);
      const risks = removalRisks(h, member);
      if (risks.length)
        throw ApplicationFailure.create({
          type: 'Refused',
          message: `refused to remove ${member}: ${risks.join('; ')}`,
          nonRetryable: true,
        });
      return toView(h);
    },

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
     * Moves leadership from `from` to a healthy voting follower. A no-op when
     * `from` is not the leader (any more).
     */
    async moveLeaderAway({ spec, from }: { spec: ClusterSpec; from: string }): Promise<{ moved: boolean; to?: string; leader?: string }> {
      const h = await clusterHealth(hosts(spec), spec);
      if (!h.leader) throw new Error(`cluster ${spec.name} has no leader right now`);
      if (h.leader !== from) return { moved: false, leader: h.leader };
      const to = h.members.find((m) => m.name !== from && !m.isLearner && m.healthy);
      if (!to) throw ApplicationFailure.nonRetryable(`no healthy voting member to move leadership to from ${from}`, 'NoLeaderCandidate');
      await moveLeader(hosts(spec), spec, { to: to.name });
      const after = await clusterHealth(hosts(spec), spec);
      if (after.leader === from) throw new Error(`${from} is still the leader after MoveLeader to ${to.name}`);
      return { moved: true, to: to.name, leader: after.leader };
    },

    /**
     * Points a member's stored config (initial-cluster) and etcdctl endpoints
     * at the current membership, without restarting it: a running member
     * ignores initial-cluster, but a restart after a data loss or an operator
     * reading the file must see the truth. A member whose host files are gone
     * is skipped.
     */
    async writeMemberList({
      spec,
      member,
      initialCluster,
    }: {
      spec: ClusterSpec;
      member: string;
      initialCluster: string;
    }): Promise<{ changed: boolean; missing?: boolean }> {
      const host = hosts(spec);
      const at = { spec, member };
      const files = hostFiles(spec, member);
      const config = (await host.readFile(at, files.configFile).catch(() => undefined))?.toString('utf8');
      if (config === undefined) return { changed: false, missing: true };
      let changed = await host.writeFile(at, files.configFile, withInitialCluster(config, initialCluster), 0o644);
      const env = (await host.readFile(at, files.envFile).catch(() => undefined))?.toString('utf8');
      if (env !== undefined) {
        const topo = clusterTopology(spec);
        const endpoints = [...topo.filter((t) => t.name === member), ...topo.filter((t) => t.name !== member)]
          .map((t) => t.clientURL)
          .join(',');
        const next = env.replace(/^ETCDCTL_ENDPOINTS=.*$/m, `ETCDCTL_ENDPOINTS=${shQuote(endpoints)}`);
        changed = (await host.writeFile(at, files.envFile, next, 0o644)) || changed;
      }
      return { changed };
    },

    /**
     * Before a member joins: a data dir left from an earlier life of this
     * member name (and not in use by a listed member) is set aside, so the
     * joining member starts empty and never replays another cluster's WAL.
     */
    async ensureFreshDataDir({
      spec,
      member,
      stamp,
    }: {
      spec: ClusterSpec;
      member: string;
      stamp: string;
    }): Promise<{ setAside?: string }> {
      const { dataDir } = hostFiles(spec, member);
      const used =
        ((
          await hosts(spec)
            .list({ spec, member }, dataDir)
            .catch(() => undefined)
        )?.length ?? 0) > 0;
      if (!used) return {};
      if (await listed(spec, member)) return {};
      return { setAside: await setAside(spec, member, stamp) };
    },

    /**
     * After MemberRemove: stop the process, keep its data dir renamed aside
     * (`<dataDir>.removed-<stamp>`, never reused) and remove its config,
     * certificates, binaries and pidfile. Refuses while etcd still lists it.
     */
    async retireMemberHost({
      spec,
      member,
      stamp,
    }: {
      spec: ClusterSpec;
      member: string;
      stamp: string;
    }): Promise<{ stopped: boolean; setAside?: string; removed: number }> {
      if (await listed(spec, member)) {
        throw ApplicationFailure.nonRetryable(
          `${member} is still a member of ${spec.name}: remove it from the cluster first`,
          'StillMember',
        );
      }
      const stop = await hosts(spec).stop({ cluster: spec.name, member, spec });
      const aside = await setAside(spec, member, stamp);
      const { removed } = await hosts(spec).remove({ cluster: spec.name, member, purge: false, spec });
      return { stopped: stop.stopped, setAside: aside, removed: removed.length };
    },
  };
}
