// OpenAPI 3.1 document; request schemas are generated from the same zod schemas
// that validate requests, so the document cannot drift from the behaviour.
import { SCHEMAS, accepted, json, problem, ref } from './openapi-schemas';
import { addLinks, operationIdOf } from './openapi-links';

const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const memberParam = { name: 'member', in: 'path', required: true, schema: { type: 'string' } };
const userParam = { name: 'user', in: 'path', required: true, schema: { type: 'string' } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const body = { content: { 'application/json': { schema: { type: 'object' } }, 'application/yaml': { schema: { type: 'object' } } } };
/** An operation request: 202 when queued, 4xx problem+json when refused (nothing changes). */
const queued = (summary: string, withBody = false) => ({
  summary,
  ...(withBody ? { requestBody: body } : {}),
  responses: { 202: accepted, 400: problem(), 404: problem(), 409: problem(), 422: problem() },
});
/** pause, resume, cancel: the operation as it is now. */
const control = (summary: string) => ({
  summary,
  responses: { 202: json('the operation', 'Operation'), 400: problem(), 404: problem(), 409: problem(), 422: problem() },
});

const payloadList = {
  type: 'object',
  required: ['payloads'],
  additionalProperties: false,
  properties: {
    payloads: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          metadata: { type: 'object', additionalProperties: { type: 'string', contentEncoding: 'base64' } },
          data: { type: 'string', contentEncoding: 'base64' },
        },
      },
    },
  },
};
/** The Temporal codec server protocol, the tools' door (bearer token); the UI's capability URL is not listed. */
const codecOperation = (summary: string) => ({
  post: {
    summary,
    requestBody: { required: true, content: { 'application/json': { schema: ref('Payloads') } } },
    responses: {
      200: { description: 'the payloads, same order', content: { 'application/json': { schema: ref('Payloads') } } },
      400: problem(),
      422: problem(),
    },
  },
});

/** GETs that need more than the viewer role (api/access.ts): they hand out secrets or the audit trail. */
const ADMIN_GETS = ['/v1/clusters/{name}/credentials', '/v1/operations/{id}/ca-rotation', '/v1/audit'];

const BEARER = [{ bearer: [] }];

/**
 * What every route answers besides its own statuses: with the token, 401
 * (none or wrong); under /v1, 403 for all but the viewer's GETs (role too low)
 * and 503 (Temporal did not answer); with a body, 413 (too large) and 415 (a
 * charset the service does not read). Each operation gets its operationId and
 * its security (the bearer scheme unless it says otherwise).
 */
function withCommonResponses(paths: Record<string, Record<string, any>>): Record<string, Record<string, any>> {
  for (const [p, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue;
      op.operationId ??= operationIdOf(method, p);
      op.security ??= BEARER;
      const extra: Record<string, object> = {};
      if (op.security.some((s: object) => 'bearer' in s)) extra[401] = problem('no or a wrong bearer token');
      if (p.startsWith('/v1/')) {
        if (method !== 'get' || ADMIN_GETS.includes(p))
          extra[403] = problem("the token's role is too low, or the service policy forbids it");
        extra[503] = problem('Temporal did not answer in time');
      }
      if (op.requestBody) {
        extra[413] = problem('the body is larger than 256 KiB');
        extra[415] = problem('a charset the service does not read');
      }
      op.responses = { ...extra, ...op.responses };
    }
  }
  return paths;
}

let cached: object | undefined;

