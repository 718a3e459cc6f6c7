// The cluster entity workflow (`etcd-cluster/<name>`): owns the desired spec
// and the observed state, and is the cluster's job queue. Operations arrive as
// Updates, wait in a queue and run one at a time as child workflows, so
// maintenance never races a provisioning or a delete.
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ClusterSpec } from '../common/spec';
import type { MemberFiles } from '../common/topology';
import {
  operationId,
  operationWorkflowId,
  type ClusterHealthView,
  type ClusterPhase,
  type OperationKind,
  type OperationRecord,
} from '../common/operations';
import { EtcdCluster, EtcdPhase, EtcdVersion } from '../common/searchAttributes';
import type { ClusterPki } from '../activities/pki';
import {
  clusterQuery,
  createClusterUpdate,
  credentialsQuery,
  deleteClusterUpdate,
  pkiIssuedSignal,
  type ClusterView,
  type OperationAccepted,
} from './definitions';
import { observe } from './activities';
import { describe } from './progress';
import { provisionCluster } from './provision';
import { deleteCluster } from './delete';

export interface ClusterState {
  name: string;
  phase: ClusterPhase;
  reason?: string;
  spec?: ClusterSpec;
  fingerprint?: string;
  pki?: ClusterPki;
  seq: number;
  queue: OperationRecord[];
  operations: OperationRecord[];
  health?: ClusterHealthView;
  files?: Record<string, MemberFiles>;
}

export interface ClusterWorkflowInput {
  name: string;
  /** State carried over continue-as-new. */
  state?: ClusterState;
}

const KEPT_OPERATIONS = 50;
const DEFAULT_HEALTH_INTERVAL_MS = 30_000;

