// Operation and progress model shared by the workflows (which own it) and the
// API (which renders it). Pure types and helpers only.
export type OperationKind = 'provision' | 'delete';
export type OperationStatus = 'Queued' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';
export type ClusterPhase = 'Pending' | 'Provisioning' | 'Running' | 'Degraded' | 'Failed' | 'Deleting' | 'Deleted';
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface Step {
  name: string;
  status: StepStatus;
  detail?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface OperationRecord {
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
  id?: string;
  clientURL: string;
  peerURL: string;
  healthy: boolean;
  isLeader: boolean;
  isLearner: boolean;
  version?: string;
  raftIndex?: number;
  dbSize?: number;
  error?: string;
}

export interface ClusterHealthView {
  healthy: boolean;
  leader?: string;
  alarms: string[];
  members: MemberHealth[];
  checkedAt: string;
  error?: string;
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
  const m = /^([a-z0-9-]+)\.(\d+)-(provision|delete)$/.exec(id);
  return m ? { cluster: m[1], seq: Number(m[2]), kind: m[3] as OperationKind } : undefined;
}

/** Markdown step list for the Temporal UI's current details. */
export function renderSteps(title: string, steps: Step[]): string {
  const icon: Record<StepStatus, string> = { pending: '⬜', running: '⏳', done: '✅', failed: '❌', skipped: '⏭️' };
  const lines = steps.map((s) => `- ${icon[s.status]} **${s.name}**${s.detail ? ` — ${s.detail}` : ''}`);
  return [`### ${title}`, '', ...lines].join('\n');
}
