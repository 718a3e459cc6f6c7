// The steps that bring one member into a running cluster, shared by add and
// replace: learner first, promoted once caught up, and removed again if it
// never catches up (DESIGN.md safety rules).
import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import type { ClusterPki } from '../../activities/pki';
import type { ClusterHealthView } from '../../common/operations';
import type { ClusterSpec } from '../../common/spec';
import { clusterTopology, initialCluster, type MemberFiles } from '../../common/topology';
import { call, certificates, fetchReleaseStep, healthGate, hostStep, promotionGate, step } from '../activities';
import { describe, type Progress } from '../progress';
import { memberPki } from '../provision';

export const DEFAULT_PROMOTE_TIMEOUT_MS = 60_000;

export const JOIN_STEPS = [
  'Check cluster health',
  'Fetch etcd release',
  'Issue certificates',
  'Prepare host',
  'Add as learner',
  'Start member',
  'Promote when caught up',
  'Wait for health',
  'Update member configs',
] as const;

export interface JoinInput {
  /** The membership before the member joins. */
  base: ClusterSpec;
  /** The membership after (base plus the member). */
  next: ClusterSpec;
  member: string;
  pki?: ClusterPki;
  /** How long the learner may take to catch up before it is removed again. */
  promoteTimeoutMs?: number;
  /** Suffix for data dirs set aside (deterministic: workflow time). */
  stamp: string;
}

export interface JoinResult {
  pki: ClusterPki;
  files: Record<string, MemberFiles>;
  health: ClusterHealthView;
  memberId: string;
  /** True when the member was already in etcd's list (a retried operation). */
  alreadyMember: boolean;
}

/** `20261125T053000Z` from workflow time. */
export function stampNow(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export async function joinMember(progress: Progress, input: JoinInput): Promise<JoinResult> {
  const { base, next, member } = input;
  const n = next.members.length;
  const name = next.name;
  const deadlineMs = input.promoteTimeoutMs ?? DEFAULT_PROMOTE_TIMEOUT_MS;

  await step(
    progress,
    'Check cluster health',
    hostStep.checkSafeToDisrupt,
    `all ${base.members.length} voting members healthy, a leader, no alarms`,
    { spec: base, check: {} },
    (h) => `leader ${h.leader}`,
  );

  const release = await fetchReleaseStep(progress, next);

  const pki = await step(
    progress,
    'Issue certificates',
    certificates.issueCertificates,
    `${member}: server and peer certificates from the cluster CA`,
    { spec: next, existing: input.pki },
    () => (input.pki ? 'cluster CA reused' : 'new CA'),
  );

  const joining = initialCluster(clusterTopology(next));
  const prepared = await progress.step(
    'Prepare host',
    async () => {
      const own = next.members.filter((m) => m.name === member);
      await call(hostStep.preflight, `${member}: address and ports free (unless its own etcd holds them)`, {
        spec: { ...next, members: own },
      });
      const fresh = await call(hostStep.ensureFreshDataDir, `${member}: data dir empty (an old one is set aside)`, {
        spec: next,
        member,
        stamp: input.stamp,
      });
      const r = await call(
        hostStep.prepareMember,
        `${member}: install etcd ${next.version}, config with initial-cluster-state existing, certificates`,
        { spec: next, member, pki: memberPki(pki, member), initialCluster: joining, clusterState: 'existing', binDir: release.binDir },
      );
      return { ...r, setAside: fresh.setAside };
    },
    (r) => (r.setAside ? `old data set aside at ${r.setAside}` : undefined),
  );

  let added = false;
  let memberId = '';
  let alreadyMember = false;
  try {
    const learner = await step(
      progress,
      'Add as learner',
      hostStep.addLearner,
      `MemberAdd ${member} as a learner (non-voting)`,
      { spec: next, member },
      (r) => `id ${r.id}${r.alreadyMember ? ' (already added)' : ''}${r.isLearner ? '' : ', already a voter'}`,
    );
    added = true;
    memberId = learner.id;
    alreadyMember = learner.alreadyMember;
    // etcd's own view of the membership wins over the spec's for the joining member.
    if (!sameMembers(learner.initialCluster, joining)) {
      await call(hostStep.writeMemberList, `${member}: initial-cluster as etcd lists it`, {
        spec: next,
        member,
        initialCluster: learner.initialCluster,
      });
    }

    await step(
      progress,
      'Start member',
      hostStep.startMember,
      `start ${member}`,
      { cluster: name, member, spec: next },
      (r) => `pid ${r.pid}${r.alreadyRunning ? ' (already running)' : ''}`,
    );

    try {
      await step(
        progress,
        'Promote when caught up',
        promotionGate(deadlineMs).promoteLearner,
        `MemberPromote ${member} once it has caught up (deadline ${deadlineMs / 1000} s)`,
        { spec: next, member },
        (r) => (r.promoted ? 'promoted to voter' : 'already a voter'),
      );
    } catch (err) {
      if (isCancellation(err)) throw err;
      throw ApplicationFailure.create({
        type: 'LearnerNotCaughtUp',
        nonRetryable: true,
        message: `learner ${member} was not promoted within ${deadlineMs / 1000} s (${describe(err)}); it was removed from the cluster again`,
      });
    }
  } catch (err) {
    if (added) await rollBackLearner(progress, next, member, input.stamp);
    throw err;
  }

  const health = await step(
    progress,
    'Wait for health',
    healthGate.checkHealthy,
    `all ${n} members healthy voters, one leader, no alarms`,
    { spec: next, expectMembers: n },
    (h) => `leader ${h.leader}`,
  );

  await progress.step(
    'Update member configs',
    () => writeMemberLists(next),
    () => `initial-cluster lists ${n} members`,
  );

  return { pki, files: { [member]: prepared.files }, health, memberId, alreadyMember };
}

/** Every member's stored initial-cluster and etcdctl endpoints to `spec`'s membership; no restarts. */
export async function writeMemberLists(spec: ClusterSpec): Promise<void> {
  const list = initialCluster(clusterTopology(spec));
  await Promise.all(
    spec.members.map((m) =>
      call(hostStep.writeMemberList, `${m.name}: initial-cluster of ${spec.members.length} members (no restart)`, {
        spec,
        member: m.name,
        initialCluster: list,
      }),
    ),
  );
}

/** A learner that failed to join leaves again, with its data set aside; runs even when the operation was cancelled. */
async function rollBackLearner(progress: Progress, spec: ClusterSpec, member: string, stamp: string): Promise<void> {
  const step = `Roll back: remove learner ${member}`;
  progress.add(step);
  await CancellationScope.nonCancellable(() =>
    progress
      .step(step, async () => {
        await call(hostStep.removeEtcdMember, `MemberRemove ${member} (it did not join)`, { spec, member });
        return call(hostStep.retireMemberHost, `${member}: stop, set data aside, remove config`, { spec, member, stamp });
      })
      .catch(() => undefined),
  );
}

function sameMembers(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
      .sort()
      .join(',');
  return norm(a) === norm(b);
}
