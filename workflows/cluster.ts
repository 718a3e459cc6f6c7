// The cluster entity workflow (`etcd-cluster/<name>`): owns the spec and the
// observed state, and is the cluster's job queue. Operations arrive as
// Updates (validated before anything is queued), wait in a queue and run one
// at a time, each as a child workflow, so maintenance never races an upgrade.
import {
  ApplicationFailure,
  CancellationScope,
  TemporalFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  CERT_EXPIRY_WARNING_DAYS,
  operationId,
  operationWorkflowId,
  type ClusterHealthView,
  type ClusterPhase,
  type OperationKind,
  type OperationRecord,
} from '../common/operations';
import { EtcdCluster, EtcdPhase, EtcdVersion } from '../common/searchAttributes';
import { durationMs } from '../common/duration';
import {
  clusterQuery,
  controlOperationUpdate,
  createClusterUpdate,
  deleteClusterUpdate,
  pauseSignal,
  pkiIssuedSignal,
  resumeSignal,
  signClientCertificateUpdate,
  submitOperationSignal,
  submitOperationUpdate,
  type ClusterView,
  type OperationAccepted,
} from './definitions';
import { hostOps, observe } from './activities';
import { describe } from './progress';
import { handlerFor } from './registry';
import { releaseClusterAddresses, retainClusterAddresses } from './addresses';
import type { ClusterState } from './state';

export type { ClusterState } from './state';

export interface ClusterWorkflowInput {
  name: string;
  /** State carried over continue-as-new. */
  state?: ClusterState;
}

