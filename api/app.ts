// The REST API: JSON or YAML in, problem+json errors with field paths out.
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { parseBody, MAX_BODY_BYTES } from '../common/parse';
import { parseAllowedClusterSpec, type SpecPolicy } from '../common/policy';
import { bodyText } from './body';
import { importTaskserv } from '../common/taskserv';
import { FleetService, renderCluster } from './service';
import { HttpProblem, sendProblem, toProblem } from './problems';
import { codecRouter } from './codec';
import { assertRolesDeclared, authenticate, requireRole, TokenStore } from './access';
import { AuditLog, auditHandler, auditMiddleware } from './audit';
import { identityContext } from './identity';
import { logger } from '../infra/logger';
import { openApiDocument } from './openapi';
import { docsRouter } from './docs';
import { createMetrics } from './metrics';
import { operationEvents } from './events';
import { membershipRoutes } from './routes/membership';
import { rolloutRoutes } from './routes/rollout';
import { maintenanceRoutes } from './routes/maintenance';
import { authRoutes, queueAuthPlan } from './routes/auth';
import { recoveryRoutes } from './routes/recovery';
import { apiTokensFile, codecOrigins, metricsRequireToken, type Config } from '../infra/config';
import { codecFor } from '../worker/temporal';
import type { ApiSecrets } from '../worker/secrets';

export interface AppOptions {
  client: Client;
  taskQueue: string;
  token: string;
  codec: PayloadCodec;
  /** Path segment of the codec URL handed to the Temporal UI (see api/codec.ts); none: token only. */
  codecCapability?: string;
  /** Browser origins (the Temporal UI) that get CORS headers from the codec endpoint. Not authorisation. */
  codecOrigins?: string[];
  /** Require the bearer token on /metrics too (ETCDFLEET_METRICS_REQUIRE_TOKEN=true). */
  metricsRequireToken?: boolean;
  /** How long /metrics reuses its reading of the clusters (default 15 s). */
  metricsCacheMs?: number;
  /** The operator's allowlists (Config.policy): a spec reaching anything else is a 403. */
  policy: SpecPolicy;
  /** ETCDFLEET_API_TOKENS_FILE: more named tokens with roles (api/access.ts); `token` is always the one named admin. */
  tokensFile?: string;
  /** Where the audit trail is appended (<stateDir>/audit.jsonl); none: no audit trail (embedded test/bench apps). */
  auditFile?: string;
}

/** The app as the service runs it (npm start, the standalone API): options from the service's configuration. */
export function createServiceApp(config: Config, client: Client, secrets: ApiSecrets): express.Express {
  return createApp({
    client,
    taskQueue: config.taskQueue,
    token: secrets.token,
    codec: codecFor(config),
    codecCapability: secrets.codecCapability,
    codecOrigins: codecOrigins(),
    metricsRequireToken: metricsRequireToken(),
    policy: config.policy,
    tokensFile: apiTokensFile(),
    auditFile: path.join(config.stateDir, 'audit.jsonl'),
  });
}

