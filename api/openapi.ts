// OpenAPI 3.1 document; request schemas are generated from the same zod schemas
// that validate requests, so the document cannot drift from the behaviour.
import { z } from 'zod';
import { ClusterSpec } from '../common/spec';

const problem = {
  description: 'RFC 9457 problem details',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  },
};
const accepted = {
  description: 'Accepted: the operation is queued',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          operationId: { type: 'string' },
          workflowId: { type: 'string' },
          created: { type: 'boolean' },
          warnings: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};
const json = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };

let cached: object | undefined;

export function openApiDocument(): object {
  cached ??= {
    openapi: '3.1.0',
    info: { title: 'etcdfleet', version: '1', description: 'Provision and operate etcd clusters through durable Temporal workflows.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { ClusterSpec: z.toJSONSchema(ClusterSpec, { io: 'input', unrepresentable: 'any' }) },
    },
    security: [{ bearer: [] }],
    paths: {
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
          responses: { 202: accepted, 400: problem, 401: problem, 409: problem, 413: problem },
        },
        get: { summary: 'List clusters', responses: { 200: json('clusters with phase and version') } },
      },
      '/v1/imports/taskserv': {
        post: {
          summary: 'Create a cluster from one or more taskserv ETCD configs (YAML/JSON)',
          parameters: [{ name: 'provider', in: 'query', schema: { type: 'string', enum: ['local'] } }],
          requestBody: { required: true, content: { 'application/yaml': { schema: {} }, 'application/json': { schema: {} } } },
          responses: { 202: accepted, 400: problem, 401: problem, 409: problem },
        },
      },
      '/v1/clusters/{name}': {
        parameters: [nameParam],
        get: { summary: 'Phase, version, members (health, leader, learner, files) and the current operation', responses: { 200: json('cluster'), 404: problem } },
        delete: {
          summary: 'Stop members and remove service files; data is kept unless purge=true',
          parameters: [{ name: 'purge', in: 'query', schema: { type: 'boolean' } }],
          responses: { 202: accepted, 404: problem },
        },
      },
      '/v1/clusters/{name}/credentials': {
        parameters: [nameParam],
        get: { summary: 'CA certificate and an admin client certificate and key (PEM)', responses: { 200: json('ca, cert, key'), 404: problem } },
      },
      '/v1/operations/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'An operation with its steps', responses: { 200: json('operation'), 404: problem } },
      },
      '/healthz': { get: { security: [], summary: 'Liveness', responses: { 200: json('ok') } } },
      '/readyz': { get: { security: [], summary: 'Readiness (Temporal reachable)', responses: { 200: json('ready'), 503: problem } } },
      '/metrics': { get: { security: [], summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition' } } } },
    },
  };
  return cached;
}
