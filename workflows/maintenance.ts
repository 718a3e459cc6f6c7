// Maintenance operations (backup, restore, compaction, defragmentation, NOSPACE recovery).
// Each runs one child runbook; the entity keeps what they learn under
// `extensions.backups` (catalogue, last drill) and `extensions.maintenance`.
import { ApplicationFailure, executeChild } from '@temporalio/workflow';
import type { BackupSpec } from '../common/spec';
import type { OperationHandlers, ClusterState } from './state';
import { backupCluster } from './maintenance/backup';
import { restoreCluster } from './maintenance/restore';
import { restoreDrill } from './maintenance/drill';
import { compactCluster } from './maintenance/compact';
import { defragCluster } from './maintenance/defrag';
import { clearNospace } from './maintenance/nospace';
import { call, observe } from './activities';

const refuse = (message: string) => ApplicationFailure.create({ type: 'Refused', message, nonRetryable: true });

type BackupSettings = import('zod').output<typeof BackupSpec>;
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

export const maintenanceOperations: OperationHandlers = {
  backup: {
    phase: 'Running',
    validate(_s, p) {
      if (p.member !== undefined && typeof p.member !== 'string') throw refuse('member must be a member name');
    },
    async run({ state, spec, op, params }) {
      const r = await executeChild(backupCluster, {
        workflowId: op.workflowId,
        args: [{ spec, member: params.member as string | undefined }],
        staticSummary: `Backup ${spec.name}${params.scheduled ? ' (scheduled)' : ''}`,
      });
      const latest = r.remaining.find((b) => b.id === r.manifest.id);
      const backups: BackupsExtension = {
        ...backupsOf(state),
        location: r.location,
        items: r.remaining,
        latest,
        lastBackupAt: r.manifest.createdAt,
        lastDeleted: r.deleted,
      };
      return { extensions: { backups }, result: { backup: r.manifest, deleted: r.deleted } };
    },
  },

  restore: {
    phase: 'Restoring',
    validate(_s, p) {
      if (typeof p.backup !== 'string' || !p.backup) throw refuse('backup: the id of a backup (or "latest") is required');
      if (p.from !== undefined && typeof p.from !== 'string') throw refuse('from: the name of the cluster that took the backup');
    },
    // In place replaces every member's data: meant for a cluster that lost
    // quorum. A healthy cluster needs an explicit `force: true`.
    async precheck(state, p) {
      if (p.force === true || state.phase === 'Pending' || state.phase === 'Provisioning' || !state.spec) return;
      let healthy = false;
      try {
        healthy = (await call(observe.clusterHealth, 'in-place restore: is the cluster still healthy?', { spec: state.spec })).healthy;
      } catch {
        healthy = false;
      }
      if (healthy)
        throw refuse(`cluster ${state.name} is healthy; an in-place restore replaces all of its data: pass "force": true to do it anyway`);
    },
    async run({ state, spec, op, params }) {
      const from = (params.from as string | undefined) ?? state.name;
      const settings = from === state.name ? spec.backup : (params.sourceBackup as BackupSettings | undefined);
      const r = await executeChild(restoreCluster, {
        workflowId: op.workflowId,
        args: [{ spec, ref: { cluster: from, settings, id: params.backup as string } }],
        staticSummary: `Restore ${spec.name} from ${from}/${params.backup}`,
      });
      return { health: r.health, result: { backup: r.backup, revision: r.revision, totalKey: r.totalKey, keptAside: r.keptAside } };
    },
  },

  'restore-drill': {
    phase: 'Running',
    async run({ state, spec, op, params }) {
      const r = await executeChild(restoreDrill, {
        workflowId: op.workflowId,
        args: [{ spec, backup: params.backup as string | undefined }],
        staticSummary: `Restore drill for ${spec.name}`,
      });
      return { extensions: { backups: { ...backupsOf(state), lastDrill: r } }, result: r };
    },
  },

  compact: {
    phase: 'Maintenance',
    validate(_s, p) {
      if (p.revision !== undefined && (typeof p.revision !== 'number' || p.revision < 1))
        throw refuse('revision must be a positive number');
    },
    async run({ state, spec, op, params }) {
      const m = maintOf(state);
      const r = await executeChild(compactCluster, {
        workflowId: op.workflowId,
        args: [{ spec, previousRevision: m.observedRevision, revision: params.revision as number | undefined }],
        staticSummary: `Compact ${spec.name}`,
      });
      const maintenance: MaintenanceExtension = {
        ...m,
        observedRevision: r.observedRevision,
        lastCompaction: { revision: r.compactedTo, observedRevision: r.observedRevision, at: now() },
      };
      return { extensions: { maintenance }, result: r };
    },
  },

  defrag: {
    phase: 'Maintenance',
    async run({ state, spec, op, params }) {
      const r = await executeChild(defragCluster, {
        workflowId: op.workflowId,
        args: [{ spec, all: params.all !== false }],
        staticSummary: `Defragment ${spec.name}`,
      });
      return { extensions: { maintenance: { ...maintOf(state), lastDefrag: { ...r, at: now() } } }, result: r };
    },
  },

  'defrag-check': {
    phase: 'Maintenance',
    async run({ state, spec, op }) {
      const r = await executeChild(defragCluster, {
        workflowId: op.workflowId,
        args: [{ spec, all: false }],
        staticSummary: `Defrag check for ${spec.name}`,
      });
      return { extensions: { maintenance: { ...maintOf(state), lastDefrag: { ...r, at: now() } } }, result: r };
    },
  },

  'clear-nospace': {
    phase: 'Maintenance',
    async run({ state, spec, op }) {
      const r = await executeChild(clearNospace, {
        workflowId: op.workflowId,
        args: [{ spec }],
        staticSummary: `Clear NOSPACE on ${spec.name}`,
      });
      return { extensions: { maintenance: { ...maintOf(state), lastNospace: { ...r, at: now() } } }, result: r };
    },
  },
};
