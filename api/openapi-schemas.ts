// The response bodies of /openapi.json as named schemas (components), and the
// responses built from them. Open objects (extra fields allowed): they say what
// a client can rely on, not every field a newer service may add.
import { z } from 'zod';
import { ClusterSpec } from '../common/spec';

const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const obj = (properties: Record<string, object>, required: string[] = [], description?: string) => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
  ...(required.length ? { required } : {}),
});
const list = (items: object) => ({ type: 'array', items });
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const Step = obj({ name: str, status: str, detail: str, startedAt: str, finishedAt: str }, ['name', 'status']);

export const SCHEMAS = {
  ClusterSpec: z.toJSONSchema(ClusterSpec, { io: 'input', unrepresentable: 'any' }),
  FieldError: obj({ path: { type: 'string', description: 'field path, e.g. members[1].address; empty: the whole body' }, message: str }, [
    'path',
    'message',
  ]),
  Problem: obj(
    {
      type: str,
      title: str,
      status: int,
      detail: str,
      errors: { ...list(ref('FieldError')), description: 'one entry per field at fault' },
    },
    ['type', 'title', 'status', 'detail'],
    'RFC 9457 problem details',
  ),
  Accepted: obj(
    {
      name: { type: 'string', description: 'the cluster' },
      operationId: { type: 'string', description: 'GET /v1/operations/{id} follows it' },
      workflowId: str,
      created: { type: 'boolean', description: 'false when the same request was already accepted' },
      warnings: list(str),
      member: str,
      kind: str,
      operations: { ...list(str), description: 'further operations queued with it (etcd users and roles of a new cluster)' },
    },
    ['operationId', 'workflowId'],
    'Accepted: the operation is queued',
  ),
  Step,
  Operation: obj(
    {
      id: str,
      cluster: str,
      seq: int,
      kind: str,
      status: { type: 'string', description: 'Queued, Running, Paused, Succeeded, Failed or Cancelled' },
      workflowId: str,
      params: { type: 'object' },
      submittedAt: str,
      startedAt: str,
      finishedAt: str,
      error: str,
      result: {},
      steps: list(Step),
    },
    ['id', 'cluster', 'kind', 'status', 'workflowId'],
    'An operation with its steps',
  ),
  ClusterMember: obj(
    {
      name: str,
      hostname: str,
      clientURL: str,
      peerURL: str,
      metricsURL: str,
      healthy: bool,
      isLeader: bool,
      isLearner: bool,
      version: str,
    },
    ['name', 'clientURL', 'peerURL', 'healthy', 'isLeader', 'isLearner'],
  ),
  Cluster: obj(
    {
      name: str,
      phase: str,
      reason: str,
      version: str,
      members: list(ref('ClusterMember')),
      health: { type: 'object' },
      currentOperation: ref('Operation'),
      queuedOperations: list(ref('Operation')),
      operations: list(ref('Operation')),
      spec: { type: 'object', description: 'the normalized spec (every default filled in)' },
    },
    ['name', 'phase', 'members'],
    'Phase, version, members (health, leader, learner, files) and operations',
  ),
  ClusterList: obj(
    {
      clusters: list(
        obj({ name: str, phase: str, reason: str, version: str, members: int, currentOperation: str }, ['name', 'phase', 'members']),
      ),
    },
    ['clusters'],
  ),
  Plan: obj(
    {
      name: str,
      dryRun: bool,
      plan: list(obj({ kind: str, params: { type: 'object' }, reason: str }, ['kind'])),
      operations: list(str),
      workflowIds: list(str),
      warnings: list(str),
    },
    ['name', 'plan'],
    'The operations from the current spec to the desired one',
  ),
  Backup: obj(
    {
      id: str,
      cluster: str,
      member: str,
      revision: int,
      object: str,
      snapshotBytes: int,
      storedBytes: int,
      sha256: str,
      createdAt: str,
      encryption: { type: ['object', 'null'] },
    },
    ['id'],
  ),
  Backups: obj({ name: str, location: str, items: list(ref('Backup')), latest: ref('Backup'), lastBackupAt: str }, ['name', 'items']),
  Credentials: obj(
    { name: str, user: str, ca: str, cert: str, key: str },
    ['ca', 'cert', 'key'],
    'PEM: CA certificate, client certificate and its key',
  ),
  Schedules: obj({ name: str, fromSpec: { type: 'object' }, schedules: {} }, [], 'Temporal Schedules per kind'),
  Schedule: { type: 'object', description: 'one schedule' },
  CaRotation: {
    type: 'object',
    description: 'during a CA rotation: the trust bundle and a fresh admin certificate and key (admin.cert, admin.key)',
  },
  Roles: obj({ name: str, authEnabled: bool, roles: list({ type: 'object' }) }, ['roles']),
  Users: obj({ name: str, authEnabled: bool, users: list(obj({ name: str, roles: list(str), password: bool }, ['name'])) }, ['users']),
  AuditEntries: obj(
    { entries: list({ type: 'object' }) },
    ['entries'],
    'time, token, method, path, status, cluster, operationId, requestId',
  ),
  Status: obj({ status: str }, ['status']),
};

const jsonOf = (description: string, schema: string) => ({ description, content: { 'application/json': { schema: ref(schema) } } });

/** A problem+json response (every 4xx and 5xx the service answers). */
export const problem = (description = 'RFC 9457 problem details') => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
});
export const accepted = jsonOf('Accepted: the operation is queued', 'Accepted');
export const json = jsonOf;