export function createApp(opts: AppOptions): express.Express {
  const fleet = new FleetService(opts.client, opts.taskQueue, opts.policy);
  const metrics = createMetrics(fleet, { cacheMs: opts.metricsCacheMs });
  const tokens = new TokenStore(opts.token, opts.tokensFile);
  const audit = new AuditLog(opts.auditFile);
  const app = express();
  app.disable('x-powered-by');
  app.use(metrics.middleware);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await opts.client.connection.workflowService.getSystemInfo({});
      res.json({ status: 'ready' });
    } catch (err) {
      // The address and the gRPC message stay in the log: /readyz is unauthenticated.
      logger.warn({ err: (err as Error).message }, 'readiness: Temporal is not reachable');
      sendProblem(res, 503, 'Service Unavailable', 'Temporal is not reachable');
    }
  });
  if (opts.metricsRequireToken) app.get('/metrics', authenticate(tokens), metrics.handler);
  else app.get('/metrics', metrics.handler);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  // The same document for people (Swagger UI, served locally); unauthenticated like /openapi.json.
  app.use('/docs', docsRouter());
  app.use(
    '/codec',
    codecRouter(
      opts.codec,
      { token: opts.token, capability: opts.codecCapability, origins: opts.codecOrigins ?? [] },
      metrics.routeRecorder,
    ),
  );

  const v1 = express.Router();
  v1.use(auditMiddleware(audit));
  v1.use(authenticate(tokens));
  v1.use(express.text({ type: () => true, limit: MAX_BODY_BYTES }));
  v1.use(identityContext());
  const viewer = requireRole('viewer');
  const operator = requireRole('operator');
  const admin = requireRole('admin');

  v1.post('/clusters', operator, async (req, res) => {
    const { spec, warnings } = parseAllowedClusterSpec(parseBody(bodyText(req), req.get('content-type')), opts.policy);
    // Users and roles are never stored in the spec (passwords): they are queued after provisioning.
    const accepted = await fleet.createCluster(spec);
    const authOps = spec.auth && accepted.created ? await queueAuthPlan(fleet, spec.name, spec.auth) : [];
    res
      .status(202)
      .location(`/v1/clusters/${spec.name}`)
      .json({
        name: spec.name,
        ...accepted,
        warnings: [...warnings, ...accepted.warnings],
        ...(authOps.length ? { operations: authOps.map((o) => o.operationId) } : {}),
      });
  });

  v1.post('/imports/taskserv', operator, async (req, res) => {
    const provider = (req.query.provider as string | undefined) ?? 'local';
    if (provider !== 'local' && provider !== 'ssh') {
      throw new HttpProblem(400, 'Invalid Request', 'provider: "local" or "ssh"', [{ path: 'provider', message: '"local" or "ssh"' }]);
    }
    const imported = importTaskserv(parseBody(bodyText(req), req.get('content-type')), { provider });
    const { spec, warnings } = parseAllowedClusterSpec(imported.spec, opts.policy);
    const accepted = await fleet.createCluster(spec);
    res
      .status(202)
      .location(`/v1/clusters/${spec.name}`)
      .json({
        name: spec.name,
        ...accepted,
        warnings: [...imported.warnings, ...warnings, ...accepted.warnings],
        unsupported: imported.unsupported,
        spec,
      });
  });

  v1.get('/clusters', viewer, async (_req, res) => {
    const views = await fleet.listClusters();
    res.json({
      clusters: views.map((v) => ({
        name: v.name,
        phase: v.phase,
        reason: v.reason,
        version: v.version,
        members: v.spec?.members.length ?? 0,
        currentOperation: v.current?.id,
      })),
    });
  });

  v1.get('/clusters/:name', viewer, async (req, res) => {
    const view = await fleet.view(String(req.params.name));
    const progress = view.current ? await fleet.progress(view.current) : undefined;
    res.json(renderCluster(view, progress?.steps));
  });

  v1.get('/clusters/:name/credentials', admin, async (req, res) => {
    res.json(await fleet.credentials(String(req.params.name)));
  });

  v1.delete('/clusters/:name', admin, async (req, res) => {
    const purge = req.query.purge === 'true' || req.query.purge === '1';
    const accepted = await fleet.deleteCluster(String(req.params.name), purge);
    res.status(202).json({ name: req.params.name, ...accepted, purge });
  });

  v1.get('/operations/:id', viewer, async (req, res) => {
    res.json(await fleet.operation(String(req.params.id)));
  });
  v1.get('/operations/:id/events', viewer, operationEvents(fleet));
  for (const action of ['pause', 'resume', 'cancel'] as const) {
    v1.post(`/operations/:id/${action}`, operator, async (req, res) => {
      res.status(202).json(await fleet.control(String(req.params.id), action));
    });
  }

  v1.use(membershipRoutes(fleet));
  v1.use(rolloutRoutes(fleet));
  v1.use(maintenanceRoutes(fleet));
  v1.use(authRoutes(fleet));
  v1.use(recoveryRoutes(fleet));
  v1.get('/audit', admin, auditHandler(audit));
  assertRolesDeclared(v1);
  // Last in /v1: a failed request's route is recorded while the router still knows it is under /v1.
  v1.use(metrics.routeRecorder);

  app.use('/v1', v1);
  app.use((_req, res) => sendProblem(res, 404, 'Not Found', 'no such route'));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const p = toProblem(err);
    if (p.status >= 500)
      logger.error({ err, method: req.method, path: req.path.startsWith('/codec/') ? '/codec/…' : req.path }, 'request failed');
    sendProblem(res, p.status, p.title, p.detail, p.errors);
  });
  return app;
}
