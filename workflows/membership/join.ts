// The steps that bring one member into a running cluster, shared by add and
// replace: learner first, promoted once caught up, and removed again if it
// never catches up (DESIGN.md safety rules).
import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ClusterPki } from '../../activities/pki';
import type { ClusterHealthView } from '../../common/operations';
import type { ClusterSpec } from '../../common/spec';
import { clusterTopology, initialCluster, type MemberFiles } from '../../common/topology';
import { healthGate, hostOps, slowOps } from '../activities';
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

  await progress.step(
    'Check cluster health',
    () =>
      hostOps.checkSafeToDisrupt.executeWithOptions({ summary: `all ${base.members.length} voting members healthy, a leader, no alarms` }, [
        { spec: base, check: {} },
      ]),
    (h) => `leader ${h.leader}`,
  );

  const release = await progress.step(
    'Fetch etcd release',
    () =>
      slowOps.fetchRelease.executeWithOptions({ summary: `etcd ${next.version} (SHA-256 checked)` }, [
        { version: next.version, source: next.artifactSource },
      ]),
    (r) => `sha256 ${r.sha256.slice(0, 16)}…`,
  );

  const pki = await progress.step(
    'Issue certificates',
    () =>
      slowOps.issueCertificates.executeWithOptions({ summary: `${member}: server and peer certificates from the cluster CA` }, [
        { spec: next, existing: input.pki },
      ]),
    () => (input.pki ? 'cluster CA reused' : 'new CA'),
  );

  const joining = initialCluster(clusterTopology(next));
  const prepared = await progress.step(
    'Prepare host',
    async () => {
      const own = next.members.filter((m) => m.name === member);
      await hostOps.preflight.executeWithOptions({ summary: `${member}: address and ports free (unless its own etcd holds them)` }, [
        { spec: { ...next, members: own } },
      ]);
      const fresh = await hostOps.ensureFreshDataDir.executeWithOptions(
        { summary: `${member}: data dir empty (an old one is set aside)` },
        [{ spec: next, member, stamp: input.stamp }],
      );
      const r = await hostOps.prepareMember.executeWithOptions(
        { summary: `${member}: install etcd ${next.version}, config with initial-cluster-state existing, certificates` },
        [{ spec: next, member, pki: memberPki(pki, member), initialCluster: joining, clusterState: 'existing', binDir: release.binDir }],
      );
      return { ...r, setAside: fresh.setAside };
    },
    (r) => (r.setAside ? `old data set aside at ${r.setAside}` : undefined),
  );

  let added = false;
  let memberId = '';
  let alreadyMember = false;
  try {
    const learner = await progress.step(
      'Add as learner',
      () => hostOps.addLearner.executeWithOptions({ summary: `MemberAdd ${member} as a learner (non-voting)` }, [{ spec: next, member }]),
      (r) => `id ${r.id}${r.alreadyMember ? ' (already added)' : ''}${r.isLearner ? '' : ', already a voter'}`,
    );
    added = true;
    memberId = learner.id;
    alreadyMember = learner.alreadyMember;
    // etcd's own view of the membership wins over the spec's for the joining member.
    if (!sameMembers(learner.initialCluster, joining)) {
      await hostOps.writeMemberList.executeWithOptions({ summary: `${member}: initial-cluster as etcd lists it` }, [
        { spec: next, member, initialCluster: learner.initialCluster },
      ]);
    }

    await progress.step(
      'Start member',
      () => hostOps.startMember.executeWithOptions({ summary: `start ${member}` }, [{ cluster: name, member, spec: next }]),
      (r) => `pid ${r.pid}${r.alreadyRunning ? ' (already running)' : ''}`,
    );

    const promote = proxyActivities<Activities>({
      startToCloseTimeout: '10s',
      scheduleToCloseTimeout: deadlineMs,
      retry: { initialInterval: '500ms', backoffCoefficient: 1.5, maximumInterval: '3s' },
    });
    try {
      await progress.step(
        'Promote when caught up',
        () =>
          promote.promoteLearner.executeWithOptions(
            { summary: `MemberPromote ${member} once it has caught up (deadline ${deadlineMs / 1000} s)` },
            [{ spec: next, member }],
          ),
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

  const health = await progress.step(
    'Wait for health',
    () =>
      healthGate.checkHealthy.executeWithOptions({ summary: `all ${n} members healthy voters, one leader, no alarms` }, [
        { spec: next, expectMembers: n },
      ]),
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
      hostOps.writeMemberList.executeWithOptions({ summary: `${m.name}: initial-cluster of ${spec.members.length} members (no restart)` }, [
        { spec, member: m.name, initialCluster: list },
      ]),
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
        await hostOps.removeEtcdMember.executeWithOptions({ summary: `MemberRemove ${member} (it did not join)` }, [{ spec, member }]);
        return hostOps.retireMemberHost.executeWithOptions({ summary: `${member}: stop, set data aside, remove config` }, [
          { spec, member, stamp },
        ]);
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