export async function clusterWorkflow({ name, state }: ClusterWorkflowInput): Promise<void> {
  const s: ClusterState = state ?? { name, phase: 'Pending', seq: 0, queue: [], operations: [] };
  let current: OperationRecord | undefined;
  let currentScope: CancellationScope | undefined;

  const setPhase = (phase: ClusterPhase, reason?: string) => {
    s.phase = phase;
    s.reason = reason;
    upsertSearchAttributes([
      { key: EtcdCluster, value: name },
      { key: EtcdPhase, value: phase },
      { key: EtcdVersion, value: s.spec?.version ?? null },
    ]);
  };

  const enqueue = (kind: OperationKind, params?: Record<string, unknown>): OperationAccepted => {
    const seq = ++s.seq;
    const op: OperationRecord = {
      id: operationId(name, seq, kind),
      cluster: name,
      seq,
      kind,
      status: 'Queued',
      workflowId: operationWorkflowId(name, seq, kind),
      params,
      submittedAt: new Date().toISOString(),
    };
    s.queue.push(op);
    return { operationId: op.id, workflowId: op.workflowId, created: true };
  };

  const latest = (kind: OperationKind) =>
    [...s.queue].reverse().find((o) => o.kind === kind) ??
    (current?.kind === kind ? current : undefined) ??
    [...s.operations].reverse().find((o) => o.kind === kind);

  setHandler(clusterQuery, (): ClusterView => ({
    name,
    phase: s.phase,
    reason: s.reason,
    version: s.spec?.version,
    spec: s.spec,
    fingerprint: s.fingerprint,
    current,
    queue: s.queue,
    operations: s.operations,
    health: s.health,
    files: s.files,
  }));

  setHandler(credentialsQuery, () => (s.pki ? { ca: s.pki.ca.cert, cert: s.pki.admin.cert, key: s.pki.admin.key } : null));
  setHandler(pkiIssuedSignal, (pki) => {
    s.pki = pki;
  });

  setHandler(
    createClusterUpdate,
    ({ spec, fingerprint }) => {
      if (!s.spec) {
        s.spec = spec;
        s.fingerprint = fingerprint;
        setPhase('Provisioning');
        return enqueue('provision');
      }
      const last = latest('provision');
      if (last && last.status !== 'Failed' && last.status !== 'Cancelled') {
        return { operationId: last.id, workflowId: last.workflowId, created: false };
      }
      // The same spec after a failed provisioning: try again, keeping the CA.
      return enqueue('provision');
    },
    {
      validator: ({ fingerprint }) => {
        if (s.phase === 'Deleting' || s.phase === 'Deleted') {
          throw ApplicationFailure.create({ type: 'Conflict', message: `cluster ${name} is being deleted`, nonRetryable: true });
        }
        if (s.fingerprint && s.fingerprint !== fingerprint) {
          throw ApplicationFailure.create({
            type: 'Conflict',
            message: `cluster ${name} already exists with a different spec`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  setHandler(
    deleteClusterUpdate,
    ({ purge }) => {
      const pending = latest('delete');
      if (pending && (pending.status === 'Queued' || pending.status === 'Running')) {
        return { operationId: pending.id, workflowId: pending.workflowId, created: false };
      }
      // Queued operations can never run now; the running one is cancelled.
      for (const op of s.queue.splice(0)) finish(op, 'Cancelled', 'cancelled by delete');
      const accepted = enqueue('delete', { purge });
      setPhase('Deleting');
      currentScope?.cancel();
      return accepted;
    },
    {
      validator: (_req) => {
        if (!s.spec) throw ApplicationFailure.create({ type: 'NotFound', message: `cluster ${name} not found`, nonRetryable: true });
      },
    },
  );

  function finish(op: OperationRecord, status: OperationRecord['status'], error?: string) {
    op.status = status;
    op.error = error;
    op.finishedAt = new Date().toISOString();
    s.operations.push(op);
    if (s.operations.length > KEPT_OPERATIONS) s.operations.splice(0, s.operations.length - KEPT_OPERATIONS);
  }

  async function run(op: OperationRecord): Promise<void> {
    const spec = s.spec!;
    op.status = 'Running';
    op.startedAt = new Date().toISOString();
    current = op;
    try {
      await CancellationScope.cancellable(async () => {
        currentScope = CancellationScope.current();
        if (op.kind === 'provision') {
          setPhase('Provisioning');
          const r = await executeChild(provisionCluster, {
            workflowId: op.workflowId,
            args: [{ spec, pki: s.pki }],
            staticSummary: `Provision ${name}: ${spec.members.length} × etcd ${spec.version}`,
          });
          s.pki = r.pki;
          s.health = r.health;
          s.files = r.files;
          setPhase('Running');
        } else {
          await executeChild(deleteCluster, {
            workflowId: op.workflowId,
            args: [{ spec, purge: Boolean(op.params?.purge) }],
            staticSummary: `Delete ${name}`,
          });
        }
      });
      finish(op, 'Succeeded');
    } catch (err) {
      const cancelled = isCancellation(err);
      finish(op, cancelled ? 'Cancelled' : 'Failed', cancelled ? 'cancelled' : describe(err));
      if (op.kind === 'provision' && !cancelled) setPhase('Failed', `provisioning failed: ${op.error}`);
      if (op.kind === 'delete') setPhase('Failed', `delete failed: ${op.error}`);
    } finally {
      current = undefined;
      currentScope = undefined;
    }
  }

  async function observeHealth(): Promise<void> {
    try {
      const h = await observe.clusterHealth.executeWithOptions({ summary: 'health check' }, [{ spec: s.spec! }]);
      s.health = h;
      setPhase(h.healthy ? 'Running' : 'Degraded', h.healthy ? undefined : unhealthyReason(h));
    } catch (err) {
      setPhase('Degraded', `health check failed: ${describe(err)}`);
    }
  }

  const healthEvery = durationMs(s.spec?.maintenance?.healthCheckInterval) ?? DEFAULT_HEALTH_INTERVAL_MS;
  for (;;) {
    const hasWork = await condition(() => s.queue.length > 0, healthEvery);
    if (hasWork) {
      const op = s.queue.shift()!;
      await run(op);
      if (op.kind === 'delete' && op.status === 'Succeeded') {
        setPhase('Deleted');
        await condition(allHandlersFinished);
        return;
      }
      continue;
    }
    if (s.phase === 'Running' || s.phase === 'Degraded') await observeHealth();
    if (workflowInfo().continueAsNewSuggested && s.queue.length === 0) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof clusterWorkflow>({ name, state: s });
    }
  }
}

function unhealthyReason(h: ClusterHealthView): string {
  const parts = h.members.filter((m) => !m.healthy).map((m) => `${m.name} unhealthy${m.error ? ` (${m.error})` : ''}`);
  if (!h.leader) parts.push('no leader');
  if (h.alarms.length) parts.push(`alarms: ${h.alarms.join(', ')}`);
  return parts.join('; ') || h.error || 'unhealthy';
}

function durationMs(d: string | undefined): number | undefined {
  const m = d ? /^(\d+)(s|m|h|d)$/.exec(d) : null;
  if (!m) return undefined;
  return Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