export function openApiDocument(): object {
  cached ??= {
    openapi: '3.1.0',
    info: { title: 'etcdfleet', version: '1', description: 'Provision and operate etcd clusters through durable Temporal workflows.' },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'the API token (<state>/api-token, or a named token of ETCDFLEET_API_TOKENS_FILE)',
        },
      },
      schemas: { ...SCHEMAS, Payloads: payloadList },
    },
    security: BEARER,
    paths: addLinks(
      withCommonResponses({
        '/v1/clusters': {
          post: {
            summary: 'Create a cluster from a native spec (JSON or YAML); idempotent for the same spec',
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/ClusterSpec' } },
                'application/yaml': { schema: { $ref: '#/components/schemas/ClusterSpec' } },
              },
            },
            responses: {
              202: accepted,
              400: problem(),
              403: problem('the service policy forbids a value (field paths in errors)'),
              409: problem(),
            },
          },
          get: { summary: 'List clusters', responses: { 200: json('clusters with phase and version', 'ClusterList') } },
        },
        '/v1/imports/taskserv': {
          post: {
            summary: 'Create a cluster from one or more taskserv ETCD configs (YAML/JSON)',
            parameters: [{ name: 'provider', in: 'query', schema: { type: 'string', enum: ['local', 'ssh'] } }],
            requestBody: { required: true, content: { 'application/yaml': { schema: {} }, 'application/json': { schema: {} } } },
            responses: {
              202: accepted,
              400: problem(),
              403: problem('the service policy forbids a value (field paths in errors)'),
              409: problem(),
            },
          },
        },
        '/v1/clusters/{name}': {
          parameters: [nameParam],
          patch: {
            summary: 'Desired spec → plan of operations (queued unless dryRun=true)',
            parameters: [{ name: 'dryRun', in: 'query', schema: { type: 'boolean' } }],
            requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ClusterSpec' } } } },
            responses: {
              200: json('plan (dry run)', 'Plan'),
              202: json('plan and queued operations', 'Plan'),
              400: problem(),
              409: problem(),
              422: problem(),
            },
          },
          get: {
            summary: 'Phase, version, members (health, leader, learner, files) and the current operation',
            responses: { 200: json('cluster', 'Cluster'), 404: problem() },
          },
          delete: {
            summary: 'Stop members and remove service files; data is kept unless purge=true',
            parameters: [{ name: 'purge', in: 'query', schema: { type: 'boolean' } }],
            responses: { 202: accepted, 404: problem() },
          },
        },
        '/v1/clusters/{name}/credentials': {
          parameters: [nameParam],
          get: {
            summary:
              'CA certificate and a fresh admin client certificate and key (PEM); the key is made by the API for this response and kept nowhere',
            responses: { 200: json('ca, cert, key', 'Credentials'), 404: problem(), 409: problem() },
          },
        },
        '/v1/operations/{id}': {
          parameters: [idParam],
          get: { summary: 'An operation with its steps', responses: { 200: json('operation', 'Operation'), 404: problem() } },
        },
        '/v1/operations/{id}/events': {
          parameters: [idParam],
          get: {
            summary: 'Server-sent events of the operation until it ends',
            responses: { 200: { description: 'text/event-stream' }, 404: problem() },
          },
        },
        '/v1/operations/{id}/pause': { parameters: [idParam], post: control('Pause at the next step boundary') },
        '/v1/operations/{id}/resume': { parameters: [idParam], post: control('Resume a paused operation') },
        '/v1/operations/{id}/cancel': { parameters: [idParam], post: control('Cancel (queued: dropped; running: stopped safely)') },
        '/v1/operations/{id}/approve': {
          parameters: [idParam],
          post: {
            summary: 'Approve a recover-quorum operation waiting for approval (admin); 409 when it waits for nothing',
            responses: { 202: json('operation', 'Operation'), 404: problem(), 409: problem() },
          },
        },
        '/v1/clusters/{name}/recover-quorum': {
          parameters: [nameParam],
          post: queued('Queue a quorum-loss recovery by hand {auto?} (admin; 422 while the cluster has quorum)', true),
        },
        '/v1/operations/{id}/ca-rotation': {
          parameters: [idParam],
          get: {
            summary: 'During a CA rotation: trust bundle and a fresh admin certificate and key from the new CA',
            responses: { 200: json('bundle', 'CaRotation'), 404: problem(), 409: problem() },
          },
        },
        '/v1/clusters/{name}/members': { parameters: [nameParam], post: queued('Add a member (learner, promoted when caught up)', true) },
        '/v1/clusters/{name}/members/{member}': { parameters: [nameParam, memberParam], delete: queued('Remove a member') },
        '/v1/clusters/{name}/members/{member}/replace': {
          parameters: [nameParam, memberParam],
          post: queued('Replace a member (remove, then add with fresh data and certificates)', true),
        },
        '/v1/clusters/{name}/upgrade': { parameters: [nameParam], post: queued('Rolling upgrade {version}', true) },
        '/v1/clusters/{name}/config': { parameters: [nameParam], post: queued('Rolling config change {tunables, logging}', true) },
        '/v1/clusters/{name}/certificates/rotate': {
          parameters: [nameParam],
          post: queued('Renew certificates, or rotate the CA with {ca: true}', true),
        },
        '/v1/clusters/{name}/backups': {
          parameters: [nameParam],
          get: { summary: 'Verified backups', responses: { 200: json('backups', 'Backups'), 404: problem() } },
          post: queued('Back up now', true),
        },
        '/v1/clusters/{name}/restore': {
          parameters: [nameParam],
          post: {
            ...queued(
              'Restore in place {backup, force?} or into a new cluster {from, backup, spec}; to a point in time with toRevision or toTime (a point the recorded changes do not reach, or a hole in them, is a 422 before anything is queued or created)',
              true,
            ),
            responses: { 202: accepted, 400: problem(), 403: problem(), 404: problem(), 409: problem(), 422: problem() },
          },
        },
        ...Object.fromEntries(
          ['compact', 'defrag', 'defrag-check', 'clear-nospace', 'restore-drill'].map((k) => [
            `/v1/clusters/{name}/${k}`,
            { parameters: [nameParam], post: queued(`${k} now`, true) },
          ]),
        ),
        '/v1/clusters/{name}/schedules': {
          parameters: [nameParam],
          get: { summary: 'Temporal Schedules of the cluster', responses: { 200: json('schedules', 'Schedules'), 404: problem() } },
          put: {
            summary: 'Create, change or delete schedules per kind',
            requestBody: body,
            responses: { 200: json('schedules', 'Schedules'), 400: problem(), 404: problem() },
          },
        },
        '/v1/clusters/{name}/schedules/{kind}/{action}': {
          parameters: [
            nameParam,
            { name: 'kind', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'action', in: 'path', required: true, schema: { type: 'string', enum: ['trigger', 'pause', 'unpause'] } },
          ],
          post: { summary: 'Trigger, pause or unpause one schedule', responses: { 200: json('schedule', 'Schedule'), 404: problem() } },
        },
        // etcd users and roles (api/routes/auth.ts): changes are admin's, reads viewer's.
        '/v1/clusters/{name}/roles': {
          parameters: [nameParam],
          get: { summary: 'etcd roles (recorded state)', responses: { 200: json('roles', 'Roles'), 404: problem() } },
        },
        '/v1/clusters/{name}/roles/{role}': {
          parameters: [nameParam, { name: 'role', in: 'path', required: true, schema: { type: 'string' } }],
          put: queued('Create or replace an etcd role {permissions: [{prefix | key, access: read|write|readwrite}]}', true),
          delete: queued('Delete an etcd role (a missing role is a success)'),
        },
        '/v1/clusters/{name}/users': {
          parameters: [nameParam],
          get: { summary: 'etcd users (never passwords)', responses: { 200: json('users', 'Users'), 404: problem() } },
        },
        '/v1/clusters/{name}/users/{user}': {
          parameters: [nameParam, userParam],
          put: queued('Create or change an etcd user {password?, roles}; without a password it logs in by client certificate', true),
          delete: queued('Delete an etcd user (a missing user is a success)'),
        },
        '/v1/clusters/{name}/users/{user}/certificate': {
          parameters: [nameParam, userParam],
          post: {
            summary: 'A client certificate with CN = user from the cluster CA; the key is in this response only',
            responses: { 201: json('ca, cert, key', 'Credentials'), 400: problem(), 404: problem(), 409: problem(), 422: problem() },
          },
        },
        '/v1/clusters/{name}/auth': { parameters: [nameParam], put: queued('Enable or disable etcd auth {enabled}', true) },
        '/openapi.json': {
          get: {
            security: [],
            summary: 'This document',
            responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
          },
        },
        '/docs': {
          get: {
            security: [],
            summary: 'This document for people: Swagger UI, served from this machine',
            responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
          },
        },
        '/healthz': { get: { security: [], summary: 'Liveness', responses: { 200: json('ok', 'Status') } } },
        '/readyz': {
          get: { security: [], summary: 'Readiness (Temporal reachable)', responses: { 200: json('ready', 'Status'), 503: problem() } },
        },
        '/v1/audit': {
          get: {
            summary: 'Audit trail (admin): changes and credential reads, newest last',
            parameters: [
              { name: 'cluster', in: 'query', schema: { type: 'string' } },
              { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' } },
              { name: 'until', in: 'query', schema: { type: 'string', format: 'date-time' } },
              { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
            ],
            responses: {
              200: json('entries: time, token, method, path, status, cluster, operationId, requestId', 'AuditEntries'),
              400: problem(),
            },
          },
        },
        '/metrics': {
          get: {
            security: [{ bearer: [] }, {}],
            summary: 'Prometheus metrics (the token is required when ETCDFLEET_METRICS_REQUIRE_TOKEN=true)',
            responses: {
              200: { description: 'text exposition', content: { 'text/plain': { schema: { type: 'string' } } } },
              401: problem(),
            },
          },
        },
        '/codec/decode': codecOperation('Decode payloads (Temporal codec server protocol)'),
        '/codec/encode': codecOperation('Encode payloads (Temporal codec server protocol)'),
      }),
    ),
  };
  return cached;
}
