// Quorum-loss recovery runbook (`recover-quorum`). First everything that
// changes nothing: assess every member, snapshot the most advanced survivor
// (or stage the latest verified backup when no survivor answers), and show
// the plan. Then wait for an admin's approval (or not, with
// `recovery.auto`), check quorum is still lost, and restore every member
// from that snapshot with the restore runbook's steps (revision bumped and
// marked compacted, old data dirs kept aside, health gate).
import { ApplicationFailure, CancellationScope, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import { chooseSource, describeAssessment, quorumLossReason, type RecoverySource } from '../../common/recovery';
import type { ClusterHealthView } from '../../common/operations';
import type { ClusterSpec } from '../../common/spec';
import { call, dataTransfer, hostStep, observe, step } from '../activities';
import { restoreMembers } from '../maintenance/restore';
import { Progress } from '../progress';
import { setSearchAttributes } from '../search-attributes';
import { approveUpdate } from './approval';

export interface RecoverQuorumInput {
  spec: ClusterSpec;
  /** Why the entity (or an admin) asked for it. */
  reason?: string;
  /** Proceed without approval (the spec's recovery.auto). */
  auto?: boolean;
}

export const RECOVER_STEPS = [
  'Assess members',
  'Stage snapshot',
  'Waiting for approval',
  'Check quorum is still lost',
  'Stop members',
  'Restore data dirs',
  'Start members',
  'Wait for quorum and health',
  'Verify write and read',
  'Remove staged snapshot',
] as const;

interface Staged {
  file: string;
  from: string;
  revision: number;
  totalKey: number;
}

export interface RecoverQuorumResult {
  recovered: boolean;
  source?: RecoverySource & { from: string };
  plan?: string;
  revision?: number;
  totalKey?: number;
  keptAside?: string[];
  approvedBy?: string;
  health: ClusterHealthView;
}

function stage(spec: ClusterSpec, source: RecoverySource, tag: string): Promise<Staged> {
  if (source.kind === 'survivor')
    return call(dataTransfer.snapshotMember, `snapshot of ${source.member} (Maintenance.Snapshot, no leader needed)`, {
      spec,
      member: source.member,
      tag,
    }).then((r) => ({ file: r.file, from: `survivor ${r.member}`, revision: r.revision, totalKey: r.totalKey }));
  return call(dataTransfer.stageBackup, `no survivor answers: latest backup of ${spec.name}, hashes and etcdutl checked`, {
    ref: { cluster: spec.name, settings: spec.backup, id: 'latest' },
    version: spec.version,
    tag,
    source: spec.artifactSource,
  }).then((r) => ({ file: r.file, from: `backup ${r.manifest.id}`, revision: r.revision, totalKey: r.totalKey }));
}

export async function recoverQuorum({ spec, reason, auto }: RecoverQuorumInput): Promise<RecoverQuorumResult> {
  setSearchAttributes({ cluster: spec.name, operation: 'recover-quorum', phase: 'QuorumLost' });
  const tag = workflowInfo().workflowId.replace(/[^A-Za-z0-9-]+/g, '-');
  const progress = new Progress(`Recover quorum of ${spec.name}${reason ? ` (${reason})` : ''}`, RECOVER_STEPS);
  let waiting = false;
  let approval: { by?: string } | undefined;
  setHandler(
    approveUpdate,
    (req) => {
      approval = { by: req.by };
      return { approved: true as const };
    },
    {
      validator: (_req) => {
        if (!waiting)
          throw ApplicationFailure.create({
            type: 'Conflict',
            nonRetryable: true,
            message: `operation ${workflowInfo().workflowId} waits for nothing${auto ? ' (recovery.auto: no approval needed)' : ' (not at its approval step)'}`,
          });
      },
    },
  );

  const members = await step(
    progress,
    'Assess members',
    hostStep.assessMembers,
    'process, data dir, applied index and revision of every member (read-only)',
    { spec },
    (ms) => ms.map(describeAssessment).join('; '),
  );
  const source = chooseSource(members);
  const staged = await progress.step(
    'Stage snapshot',
    () => stage(spec, source, tag),
    (s) => `${s.from}: revision ${s.revision}, ${s.totalKey} keys`,
  );
  const names = spec.members.map((m) => m.name).join(', ');
  const plan =
    `restore every member (${names}) from ${staged.from} (revision ${staged.revision}, ${staged.totalKey} keys; ` +
    `revisions bumped and marked compacted; old data dirs kept aside), start them, health gate`;

  let health: ClusterHealthView;
  try {
    progress.note('Waiting for approval', `plan: ${plan}`);
    const approvedBy = await progress.step(
      'Waiting for approval',
      async () => {
        if (auto) return 'recovery.auto';
        waiting = true;
        await condition(() => approval !== undefined);
        waiting = false;
        return approval?.by ?? 'an admin';
      },
      (by) => `plan: ${plan} — approved by ${by}`,
    );
    health = await step(
      progress,
      'Check quorum is still lost',
      observe.clusterHealth,
      'health check before changing anything',
      { spec },
      (h) => (quorumLossReason(h) ? `still lost: ${quorumLossReason(h)}` : 'quorum is back: nothing to do'),
    );
    if (!quorumLossReason(health)) {
      await removeStaged(staged.file);
      progress.succeed();
      return { recovered: false, plan, approvedBy, health };
    }
    const restored = await restoreMembers(progress, spec, staged.file, tag);
    progress.succeed();
    return {
      recovered: true,
      source: { ...source, from: staged.from },
      plan,
      revision: staged.revision,
      totalKey: staged.totalKey,
      keptAside: restored.keptAside,
      approvedBy,
      health: restored.health,
    };
  } catch (err) {
    // The staged copy goes whatever failed; data dirs a restore replaced stay at <dataDir>.before-<tag>.
    await removeStaged(staged.file);
    throw err;
  }
}

function removeStaged(file: string): Promise<void> {
  return CancellationScope.nonCancellable(() => call(hostStep.removeStagedBackup, `remove ${file}`, { file }).catch(() => undefined));
}
