// Maintenance operations (backup, restore, compaction, defragmentation, NOSPACE recovery).
// Each runs one child runbook; the entity keeps what they learn under
// `extensions.backups` (catalogue, last drill) and `extensions.maintenance`.
import { executeChild, patched } from '@temporalio/workflow';
import { refusalGate, refuseIssues, withParams, type OperationHandlers, type ClusterState } from './state';
import { backupCluster } from './maintenance/backup';
import { restoreCluster } from './maintenance/restore';
import { restoreDrill } from './maintenance/drill';
import { compactCluster } from './maintenance/compact';
import { defragCluster } from './maintenance/defrag';
import { clearNospace } from './maintenance/nospace';
import { call, lookup, observe } from './activities';
import { CONTINUOUS_BACKUP_PATCH, ensureRecorder } from './backup/continuous';
import type { RestorePoint } from '../activities/backup/continuous-chain';
import { clusterQueue } from './placement';
import type { PlanRestoreAnswer, PlanRestoreRequest } from './definitions';

export interface BackupsExtension {
  location?: string;
  items: import('../activities/backup/activities').BackupSummary[];
  latest?: import('../activities/backup/activities').BackupSummary;
  lastBackupAt?: string;
  lastDeleted?: string[];
  lastDrill?: unknown;
}
export interface MaintenanceExtension {
  observedRevision?: number;
  lastCompaction?: { revision?: number; observedRevision: number; at: string };
  lastDefrag?: unknown;
  lastNospace?: unknown;
}

const backupsOf = (s: Readonly<ClusterState>): BackupsExtension => (s.extensions?.backups as BackupsExtension | undefined) ?? { items: [] };
const maintOf = (s: Readonly<ClusterState>): MaintenanceExtension => (s.extensions?.maintenance as MaintenanceExtension | undefined) ?? {};
const now = () => new Date().toISOString();

const pointOf = (p: { toRevision?: number; toTime?: string }): RestorePoint | undefined =>
  p.toRevision !== undefined ? { revision: p.toRevision } : p.toTime !== undefined ? { time: p.toTime } : undefined;

/** The source side of a restore into a new cluster (planRestoreUpdate): the plan of `req`'s point, or its refusal. */
export async function planSourceRestore(state: Readonly<ClusterState>, req: PlanRestoreRequest): Promise<PlanRestoreAnswer> {
  const point = pointOf(req) ?? { tip: true };
  let answer!: PlanRestoreAnswer;
  await refusalGate(async () => {
    const plan = await call(lookup.planPointInTime, `plan a restore of ${state.name}`, {
      ref: { cluster: state.name, settings: state.spec?.backup, id: req.backup },
      point,
    });
    answer = { backup: plan.backup, baseRevision: plan.baseRevision, chunks: plan.chunks.length, recordedRevision: plan.recordedRevision };
  });
  return answer;
}

