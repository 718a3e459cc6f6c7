// Restore runbook (in place, or into a freshly provisioned cluster): every
// member is restored from the same verified snapshot with the cluster's
// initial cluster and token, revisions bumped and marked compacted; old data
// dirs are kept aside, never deleted.
import { patched, workflowInfo } from '@temporalio/workflow';
import type { ClusterSpec } from '../../common/spec';
import type { BackupRef } from '../../activities/backup/activities';
import type { RestorePoint } from '../../activities/backup/continuous-chain';
import { Progress } from '../progress';
import { call, dataTransfer, hostStep, step } from '../activities';
import { waitHealthyAndVerify } from '../provision';
import { setSearchAttributes } from '../search-attributes';

export interface RestoreInput {
  spec: ClusterSpec;
  ref: BackupRef;
  /** Point in time: replay the recorded changes after the backup up to here (continuous backups). */
  point?: RestorePoint;
}

/** Point-in-time restores plan the chain first and replay it last (new steps, new activities). */
export const POINT_IN_TIME_PATCH = 'point-in-time-restore';
const PLAN_STEP = 'Plan backup and change chain';
const REPLAY_STEP = 'Replay recorded changes';

export const RESTORE_STEPS = [
  'Fetch and verify backup',
  'Stop members',
  'Restore data dirs',
  'Start members',
  'Wait for quorum and health',
  'Verify write and read',
  'Remove staged snapshot',
] as const;

export async function restoreCluster({ spec, ref, point }: RestoreInput) {
  setSearchAttributes({ cluster: spec.name, operation: 'restore', phase: 'Restoring' });
  const tag = workflowInfo().workflowId.replace(/[^A-Za-z0-9-]+/g, '-');
  const pit = point !== undefined && patched(POINT_IN_TIME_PATCH) ? point : undefined;
  const to = pit ? ` to ${'revision' in pit ? `revision ${pit.revision}` : 'time' in pit ? pit.time : 'the newest change'}` : '';
  const progress = new Progress(
    `Restore ${spec.name} from ${ref.cluster}/${ref.id}${to}`,
    pit ? [PLAN_STEP, ...RESTORE_STEPS, REPLAY_STEP] : RESTORE_STEPS,
  );
  // The plan names the backup to start from: the newest one at or before the point.
  const plan = pit
    ? await step(
        progress,
        PLAN_STEP,
        dataTransfer.planPointInTime,
        `backup ${ref.id} and recorded changes${to}`,
        { ref, point: pit },
        (p) => `backup ${p.backup} (revision ${p.baseRevision}) + ${p.chunks.length} change chunk(s)`,
      )
    : undefined;
  if (plan) ref = { ...ref, id: plan.backup };
  const staged = await step(
    progress,
    'Fetch and verify backup',
    dataTransfer.stageBackup,
    `download ${ref.cluster}/${ref.id}, check hashes, etcdutl snapshot status`,
    { ref, version: spec.version, tag, source: spec.artifactSource },
    (s) => `${s.manifest.id}: revision ${s.revision}, ${s.totalKey} keys`,
  );
  const { health, keptAside } = await restoreMembers(progress, spec, staged.file, tag);
  const replayed = plan
    ? await step(
        progress,
        REPLAY_STEP,
        dataTransfer.replayChanges,
        `${plan.chunks.reduce((n, c) => n + c.events, 0)} recorded changes after revision ${plan.baseRevision}${to}`,
        { spec, settings: ref.settings, plan },
        (r) => `${r.applied} changes applied, source revision ${r.revision}${r.at ? ` (${r.at})` : ''}`,
      )
    : undefined;
  progress.succeed();
  return {
    backup: staged.manifest,
    revision: staged.revision,
    totalKey: staged.totalKey,
    keptAside,
    health,
    ...(replayed ? { replayed } : {}),
  };
}

/**
 * The steps after a snapshot is staged on the worker (shared with the
 * quorum-loss recovery): stop every member, restore every data dir from
 * `file` (old ones kept aside), start them, health gate, remove the file.
 */
export async function restoreMembers(progress: Progress, spec: ClusterSpec, file: string, tag: string) {
  await progress.step('Stop members', () =>
    Promise.all(spec.members.map((m) => call(hostStep.stopMember, `stop ${m.name}`, { cluster: spec.name, member: m.name, spec }))),
  );
  const restored = await progress.step(
    'Restore data dirs',
    () =>
      Promise.all(
        spec.members.map((m) =>
          call(dataTransfer.restoreMemberData, `${m.name}: etcdutl snapshot restore (old data dir kept aside)`, {
            spec,
            member: m.name,
            snapshot: file,
            tag,
          }),
        ),
      ),
    (r) =>
      r
        .map((x) => x.keptAside)
        .filter(Boolean)
        .join(', ') || 'no previous data dirs',
  );
  await progress.step('Start members', () =>
    Promise.all(spec.members.map((m) => call(hostStep.startMember, `start ${m.name}`, { cluster: spec.name, member: m.name, spec }))),
  );
  const health = await waitHealthyAndVerify(progress, spec, `/etcdfleet/restored/${workflowInfo().workflowId}`);
  await step(progress, 'Remove staged snapshot', hostStep.removeStagedBackup, file, { file });
  return { health, keptAside: restored.map((r) => r.keptAside).filter(Boolean) as string[] };
}
