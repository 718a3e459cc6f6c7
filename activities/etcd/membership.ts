// Membership changes, each idempotent: the cluster's member list is read
// first and the call is skipped when the change is already in place, so a
// retried activity never adds a member twice or removes the wrong one.
// Safety gates (quorum, health) belong to the workflow; these only refuse
// what etcd itself would get wrong or what can never succeed.
import { ApplicationFailure } from '@temporalio/common';
import { Etcd3, IMember } from 'etcd3';
import { ClusterSpec } from '../../common/spec';
import { clusterTopology, memberTopology } from '../../common/topology';
import { ClientOptions, clusterHealth, clientCredentials, memberIdHex, newEtcdClient, withEtcdClient } from './client';
import type { HostProvider } from '../hosts';

/**
 * With strict-reconfig-check (etcd's default) a membership change is refused
 * while any voting member is down or connected for less than 5 s
 * ("etcdserver: unhealthy cluster"), and while a learner is pending
 * ("too many learner members"). Both pass with time: keep them retryable,
 * with a message that says why.
 */
function explainReconfigError(e: unknown): never {
  const msg = e instanceof Error ? e.message : String(e);
  if (/unhealthy cluster/.test(msg)) {
    throw new Error(`cluster not ready for a membership change (a voting member is down or reconnected less than 5 s ago): ${msg}`);
  }
  if (/too many learner members/.test(msg)) throw new Error(`another learner is still pending: promote or remove it first: ${msg}`);
  throw e;
}

function findListed(members: IMember[], name: string, peerURL?: string): IMember | undefined {
  return members.find((m) => m.name === name || (peerURL !== undefined && m.peerURLs.includes(peerURL)));
}

/** Client endpoints of spec members other than `except` (the member being added or removed). */
function endpointsExcept(spec: ClusterSpec, except: string): string[] {
  const eps = clusterTopology(spec)
    .filter((t) => t.name !== except)
    .map((t) => t.clientURL);
  if (eps.length === 0) throw ApplicationFailure.nonRetryable(`cluster ${spec.name} has no member other than ${except}`, 'NoEndpoints');
  return eps;
}

/**
 * The member list as the members other than `member` see it, and the entry
 * for `member` by name or peer URL (the spec's when not given).
 */
async function withMemberList<T>(
  hosts: HostProvider,
  spec: ClusterSpec,
  member: { name: string; peerURL?: string },
  opts: ClientOptions,
  fn: (c: Etcd3, members: IMember[], listed: IMember | undefined) => Promise<T>,
): Promise<T> {
  const t = spec.members.find((x) => x.name === member.name);
  const peerURL = member.peerURL ?? (t ? memberTopology(spec, t).peerURL : undefined);
  return withEtcdClient(
    hosts,
    spec,
    async (c) => {
      const { members } = await c.cluster.memberList({ linearizable: true });
      return fn(c, members, findListed(members, member.name, peerURL));
    },
    { ...opts, endpoints: endpointsExcept(spec, member.name) },
  );
}

/** Is `member` (by name or peer URL) in etcd's member list? With no other member to ask, no. */
export async function isListed(hosts: HostProvider, spec: ClusterSpec, member: string, opts: ClientOptions = {}): Promise<boolean> {
  if (!spec.members.some((m) => m.name !== member)) return false;
  return withMemberList(hosts, spec, { name: member }, opts, async (_c, _members, listed) => listed !== undefined);
}

export interface AddLearnerResult {
  id: string;
  alreadyMember: boolean;
  isLearner: boolean;
  /** initial-cluster for the new member's config (it starts with initial-cluster-state existing). */
  initialCluster: string;
}

/**
 * Adds `member` (which must be in `spec`) as a learner. When a member with
 * its peer URL is already listed (a retry, or a crash after the add), returns
 * that one.
 */
export async function addLearner(
  hosts: HostProvider,
  spec: ClusterSpec,
  input: { member: string },
  opts: ClientOptions = {},
): Promise<AddLearnerResult> {
  const m = spec.members.find((x) => x.name === input.member);
  if (!m) throw ApplicationFailure.nonRetryable(`member "${input.member}" is not in the spec of cluster ${spec.name}`, 'UnknownMember');
  const t = memberTopology(spec, m);
  return withEtcdClient(
    hosts,
    spec,
    async (c) => {
      let { members } = await c.cluster.memberList({ linearizable: true });
      let listed = members.find((x) => x.peerURLs.includes(t.peerURL));
      const sameName = members.find((x) => x.name === m.name);
      if (!listed && sameName) {
        throw ApplicationFailure.nonRetryable(
          `cluster ${spec.name} already has a member named ${m.name} with peer URLs ${sameName.peerURLs.join(',')} (wanted ${t.peerURL}): remove it first`,
          'MemberConflict',
        );
      }
      const alreadyMember = !!listed;
      if (!listed) {
        const r = await c.cluster.memberAdd({ peerURLs: [t.peerURL], isLearner: true }).catch(explainReconfigError);
        listed = r.member;
        members = r.members;
      }
      return {
        id: memberIdHex(listed.ID),
        alreadyMember,
        isLearner: !!listed.isLearner,
        initialCluster: initialClusterFor(spec, members, listed.ID, m.name),
      };
    },
    { ...opts, endpoints: endpointsExcept(spec, m.name) },
  );
}