const KEPT_OPERATIONS = 50;
const DEFAULT_HEALTH_INTERVAL_MS = 30_000;
const refuse = (type: 'Conflict' | 'NotFound' | 'Refused', message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

export async function clusterWorkflow({ name, state }: ClusterWorkflowInput): Promise<void> {
  const s: ClusterState = state ?? { name, phase: 'Pending', seq: 0, queue: [], operations: [] };
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

  const newOperation = (kind: OperationKind, params?: Record<string, unknown>): OperationRecord => {
    const seq = ++s.seq;
    return {
      id: operationId(name, seq, kind),
      cluster: name,
      seq,
      kind,
      status: 'Queued',
      workflowId: operationWorkflowId(name, seq, kind),
      params,
      submittedAt: new Date().toISOString(),
    };
  };
  const enqueue = (kind: OperationKind, params?: Record<string, unknown>): OperationRecord => {
    const op = newOperation(kind, params);
    s.queue.push(op);
    return op;
  };
  const accepted = (op: OperationRecord, created = true): OperationAccepted => ({ operationId: op.id, workflowId: op.workflowId, created });

  const finish = (op: OperationRecord, status: OperationRecord['status'], error?: string) => {
    op.status = status;
    op.error = error;
    op.finishedAt = new Date().toISOString();
    s.operations.push(op);
    if (s.operations.length > KEPT_OPERATIONS) s.operations.splice(0, s.operations.length - KEPT_OPERATIONS);
  };

  const latest = (kind: OperationKind) =>
    [...s.queue].reverse().find((o) => o.kind === kind) ??
    (s.current?.kind === kind ? s.current : undefined) ??
    [...s.operations].reverse().find((o) => o.kind === kind);

  const validateSubmission = (kind: OperationKind, params: Record<string, unknown>) => {
    const handler = handlerFor(kind);
    if (!handler || kind === 'provision' || kind === 'delete') throw refuse('Refused', `operation ${kind} is not available`);
    if (!s.spec) throw refuse('NotFound', `cluster ${name} not found`);
    if (s.phase === 'Deleting' || s.phase === 'Deleted') throw refuse('Conflict', `cluster ${name} is being deleted`);
    handler.validate?.(s, params);
  };

  setHandler(clusterQuery, (): ClusterView => ({
    name,
    phase: s.phase,
    reason: s.reason,
    version: s.spec?.version,
    spec: s.spec,
    fingerprint: s.fingerprint,
    current: s.current,
    queue: s.queue,
    operations: s.operations,
    health: s.health,
    files: s.files,
    extensions: s.extensions,
  }));
  setHandler(
    signClientCertificateUpdate,
    async ({ csr }) => {
      const { spec, pki } = s;
      if (!spec || !pki) throw refuse('Conflict', `cluster ${name} has no certificates yet`);
      const { cert } = await hostOps.signClientCertificate.executeWithOptions({ summary: 'sign an admin client certificate request' }, [
        { spec, ca: pki.ca, csr },
      ]);
      return { ca: pki.ca.cert, cert };
    },
    {
      validator: (_req) => {
        if (!s.spec) throw refuse('NotFound', `cluster ${name} not found`);
        if (!s.spec.tls.enabled || !s.pki)
          throw refuse('Conflict', `cluster ${name} has no certificates${s.spec.tls.enabled ? ' yet' : ' (TLS is off)'}`);
      },
    },
  );
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
        return accepted(enqueue('provision'));
      }
      const last = latest('provision');
      if (last && last.status !== 'Failed' && last.status !== 'Cancelled') return accepted(last, false);
      // The same spec after a failed provisioning: try again, keeping the CA.
      return accepted(enqueue('provision'));
    },
    {
      validator: ({ fingerprint }) => {
        if (s.phase === 'Deleting' || s.phase === 'Deleted') throw refuse('Conflict', `cluster ${name} is being deleted`);
        if (s.fingerprint && s.fingerprint !== fingerprint)
          throw refuse('Conflict', `cluster ${name} already exists with a different spec`);
      },
    },
  );

  setHandler(
    deleteClusterUpdate,
    ({ purge }) => {
      const pending = latest('delete');
      if (pending && (pending.status === 'Queued' || pending.status === 'Running')) return accepted(pending, false);
      // Queued operations can never run now; the running one is cancelled.
      for (const op of s.queue.splice(0)) finish(op, 'Cancelled', 'cancelled by delete');
      const op = enqueue('delete', { purge });
      setPhase('Deleting');
      currentScope?.cancel();
      return accepted(op);
    },
    {
      validator: (_req) => {
        if (!s.spec) throw refuse('NotFound', `cluster ${name} not found`);
      },
    },
  );

  setHandler(
    submitOperationUpdate,
    async ({ kind, params }) => {
      try {
        await handlerFor(kind)!.precheck?.(s, params ?? {});
      } catch (err) {
        // A bug in a precheck is this request's failure, never a failed workflow task.
        throw err instanceof TemporalFailure ? err : refuse('Refused', `precheck failed: ${describe(err)}`);
      }
      return accepted(enqueue(kind, params ?? {}));
    },
    {
      validator: ({ kind, params }) => validateSubmission(kind, params ?? {}),
    },
  );

  setHandler(submitOperationSignal, ({ kind, params }) => {
    try {
      validateSubmission(kind, params ?? {});
      enqueue(kind, params ?? {});
    } catch (err) {
      finish(newOperation(kind, params ?? {}), 'Failed', `refused: ${describe(err)}`);
    }
  });

  setHandler(
    controlOperationUpdate,
    async ({ operationId: id, action }) => {
      const queued = s.queue.findIndex((o) => o.id === id);
      if (queued >= 0) {
        const [op] = s.queue.splice(queued, 1);
        finish(op, 'Cancelled', 'cancelled before it started');
        return op;
      }
      const op = s.current;
      if (!op) throw refuse('Conflict', `operation ${id} is no longer running`);
      if (action === 'cancel') currentScope?.cancel();
      else {
        await getExternalWorkflowHandle(op.workflowId).signal(action === 'pause' ? pauseSignal : resumeSignal);
        op.status = action === 'pause' ? 'Paused' : 'Running';
      }
      return op;
    },
    {
      validator: ({ operationId: id, action }) => {
        if (s.queue.some((o) => o.id === id)) {
          if (action !== 'cancel') throw refuse('Conflict', `operation ${id} has not started yet; only cancel applies`);
          return;
        }
        const running = s.current;
        if (!running || running.id !== id) {
          const known = s.operations.some((o) => o.id === id);
          throw known ? refuse('Conflict', `operation ${id} has already finished`) : refuse('NotFound', `no operation ${id}`);
        }
        if (running.kind === 'delete') throw refuse('Conflict', 'a delete cannot be paused or cancelled');
      },
    },
  );

  async function run(op: OperationRecord): Promise<void> {
    const handler = handlerFor(op.kind)!;
    const before = s.phase;
    op.status = 'Running';
    op.startedAt = new Date().toISOString();
    s.current = op;
    setPhase(handler.phase);
    try {
      const outcome = await CancellationScope.cancellable(async () => {
        currentScope = CancellationScope.current();
        return handler.run({ state: s, spec: s.spec!, op, params: op.params ?? {} });
      });
      if (outcome.spec) s.spec = outcome.spec;
      if (outcome.pki) s.pki = outcome.pki;
      if (outcome.health) s.health = outcome.health;
      if (outcome.files) s.files = { ...s.files, ...outcome.files };
      if (outcome.extensions) s.extensions = { ...s.extensions, ...outcome.extensions };
      op.result = outcome.result;
      finish(op, 'Succeeded');
      setPhase(outcome.phase ?? (s.health && !s.health.healthy ? 'Degraded' : 'Running'));
    } catch (err) {
      const cancelled = isCancellation(err);
      finish(op, cancelled ? 'Cancelled' : 'Failed', cancelled ? 'cancelled' : describe(err));
      if (op.kind === 'provision' || op.kind === 'delete') {
        // A cancelled provisioning was cancelled by a delete, which sets its own phase.
        if (!cancelled) setPhase('Failed', `${op.kind} failed: ${op.error}`);
      } else {
        setPhase(before === 'Provisioning' ? 'Running' : before, `${op.id} ${cancelled ? 'was cancelled' : `failed: ${op.error}`}`);
        await observeHealth(op.error);
      }
    } finally {
      s.current = undefined;
      currentScope = undefined;
    }
    // Members that left (or never joined) free their address:port pairs.
    if (op.kind !== 'delete') await retainClusterAddresses(s);
  }

  async function observeHealth(lastError?: string): Promise<void> {
    try {
      const h = await observe.clusterHealth.executeWithOptions({ summary: 'health check' }, [{ spec: s.spec! }]);
      s.health = h;
      const why = h.healthy ? undefined : unhealthyReason(h);
      const reason = [why, expiryWarnings(h, Date.now()), lastError && `last operation: ${lastError}`].filter(Boolean).join('; ');
      setPhase(h.healthy ? 'Running' : 'Degraded', reason || undefined);
    } catch (err) {
      setPhase('Degraded', `health check failed: ${describe(err)}`);
    }
  }

  // Bounded parse: a stored spec with an out-of-range interval (from before the schema bounded it)
  // falls back to the default instead of handing Temporal an invalid timer.
  const healthEvery = () => durationMs(s.spec?.maintenance?.healthCheckInterval) ?? DEFAULT_HEALTH_INTERVAL_MS;
  for (;;) {
    const hasWork = await condition(() => s.queue.length > 0, healthEvery());
    if (hasWork) {
      const op = s.queue.shift()!;
      await run(op);
      if (op.kind === 'delete' && op.status === 'Succeeded') {
        await releaseClusterAddresses(name);
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

/** Certificates that expire soon: named in the reason, without degrading a healthy cluster. */
function expiryWarnings(h: ClusterHealthView, now: number): string | undefined {
  const soon = (h.certificates ?? []).filter((c) => Date.parse(c.notAfter) - now < CERT_EXPIRY_WARNING_DAYS * 86400e3);
  if (soon.length === 0) return undefined;
  return `certificates expiring: ${soon.map((c) => `${c.member} ${c.certificate} ${c.notAfter.slice(0, 10)}`).join(', ')}`;
}
