// The cluster entity's state and the contract every operation handler follows.
import type { ClusterSpec } from '../common/spec';
import type { MemberFiles } from '../common/topology';
import type { ClusterHealthView, ClusterPhase, OperationRecord } from '../common/operations';
import type { ClusterPki } from '../activities/pki';

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

export interface OperationContext {
  state: Readonly<ClusterState>;
  spec: ClusterSpec;
  op: OperationRecord;
  params: Record<string, unknown>;
}

export interface OperationHandler {
  /**
   * Runs in the Update validator: throw ApplicationFailure with type `Refused`
   * (→ 422), `Conflict` (→ 409) or `NotFound` (→ 404) to refuse the request;
   * nothing is queued then. Must be deterministic and must not mutate state.
   */
  validate?(state: Readonly<ClusterState>, params: Record<string, unknown>): void;
  /**
   * Runs in the Update handler before anything is queued and may call
   * activities (live health, quorum math). Throwing an ApplicationFailure of
   * type Refused/Conflict/NotFound fails the request with 422/409/404 and
   * changes nothing.
   */
  precheck?(state: Readonly<ClusterState>, params: Record<string, unknown>): Promise<void>;
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
  /** Runs the operation (normally one child workflow with ID op.workflowId). */
  run(ctx: OperationContext): Promise<OperationOutcome>;
}

export type OperationHandlers = Partial<Record<import('../common/operations').OperationKind, OperationHandler>>;
