// The cluster entity's state and the contract every operation handler follows.
import { ApplicationFailure } from '@temporalio/workflow';
import type { Issue } from '../common/issues';
import { parseOperationParams, type OperationParams } from '../common/operation-params';
import type { OperationKind } from '../common/operations';
import type { ClusterSpec } from '../common/spec';
import type { MemberFiles } from '../common/topology';
import type { ClusterHealthView, ClusterPhase, OperationRecord } from '../common/operations';
import type { ClusterPki } from '../activities/pki';
import { describe } from './progress';

export interface ClusterState {
  name: string;
  phase: ClusterPhase;
  reason?: string;
  /** The spec the cluster runs (updated by operations that change it). */
  spec?: ClusterSpec;
  /** Fingerprint of the spec it was created with: same POST again is idempotent. */
  fingerprint?: string;
  pki?: ClusterPki;
  seq: number;
  /** The operation running now (handlers' validators and prechecks see it). */
  current?: OperationRecord;
  queue: OperationRecord[];
  operations: OperationRecord[];
  health?: ClusterHealthView;
  /** Absolute paths of each member's files on its host. */
  files?: Record<string, MemberFiles>;
  /** Free-form state owned by operation kinds (e.g. the backup catalogue), keyed by concern. */
  extensions?: Record<string, unknown>;
  /**
   * Task queue of the worker machine each member lives on (local provider: `<taskQueue>@<machine>`,
   * workflows/placement.ts); absent for ssh clusters and for clusters created before machine queues.
   */
  memberQueues?: Record<string, string>;
  /** The current quorum-loss episode (workflows/recovery/detect.ts): since when, and the recovery queued for it. */
  quorumLoss?: { since: string; recovery?: string };
  /**
   * Signature (common/health.ts) of the health reading the phase and reason stand on: the standing health
   * watch answers only with a reading unlike it. Cleared by every other phase event (an operation's outcome, a
   * failed check) and by a reason of its own (the last failed operation, quorum loss).
   */
  steadyHealth?: string;
}

/** What a finished operation changes in the entity; omitted fields stay as they are. */
export interface OperationOutcome {
  spec?: ClusterSpec;
  pki?: ClusterPki;
  health?: ClusterHealthView;
  files?: Record<string, MemberFiles>;
  /** Phase after success; default: Running (or Degraded per health). */
  phase?: ClusterPhase;
  extensions?: Record<string, unknown>;
  /** Stored on the operation record and shown by the API. */
  result?: unknown;
}

export interface OperationContext<P = Record<string, unknown>> {
  state: Readonly<ClusterState>;
  spec: ClusterSpec;
  op: OperationRecord;
  params: P;
  /** Task queue for the operation's child workflow (workflows/placement.ts); undefined: the entity's own. */
  taskQueue?: string;
}

/** `P`: the params as the entity stores them (`Record`) or as the kind's schema parses them (see `withParams`). */
export interface OperationHandler<P = Record<string, unknown>> {
  /**
   * Runs in the Update validator: throw ApplicationFailure with type `Refused`
   * (→ 422), `Conflict` (→ 409) or `NotFound` (→ 404) to refuse the request;
   * nothing is queued then. Must be deterministic and must not mutate state.
   */
  validate?(state: Readonly<ClusterState>, params: P): void;
  /**
   * Runs in the Update handler before anything is queued and may call
   * activities (live health, quorum math). Throwing an ApplicationFailure of
   * type Refused/Conflict/NotFound fails the request with 422/409/404 and
   * changes nothing.
   */
  precheck?(state: Readonly<ClusterState>, params: P): Promise<void>;
  /** Phase shown while it runs. */
  phase: ClusterPhase;
  /** Queued only by the entity's own messages (create, delete): a submission of this kind is refused. */
  internal?: boolean;
  /**
   * Phase after a failure (the cluster lifecycle: provision, delete). A cancellation then leaves the
   * phase alone. Without it, a failed or cancelled operation returns the cluster to its phase before
   * and its health is observed.
   */
  failurePhase?: ClusterPhase;
  /**
   * Its success ends the entity: the cluster's addresses are released (never retained after it),
   * and it cannot be paused or cancelled once it runs.
   */
  terminal?: boolean;
  /** Chooses the worker machine of a local cluster that has none yet (its first provisioning). */
  places?: boolean;
  /** The cluster's reason stays while it runs (recover-quorum: why quorum was lost). */
  keepsReason?: boolean;
  /** Runs the operation (normally one child workflow with ID op.workflowId). */
  run(ctx: OperationContext<P>): Promise<OperationOutcome>;
}

export type OperationHandlers = Partial<Record<OperationKind, OperationHandler>>;

export type RefusalType = 'Refused' | 'NotFound' | 'Conflict';

/** A request's refusal: the API answers 422 (Refused), 404 (NotFound) or 409 (Conflict) with the message. */
export function refuse(message: string, type: RefusalType = 'Refused'): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** Activity refusals become the update's refusal (422/404/409); anything else is a 422 with the cause. */
export function asRefusal(err: unknown): ApplicationFailure {
  let e: any = err;
  while (e && !(e instanceof ApplicationFailure) && e.cause) e = e.cause;
  if (e instanceof ApplicationFailure && (e.type === 'Refused' || e.type === 'NotFound' || e.type === 'Conflict'))
    return refuse(e.message, e.type);
  return refuse(`cannot check the cluster right now: ${describe(err)}`);
}

/** Runs a precheck's activity; whatever it throws is the request's refusal (asRefusal). */
export async function refusalGate(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    throw asRefusal(err);
  }
}

/** A refusal naming each bad field (`path: message; ...`); the issues travel as the failure's details. */
export function refuseIssues(issues: Issue[], type: RefusalType = 'Refused'): ApplicationFailure {
  const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [issues] });
}

/**
 * A handler written against its kind's parsed params (common/operation-params.ts):
 * the validator, the precheck and `run` each get the params parsed by the kind's
 * schema; params the schema refuses are a `Refused` naming the fields.
 */
export function withParams<K extends OperationKind>(kind: K, h: OperationHandler<OperationParams<K>>): OperationHandler {
  const parse = (raw: Record<string, unknown>): OperationParams<K> => {
    const r = parseOperationParams(kind, raw);
    if (!r.ok) throw refuseIssues(r.issues);
    return r.params;
  };
  const { validate, precheck, run } = h;
  return {
    ...h,
    validate: (state, raw) => {
      // Parsed even without a validator of its own (an optional call would skip the parse).
      const params = parse(raw);
      validate?.(state, params);
    },
    precheck: precheck && ((state, raw) => precheck(state, parse(raw))),
    run: (ctx) => run({ ...ctx, params: parse(ctx.params) }),
  };
}