/** What `etcdctl member add` prints as ETCD_INITIAL_CLUSTER, with unstarted members named from the spec. */
function initialClusterFor(spec: ClusterSpec, members: IMember[], newId: string, newName: string): string {
  const topo = clusterTopology(spec);
  return members
    .flatMap((x) => {
      const name = x.ID === newId ? newName : x.name || topo.find((t) => x.peerURLs.includes(t.peerURL))?.name || '';
      return x.peerURLs.map((u) => `${name}=${u}`);
    })
    .join(',');
}

/**
 * Promotes a learner to a voting member. A member that already votes is a
 * no-op. A learner that has not caught up yet fails with a retryable error
 * (etcd: "can only promote a learner member which is in sync with leader").
 */
export async function promoteLearner(
  hosts: HostProvider,
  spec: ClusterSpec,
  input: { member: string },
  opts: ClientOptions = {},
): Promise<{ promoted: boolean; id: string }> {
  return withMemberList(hosts, spec, { name: input.member }, opts, async (c, _members, listed) => {
    if (!listed) throw ApplicationFailure.nonRetryable(`member ${input.member} is not in cluster ${spec.name}`, 'UnknownMember');
    if (!listed.isLearner) return { promoted: false, id: memberIdHex(listed.ID) };
    try {
      await c.cluster.memberPromote({ ID: listed.ID });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (/in sync with leader|not ready/i.test(msg))
        throw new Error(`learner ${input.member} has not caught up with the leader yet: ${msg}`);
      throw e;
    }
    return { promoted: true, id: memberIdHex(listed.ID) };
  });
}

/**
 * Removes a member by name (or peer URL). Absent already → no-op. The spec
 * may or may not still list the member; endpoints come from the others.
 */
export async function removeMember(
  hosts: HostProvider,
  spec: ClusterSpec,
  input: { member: string; peerURL?: string },
  opts: ClientOptions = {},
): Promise<{ removed: boolean; id?: string }> {
  return withMemberList(hosts, spec, { name: input.member, peerURL: input.peerURL }, opts, async (c, members, listed) => {
    if (!listed) return { removed: false };
    const voters = members.filter((x) => !x.isLearner);
    if (!listed.isLearner && voters.length === 1) {
      throw ApplicationFailure.nonRetryable(
        `refusing to remove ${input.member}: it is the last voting member of ${spec.name}`,
        'LastVoter',
      );
    }
    await c.cluster.memberRemove({ ID: listed.ID }).catch(explainReconfigError);
    return { removed: true, id: memberIdHex(listed.ID) };
  });
}

/**
 * Transfers leadership to `to`. Already the leader → no-op. MoveLeader must
 * be served by the current leader, so the call goes to its endpoint only.
 */
export async function moveLeader(
  hosts: HostProvider,
  spec: ClusterSpec,
  input: { to: string },
  opts: ClientOptions = {},
): Promise<{ moved: boolean; from?: string }> {
  const h = await clusterHealth(hosts, spec, opts);
  const target = h.members.find((m) => m.name === input.to);
  if (!target) throw ApplicationFailure.nonRetryable(`member ${input.to} is not in cluster ${spec.name}`, 'UnknownMember');
  if (target.isLearner) throw ApplicationFailure.nonRetryable(`member ${input.to} is a learner and cannot lead`, 'LearnerCannotLead');
  if (!h.leader) throw new Error(`cluster ${spec.name} has no leader right now`);
  if (h.leader === input.to) return { moved: false, from: h.leader };
  const leader = h.members.find((m) => m.name === h.leader)!;
  const c: Etcd3 = newEtcdClient(leader.clientURL, await clientCredentials(hosts, spec), opts);
  try {
    await c.maintenance.moveLeader({ targetID: BigInt(`0x${target.id}`).toString() });
  } finally {
    c.close();
  }
  return { moved: true, from: leader.name };
}