export const maintenanceOperations: OperationHandlers = {
  backup: withParams('backup', {
    phase: 'Running',
    async run({ state, spec, op, params, taskQueue }) {
      const r = await executeChild(backupCluster, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, member: params.member }],
        staticSummary: `Backup ${spec.name}${params.scheduled ? ' (scheduled)' : ''}`,
      });
      const latest = r.remaining.find((b) => b.id === r.manifest.id);
      // Continuous backups record the changes after this backup (a recorder that runs already carries on).
      const recorder = spec.backup?.continuous && patched(CONTINUOUS_BACKUP_PATCH) ? await ensureRecorder(spec.name) : undefined;
      const backups: BackupsExtension = {
        ...backupsOf(state),
        location: r.location,
        items: r.remaining,
        latest,
        lastBackupAt: r.manifest.createdAt,
        lastDeleted: r.deleted,
      };
      return { extensions: { backups }, result: { backup: r.manifest, deleted: r.deleted, ...(recorder ? { recorder } : {}) } };
    },
  }),

  restore: withParams('restore', {
    phase: 'Restoring',
    // In place replaces every member's data: meant for a cluster that lost
    // quorum. A healthy cluster needs an explicit `force: true`.
    async precheck(state, p) {
      // A point no recorded chain reaches is refused now, with the hole or the end of the record named.
      const point = pointOf(p);
      if (point) {
        const from = p.from ?? state.name;
        const settings = from === state.name ? state.spec?.backup : p.sourceBackup;
        await refusalGate(() =>
          call(lookup.planPointInTime, `plan the restore of ${from}`, { ref: { cluster: from, settings, id: p.backup }, point }),
        );
      }
      if (p.force === true || state.phase === 'Pending' || state.phase === 'Provisioning' || !state.spec) return;
      let healthy = false;
      try {
        healthy = (
          await call(observe.clusterHealth, 'in-place restore: is the cluster still healthy?', { spec: state.spec }, clusterQueue(state))
        ).healthy;
      } catch {
        healthy = false;
      }
      if (healthy)
        throw refuseIssues([
          {
            path: 'force',
            message: `cluster ${state.name} is healthy; an in-place restore replaces all of its data: pass "force": true to do it anyway`,
          },
        ]);
    },
    async run({ state, spec, op, params, taskQueue }) {
      const from = params.from ?? state.name;
      const settings = from === state.name ? spec.backup : params.sourceBackup;
      const r = await executeChild(restoreCluster, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, ref: { cluster: from, settings, id: params.backup }, point: pointOf(params) }],
        staticSummary: `Restore ${spec.name} from ${from}/${params.backup}`,
      });
      return {
        health: r.health,
        result: { backup: r.backup, revision: r.revision, totalKey: r.totalKey, keptAside: r.keptAside, replayed: r.replayed },
      };
    },
  }),

  'restore-drill': withParams('restore-drill', {
    phase: 'Running',
    async run({ state, spec, op, params, taskQueue }) {
      const r = await executeChild(restoreDrill, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, backup: params.backup }],
        staticSummary: `Restore drill for ${spec.name}`,
      });
      return { extensions: { backups: { ...backupsOf(state), lastDrill: r } }, result: r };
    },
  }),

  compact: withParams('compact', {
    phase: 'Maintenance',
    async run({ state, spec, op, params, taskQueue }) {
      const m = maintOf(state);
      const r = await executeChild(compactCluster, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, previousRevision: m.observedRevision, revision: params.revision }],
        staticSummary: `Compact ${spec.name}`,
      });
      const maintenance: MaintenanceExtension = {
        ...m,
        observedRevision: r.observedRevision,
        lastCompaction: { revision: r.compactedTo, observedRevision: r.observedRevision, at: now() },
      };
      return { extensions: { maintenance }, result: r };
    },
  }),

  defrag: withParams('defrag', {
    phase: 'Maintenance',
    async run({ state, spec, op, params, taskQueue }) {
      const r = await executeChild(defragCluster, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, all: params.all !== false }],
        staticSummary: `Defragment ${spec.name}`,
      });
      return { extensions: { maintenance: { ...maintOf(state), lastDefrag: { ...r, at: now() } } }, result: r };
    },
  }),

  'defrag-check': withParams('defrag-check', {
    phase: 'Maintenance',
    async run({ state, spec, op, taskQueue }) {
      const r = await executeChild(defragCluster, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec, all: false }],
        staticSummary: `Defrag check for ${spec.name}`,
      });
      return { extensions: { maintenance: { ...maintOf(state), lastDefrag: { ...r, at: now() } } }, result: r };
    },
  }),

  'clear-nospace': withParams('clear-nospace', {
    phase: 'Maintenance',
    async run({ state, spec, op, taskQueue }) {
      const r = await executeChild(clearNospace, {
        workflowId: op.workflowId,
        taskQueue,
        args: [{ spec }],
        staticSummary: `Clear NOSPACE on ${spec.name}`,
      });
      return { extensions: { maintenance: { ...maintOf(state), lastNospace: { ...r, at: now() } } }, result: r };
    },
  }),
};
