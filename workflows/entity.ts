// The cluster entity's logic, apart from its message wiring (workflows/cluster.ts):
// the job queue, the phase (changed only by `transition`, by the rules of
// common/phase.ts) and what an operation's outcome changes. Operation kinds
// differ only by their handlers' properties (workflows/state.ts); the entity
// never asks which kind it runs.
import {
  ApplicationFailure,
  CancellationScope,
  TemporalFailure,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import {
  healthQueue,
  operationId,
  operationWorkflowId,
  type ClusterHealthView,
  type OperationKind,
  type OperationRecord,
} from '../common/operations';
import { durationMs } from '../common/duration';
import { setEntityOperation, setSearchAttributes } from './search-attributes';
import { publishClusterDetails } from './details';
import { nextPhase, type PhaseEvent } from '../common/phase';
import type { ClusterSpec } from '../common/spec';
import type { SignedClient } from '../activities/pki';
import type { WatchHealthInput } from '../activities/etcd/gates';
import {
  pauseSignal,
  resumeSignal,
  type ClientCsrRequest,
  type ClusterView,
  type ControlOperationRequest,
  type CreateClusterRequest,
  type DeleteClusterRequest,
  type OperationAccepted,
  type SubmitOperationRequest,
} from './definitions';
import { describe } from './progress';
import { handlerFor } from './registry';
import { releaseClusterAddresses, retainClusterAddresses } from './addresses';
import type { ClusterState, OperationHandler } from './state';
import { QUORUM_LOSS_PATCH, nextObservationMs, watchQuorum } from './recovery/detect';
import { quorumLossReason } from '../common/recovery';
import { healthSignature } from '../common/health';
import { clusterQueue, placeOperation, recordMemberQueues } from './placement';

const KEPT_OPERATIONS = 50;
const DEFAULT_HEALTH_INTERVAL_MS = 30_000;
/** The standing health watch answers at least this often, so sizes and lags in the view stay this fresh. */
export const HEALTH_REFRESH_MS = 5 * 60_000;
/** Histories recorded before the standing health watch replay with one activity per check. */
export const HEALTH_WATCH_PATCH = 'standing-health-watch';
const refuse = (type: 'Conflict' | 'NotFound' | 'Refused', message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/** The activities the entity itself calls (the workflow hands them in). */
export interface EntityProbes {
  /** `taskQueue`: the cluster's machine queue (workflows/placement.ts), or undefined for the entity's own. */
  clusterHealth(spec: ClusterSpec, taskQueue?: string): Promise<ClusterHealthView>;
  /**
   * The standing watch (activities/etcd/gates.ts `watchHealth`): the first reading unlike `since`, else the last
   * after `maxWaitMs`. `taskQueue`: the health queue beside the cluster's (common/operations.ts).
   */
  watchHealth(spec: ClusterSpec, watch: Omit<WatchHealthInput, 'spec'>, taskQueue?: string): Promise<ClusterHealthView>;
  signClient(
    spec: ClusterSpec,
    pki: NonNullable<ClusterState['pki']>,
    csr: string,
    commonName?: string,
    taskQueue?: string,
  ): Promise<Pick<SignedClient, 'cert'>>;
}

/** Why the entity's loop ended. */
export type EntityEnd = 'deleted' | 'continue-as-new';

export class ClusterEntity {
  readonly state: ClusterState;
  private currentScope?: CancellationScope;

  constructor(
    readonly name: string,
    state: ClusterState | undefined,
    private readonly probes: EntityProbes,
  ) {
    this.state = state ?? { name, phase: 'Pending', seq: 0, queue: [], operations: [] };
    this.publish();
  }

  /** The live state as the workflow's current details (Temporal UI); set only when it changed. */
  private publish(): void {
    publishClusterDetails(this.state);
  }

  /** The one place the phase changes (and with it the search attributes). */
  private transition(event: PhaseEvent): void {
    this.state.steadyHealth = undefined; // whatever changes the phase, the next health reading answers
    const next = nextPhase(event, this.state.phase);
    if (!next) return;
    const s = this.state;
    s.phase = next.phase;
    s.reason = next.reason;
    setSearchAttributes({ cluster: this.name, phase: next.phase, version: s.spec?.version ?? null });
    this.publish();
  }

  private get deleting(): boolean {
    return this.state.phase === 'Deleting' || this.state.phase === 'Deleted';
  }

  private newOperation(kind: OperationKind, params?: Record<string, unknown>): OperationRecord {
    const seq = ++this.state.seq;
    return {
      id: operationId(this.name, seq, kind),
      cluster: this.name,
      seq,
      kind,
      status: 'Queued',
      workflowId: operationWorkflowId(this.name, seq, kind),
      params,
      submittedAt: new Date().toISOString(),
    };
  }

  private enqueue(kind: OperationKind, params?: Record<string, unknown>): OperationRecord {
    const op = this.newOperation(kind, params);
    this.state.queue.push(op);
    this.publish();
    return op;
  }

  private finish(op: OperationRecord, status: OperationRecord['status'], error?: string): void {
    const ops = this.state.operations;
    op.status = status;
    op.error = error;
    op.finishedAt = new Date().toISOString();
    ops.push(op);
    if (ops.length > KEPT_OPERATIONS) ops.splice(0, ops.length - KEPT_OPERATIONS);
    this.publish();
  }

  /** The newest operation of a kind: queued, running or finished. */
  private latest(kind: OperationKind): OperationRecord | undefined {
    const s = this.state;
    return (
      [...s.queue].reverse().find((o) => o.kind === kind) ??
      (s.current?.kind === kind ? s.current : undefined) ??
      [...s.operations].reverse().find((o) => o.kind === kind)
    );
  }

  view(): ClusterView {
    const s = this.state;
    return {
      name: this.name,
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
    };
  }

  // ---- create and delete: the lifecycle messages ----

  validateCreate({ fingerprint }: Pick<CreateClusterRequest, 'fingerprint'>): void {
    if (this.deleting) throw refuse('Conflict', `cluster ${this.name} is being deleted`);
    if (this.state.fingerprint && this.state.fingerprint !== fingerprint)
      throw refuse('Conflict', `cluster ${this.name} already exists with a different spec`);
  }

  create({ spec, fingerprint }: CreateClusterRequest): OperationAccepted {
    const s = this.state;
    if (!s.spec) {
      s.spec = spec;
      s.fingerprint = fingerprint;
      this.transition({ on: 'created' });
      return accepted(this.enqueue('provision'));
    }
    const last = this.latest('provision');
    if (last && last.status !== 'Failed' && last.status !== 'Cancelled') return accepted(last, false);
    // The same spec after a failed provisioning: try again, keeping the CA.
    return accepted(this.enqueue('provision'));
  }

  validateDelete(): void {
    if (!this.state.spec) throw refuse('NotFound', `cluster ${this.name} not found`);
  }

  delete({ purge }: DeleteClusterRequest): OperationAccepted {
    const pending = this.latest('delete');
    if (pending && (pending.status === 'Queued' || pending.status === 'Running')) return accepted(pending, false);
    // Queued operations can never run now; the running one is cancelled.
    for (const op of this.state.queue.splice(0)) this.finish(op, 'Cancelled', 'cancelled by delete');
    const op = this.enqueue('delete', { purge });
    this.transition({ on: 'deleting' });
    this.currentScope?.cancel();
    return accepted(op);
  }

  // ---- submissions and control of queued/running operations ----

  validateSubmission({ kind, params }: SubmitOperationRequest): void {
    const handler = handlerFor(kind);
    if (!handler || handler.internal) throw refuse('Refused', `operation ${kind} is not available`);
    if (!this.state.spec) throw refuse('NotFound', `cluster ${this.name} not found`);
    if (this.deleting) throw refuse('Conflict', `cluster ${this.name} is being deleted`);
    handler.validate?.(this.state, params ?? {});
  }

  async submit({ kind, params }: SubmitOperationRequest): Promise<OperationAccepted> {
    try {
      await handlerFor(kind)!.precheck?.(this.state, params ?? {});
    } catch (err) {
      // A bug in a precheck is this request's failure, never a failed workflow task.
      throw err instanceof TemporalFailure ? err : refuse('Refused', `precheck failed: ${describe(err)}`);
    }
    return accepted(this.enqueue(kind, params ?? {}));
  }

  /** Fire-and-forget (schedules): a refusal is recorded as a failed operation. */
  submitOrRecord(req: SubmitOperationRequest): void {
    try {
      this.validateSubmission(req);
      this.enqueue(req.kind, req.params ?? {});
    } catch (err) {
      this.finish(this.newOperation(req.kind, req.params ?? {}), 'Failed', `refused: ${describe(err)}`);
    }
  }

  validateControl({ operationId: id, action }: ControlOperationRequest): void {
    const s = this.state;
    if (s.queue.some((o) => o.id === id)) {
      if (action !== 'cancel') throw refuse('Conflict', `operation ${id} has not started yet; only cancel applies`);
      return;
    }
    const running = s.current;
    if (!running || running.id !== id) {
      const known = s.operations.some((o) => o.id === id);
      throw known ? refuse('Conflict', `operation ${id} has already finished`) : refuse('NotFound', `no operation ${id}`);
    }
    if (handlerFor(running.kind)?.terminal) throw refuse('Conflict', `a ${running.kind} cannot be paused or cancelled`);
  }

  async control({ operationId: id, action }: ControlOperationRequest): Promise<OperationRecord> {
    const s = this.state;
    const queued = s.queue.findIndex((o) => o.id === id);
    if (queued >= 0) {
      const [op] = s.queue.splice(queued, 1);
      this.finish(op, 'Cancelled', 'cancelled before it started');
      return op;
    }
    const op = s.current;
    if (!op) throw refuse('Conflict', `operation ${id} is no longer running`);
    if (action === 'cancel') this.currentScope?.cancel();
    else {
      await getExternalWorkflowHandle(op.workflowId).signal(action === 'pause' ? pauseSignal : resumeSignal);
      op.status = action === 'pause' ? 'Paused' : 'Running';
      this.publish();
    }
    return op;
  }

  // ---- certificates ----

  validateSignClient(): void {
    const { spec, pki } = this.state;
    if (!spec) throw refuse('NotFound', `cluster ${this.name} not found`);
    if (!spec.tls.enabled || !pki)
      throw refuse('Conflict', `cluster ${this.name} has no certificates${spec.tls.enabled ? ' yet' : ' (TLS is off)'}`);
  }

  async signClient({ csr, commonName }: ClientCsrRequest): Promise<SignedClient> {
    const { spec, pki } = this.state;
    if (!spec || !pki) throw refuse('Conflict', `cluster ${this.name} has no certificates yet`);
    const { cert } = await this.probes.signClient(spec, pki, csr, commonName, clusterQueue(this.state));
    return { ca: pki.ca.cert, cert };
  }

  pkiIssued(pki: NonNullable<ClusterState['pki']>): void {
    this.state.pki = pki;
  }

  // ---- the queue ----

  /** Runs the queue and checks health between operations until the cluster is deleted or history should start anew. */
  async loop(): Promise<EntityEnd> {
    const s = this.state;
    // Bounded parse: a stored spec with an out-of-range interval (from before the schema bounded it)
    // falls back to the default instead of handing Temporal an invalid timer.
    const healthEvery = () => durationMs(s.spec?.maintenance?.healthCheckInterval) ?? DEFAULT_HEALTH_INTERVAL_MS;
    for (;;) {
      const observing = s.phase === 'Running' || s.phase === 'Degraded' || s.phase === 'QuorumLost';
      // Histories recorded before the standing watch replay with a timer and one check per interval.
      const watching = observing && patched(HEALTH_WATCH_PATCH);
      const hasWork = watching
        ? await this.watchHealth(healthEvery())
        : await condition(() => s.queue.length > 0, nextObservationMs(s, healthEvery(), Date.now()));
      if (hasWork) {
        const op = s.queue.shift()!;
        const handler = handlerFor(op.kind)!;
        await this.run(op, handler);
        if (handler.terminal && op.status === 'Succeeded') {
          await releaseClusterAddresses(this.name);
          await condition(allHandlersFinished);
          return 'deleted';
        }
        // A busy entity (operations back to back) starts anew between two of them, its queue carried over.
        if (continueBusy()) {
          await condition(allHandlersFinished);
          return 'continue-as-new';
        }
        continue;
      }
      if (observing && !watching) await this.observeHealth();
      if (workflowInfo().continueAsNewSuggested && s.queue.length === 0) {
        await condition(allHandlersFinished);
        return 'continue-as-new';
      }
    }
  }

  private async run(op: OperationRecord, handler: OperationHandler): Promise<void> {
    const s = this.state;
    const before = s.phase;
    op.status = 'Running';
    op.startedAt = new Date().toISOString();
    s.current = op;
    this.transition({ on: 'started', phase: handler.phase, reason: handler.keepsReason ? s.reason : undefined });
    setEntityOperation(this.name, op.kind);
    try {
      const outcome = await CancellationScope.cancellable(async () => {
        this.currentScope = CancellationScope.current();
        const taskQueue = await placeOperation(s, handler);
        return handler.run({ state: s, spec: s.spec!, op, params: op.params ?? {}, taskQueue });
      });
      if (outcome.spec) s.spec = outcome.spec;
      recordMemberQueues(s);
      if (outcome.pki) s.pki = outcome.pki;
      if (outcome.health) s.health = outcome.health;
      // An operation that ends with quorum (a recovery) ends the quorum-loss episode.
      if (outcome.health && !quorumLossReason(outcome.health)) s.quorumLoss = undefined;
      if (outcome.files) s.files = { ...s.files, ...outcome.files };
      if (outcome.extensions) s.extensions = { ...s.extensions, ...outcome.extensions };
      op.result = outcome.result;
      this.finish(op, 'Succeeded');
      this.transition({ on: 'succeeded', phase: outcome.phase, health: s.health });
    } catch (err) {
      const cancelled = isCancellation(err);
      this.finish(op, cancelled ? 'Cancelled' : 'Failed', cancelled ? 'cancelled' : describe(err));
      this.transition({ on: 'failed', op, before, failurePhase: handler.failurePhase, cancelled });
      if (!handler.failurePhase) await this.observeHealth(op.error);
    } finally {
      s.current = undefined;
      this.currentScope = undefined;
      setEntityOperation(this.name, null);
      this.publish();
    }
    // Members that left (or never joined) free their address:port pairs.
    if (!handler.terminal) await retainClusterAddresses(s);
  }

  private async observeHealth(lastError?: string): Promise<void> {
    try {
      this.record(await this.probes.clusterHealth(this.state.spec!, clusterQueue(this.state)), lastError);
    } catch (err) {
      this.unobservable(err);
    }
  }

  /**
   * Between operations: the standing health watch (one activity that reads the cluster every interval and
   * answers only when a reading differs from the one recorded, or after HEALTH_REFRESH_MS) until it answers
   * or an operation is queued; the watch is then cancelled without waiting. True when there is work.
   */
  private async watchHealth(everyMs: number): Promise<boolean> {
    const s = this.state;
    const first = nextObservationMs(s, everyMs, Date.now());
    // While quorum is lost within its grace period every reading counts (the grace ends on one).
    const maxWaitMs = s.quorumLoss && !s.quorumLoss.recovery ? first : Math.max(HEALTH_REFRESH_MS, everyMs);
    const scope = new CancellationScope();
    let answer: { health: ClusterHealthView } | { error: unknown } | undefined;
    scope
      .run(() =>
        this.probes.watchHealth(
          s.spec!,
          { everyMs: first, maxWaitMs, since: s.steadyHealth },
          healthQueue(clusterQueue(s) ?? workflowInfo().taskQueue),
        ),
      )
      .then(
        (health) => (answer = { health }),
        (error) => (answer = { error }),
      );
    await condition(() => s.queue.length > 0 || answer !== undefined);
    if (!answer) {
      scope.cancel();
      return true;
    }
    if ('health' in answer) this.record(answer.health);
    else this.unobservable(answer.error);
    return s.queue.length > 0;
  }

  /** A health reading: quorum watched, phase and reason from it; the steady one when nothing else speaks in the reason. */
  private record(health: ClusterHealthView, lastError?: string): void {
    this.state.health = health;
    if (this.quorumLost(health, lastError)) return;
    this.transition({ on: 'observed', health, now: Date.now(), lastError });
    if (!lastError && !this.state.quorumLoss) this.state.steadyHealth = healthSignature(health);
  }

  private unobservable(err: unknown): void {
    this.transition({ on: 'unobservable', error: describe(err) });
  }

  /**
   * Quorum lost for longer than the spec's grace period: phase QuorumLost, and one
   * recover-quorum operation per episode (it waits for approval unless recovery.auto).
   * Within the grace period the reading counts as an ordinary Degraded one.
   */
  private quorumLost(health: ClusterHealthView, lastError?: string): boolean {
    if (this.deleting || !quorumLossReason(health)) {
      this.state.quorumLoss = undefined;
      return false;
    }
    // Histories recorded before the detection existed replay without it (no marker is written while quorum is fine).
    if (!patched(QUORUM_LOSS_PATCH)) return false;
    const verdict = watchQuorum(this.state, health, Date.now());
    if (verdict.kind !== 'lost') return false;
    this.transition({ on: 'quorumLost', reason: `${verdict.reason}${lastError ? `; last operation: ${lastError}` : ''}` });
    if (verdict.queue) this.state.quorumLoss!.recovery = this.enqueue('recover-quorum', verdict.queue).id;
    return true;
  }
}

/**
 * History should start anew while operations are queued. Before this check a busy entity continued-as-new
 * only once idle; histories recorded then replay without the marker (patched is asked only when suggested).
 */
export const BUSY_CONTINUE_AS_NEW_PATCH = 'continue-as-new-when-busy';
const continueBusy = () => workflowInfo().continueAsNewSuggested && patched(BUSY_CONTINUE_AS_NEW_PATCH);

const accepted = (op: OperationRecord, created = true): OperationAccepted => ({ operationId: op.id, workflowId: op.workflowId, created });
