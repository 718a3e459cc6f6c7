// Operation and progress model shared by the workflows (which own it) and the
// API (which renders it). Pure types and helpers only.
/** Every operation the cluster entity can queue; each has a handler in workflows/registry.ts. */
export const OPERATION_KINDS = [
  'provision',
  'delete',
  // membership (issue: change running clusters)
  'add-member',
  'remove-member',
  'replace-member',
  'scale',
  // rollouts
  'upgrade',
  'config-change',
  'rotate-certificates',
  'rotate-ca',
  // maintenance (issue: scheduled maintenance)
  'backup',
  'restore',
  'restore-drill',
  'compact',
  'defrag',
  'defrag-check',
  'clear-nospace',
  // etcd users and roles (issue: who may do what)
  'put-role',
  'delete-role',
  'put-user',
  'delete-user',
  'set-auth',
  // recovery (issue 12)
  'recover-quorum',
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];
export type OperationStatus = 'Queued' | 'Running' | 'Paused' | 'Succeeded' | 'Failed' | 'Cancelled';
export type ClusterPhase =
  | 'Pending'
  | 'Provisioning'
  | 'Running'
  | 'Degraded'
  | 'Updating'
  | 'Upgrading'
  | 'Restoring'
  | 'Maintenance'
  /** Quorum lost for longer than the spec's grace period; a recover-quorum operation is queued. */
  | 'QuorumLost'
  | 'Failed'
  | 'Deleting'
  | 'Deleted'
  /** Shown by the API, never set by a workflow: the cluster's workflow did not answer in time. */
  | 'Unknown';
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface Step {
  name: string;
  status: StepStatus;
  detail?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface OperationRecord {
  /** What the operation returned (e.g. a backup's manifest), shown by the API. */
  result?: unknown;
  id: string;
  cluster: string;
  seq: number;
  kind: OperationKind;
  status: OperationStatus;
  workflowId: string;
  params?: Record<string, unknown>;
  submittedAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

export interface MemberHealth {
  name: string;
  /** Member ID as etcd prints it (hex). */
  id?: string;
  clientURL: string;
  peerURL: string;
  healthy: boolean;
  isLeader: boolean;
  isLearner: boolean;
  /** Server version reported by the member (e.g. 3.5.10). */
  version?: string;
  raftIndex?: number;
  dbSize?: number;
  dbSizeInUse?: number;
  /** Leader's raft index minus this member's (0 for the leader). */
  raftLag?: number;
  error?: string;
}

export interface CertificateExpiry {
  member: string;
  /** ca, server, peer or admin */
  certificate: string;
  notAfter: string;
}

/** Certificates closer to expiry than this are named in the cluster's reason. */
export const CERT_EXPIRY_WARNING_DAYS = 30;

export interface ClusterHealthView {
  healthy: boolean;
  leader?: string;
  alarms: string[];
  members: MemberHealth[];
  certificates?: CertificateExpiry[];
  checkedAt: string;
  error?: string;
}

/** Failure type of a roll's member step refused by its safety check before the member was touched (no rollback). */
export const NOT_RESTARTED = 'NotRestarted';

/**
 * The queue of the standing health watches (`watchHealth`) beside a queue: every worker polls it beside the
 * shared queue and beside its machine's, with slots for as many watches as clusters (they sleep most of the
 * time), so the watches never take the slots the operations' activities need.
 */
export function healthQueue(queue: string): string {
  return `${queue}#health`;
}

export const CLUSTER_WORKFLOW_PREFIX = 'etcd-cluster/';
export function clusterWorkflowId(name: string): string {
  return `${CLUSTER_WORKFLOW_PREFIX}${name}`;
}
/** Operation ids are `<cluster>.<seq>-<kind>`: URL-safe and readable; cluster names never contain a dot. */
export function operationId(cluster: string, seq: number, kind: OperationKind): string {
  return `${cluster}.${seq}-${kind}`;
}
export function operationWorkflowId(cluster: string, seq: number, kind: OperationKind): string {
  return `${clusterWorkflowId(cluster)}/op/${seq}-${kind}`;
}
export function parseOperationId(id: string): { cluster: string; seq: number; kind: OperationKind } | undefined {
  const m = /^([a-z0-9-]+)\.(\d+)-([a-z-]+)$/.exec(id);
  if (!m || !(OPERATION_KINDS as readonly string[]).includes(m[3])) return undefined;
  return { cluster: m[1], seq: Number(m[2]), kind: m[3] as OperationKind };
}

/** Step markers: each with its status in words, readable without an emoji font. */
export const STEP_MARKERS: Record<StepStatus, string> = {
  pending: '○ pending',
  running: '▶ running',
  done: '✔ done',
  failed: '✖ failed',
  skipped: '↷ skipped',
};

/** Markdown step list for the Temporal UI's current details. */
export function renderSteps(title: string, steps: Step[]): string {
  const lines = steps.map((s) => `- \`${STEP_MARKERS[s.status]}\` **${s.name}**${s.detail ? ` — ${s.detail}` : ''}`);
  return [`### ${title}`, '', ...lines].join('\n');
}
