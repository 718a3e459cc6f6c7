// The REST API: JSON or YAML in, problem+json errors with field paths out.
import crypto from 'node:crypto';
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
import { openApiDocument } from './openapi';
import { createMetrics } from './metrics';
import { operationEvents } from './events';
import { membershipRoutes } from './routes/membership';
import { rolloutRoutes } from './routes/rollout';
import { maintenanceRoutes } from './routes/maintenance';

export interface AppOptions {
  client: Client;
  taskQueue: string;
  token: string;
  codec: PayloadCodec;
  /** Browser origins (the Temporal UI) allowed to call the codec endpoint without a token. */
  codecOrigins: string[];
  /** The operator's allowlists (Config.policy): a spec reaching anything else is a 403. */
  policy: SpecPolicy;
}

export function createApp(opts: AppOptions): express.Express {
  const fleet = new FleetService(opts.client, opts.taskQueue, opts.policy);
  const metrics = createMetrics(fleet);
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
      sendProblem(res, 503, 'Service Unavailable', `Temporal is not reachable: ${(err as Error).message}`);
    }
  });
  app.get('/metrics', metrics.handler);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  app.use('/codec', codecRouter(opts.codec, opts.token, opts.codecOrigins));

  const v1 = express.Router();
  v1.use(bearerAuth(opts.token));
  v1.use(express.text({ type: () => true, limit: MAX_BODY_BYTES }));

  v1.post('/clusters', async (req, res) => {
    const { spec, warnings } = parseAllowedClusterSpec(parseBody(bodyText(req), req.get('content-type')), opts.policy);
    const accepted = await fleet.createCluster(spec);
    res.status(202).location(`/v1/clusters/${spec.name}`).json({ name: spec.name, ...accepted, warnings: [...warnings, ...accepted.warnings] });
  });

  v1.post('/imports/taskserv', async (req, res) => {
    const provider = (req.query.provider as string | undefined) ?? 'local';
    if (provider !== 'local') {
      throw new HttpProblem(400, 'Invalid Request', 'provider: only "local" is available', [{ path: 'provider', message: 'only "local" is available' }]);
    }
    const imported = importTaskserv(parseBody(bodyText(req), req.get('content-type')), { provider });
    const { spec, warnings } = parseAllowedClusterSpec(imported.spec, opts.policy);
    const accepted = await fleet.createCluster(spec);
    res
      .status(202)
      .location(`/v1/clusters/${spec.name}`)
      .json({ name: spec.name, ...accepted, warnings: [...imported.warnings, ...warnings, ...accepted.warnings], unsupported: imported.unsupported, spec });
  });

  v1.get('/clusters', async (_req, res) => {
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

  v1.get('/clusters/:name', async (req, res) => {
    const view = await fleet.view(String(req.params.name));
    const progress = view.current ? await fleet.progress(view.current) : undefined;
    res.json(renderCluster(view, progress?.steps));
  });

  v1.get('/clusters/:name/credentials', async (req, res) => {
    res.json(await fleet.credentials(String(req.params.name)));
  });

  v1.delete('/clusters/:name', async (req, res) => {
    const purge = req.query.purge === 'true' || req.query.purge === '1';
    const accepted = await fleet.deleteCluster(String(req.params.name), purge);
    res.status(202).json({ name: req.params.name, ...accepted, purge });
  });

  v1.get('/operations/:id', async (req, res) => {
    res.json(await fleet.operation(String(req.params.id)));
  });
  v1.get('/operations/:id/events', operationEvents(fleet));
  for (const action of ['pause', 'resume', 'cancel'] as const) {
    v1.post(`/operations/:id/${action}`, async (req, res) => {
      res.status(202).json(await fleet.control(String(req.params.id), action));
    });
  }

  v1.use(membershipRoutes(fleet));
  v1.use(rolloutRoutes(fleet));
  v1.use(maintenanceRoutes(fleet));

  app.use('/v1', v1);
  app.use((_req, res) => sendProblem(res, 404, 'Not Found', 'no such route'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const p = toProblem(err);
    sendProblem(res, p.status, p.title, p.detail, p.errors);
  });
  return app;
}


export function bearerAuth(token: string) {
  const expected = Buffer.from(token);
  return (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    const given = Buffer.from(m?.[1] ?? '');
    if (given.length === expected.length && crypto.timingSafeEqual(given, expected)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="etcdfleet"');
    sendProblem(res, 401, 'Unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
  };
}
