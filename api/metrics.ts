// Prometheus metrics of the API process: HTTP requests, and the fleet as the
// cluster entities last observed it (api/fleet-metrics.ts: health, operations,
// backups), read from Temporal like everything else. Reading every cluster is
// one query per cluster workflow, so scrapes share one reading for `cacheMs`: a
// scrape storm (or an unauthenticated caller) costs Temporal at most one round
// per interval.
import type { NextFunction, Request, Response } from 'express';
import client from 'prom-client';
import type { FleetService } from './service';
import { fleetMetrics } from './fleet-metrics';

export const DEFAULT_METRICS_CACHE_MS = 15_000;

/** The route as a label: the codec capability is a secret and never becomes one. */
export function routeLabel(route: string): string {
  return route.replace(/^\/codec\/(?!(?:decode|encode)$)[^/]+(?=\/)/, '/codec/{capability}');
}

/**
 * The request's route template as the router sees it now: `/v1/clusters/:name`.
 * Express resets `req.baseUrl` when an error leaves a router, so a failed
 * request's route must be taken inside that router (routeRecorder), before the
 * app's error handler answers; `finish` comes later still. A request refused
 * before any route matched (401, 413, 415) is `<mount>/*`: never its raw path,
 * which would put cluster names and ids into label values.
 */
function currentRoute(req: Request): string {
  const base = req.baseUrl ?? '';
  return req.route?.path !== undefined ? base + String(req.route.path) : `${base}/*`;
}
const RECORDED = Symbol('etcdfleet.route');
type Recorded = Response & { [RECORDED]?: string };

export function createMetrics(fleet: FleetService, opts: { cacheMs?: number } = {}) {
  const cacheMs = opts.cacheMs ?? DEFAULT_METRICS_CACHE_MS;
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'etcdfleet_' });

  const requests = new client.Histogram({
    name: 'etcdfleet_http_request_duration_seconds',
    help: 'API request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const observe = fleetMetrics(registry);

  async function observeClusters(): Promise<void> {
    observe(await fleet.listClusters());
  }

  // One reading in flight at a time. The first scrape waits for it; later ones
  // are answered from the last reading while a stale one is refreshed behind them.
  let readAt = -Infinity;
  let reading: Promise<void> | undefined;
  const refresh = (): Promise<void> =>
    (reading ??= observeClusters()
      // Cluster gauges are best effort: Temporal being away must not break the scrape.
      .catch(() => undefined)
      .finally(() => {
        readAt = Date.now();
        reading = undefined;
      }));
  async function freshEnough(): Promise<void> {
    if (Date.now() - readAt < cacheMs) return;
    const r = refresh();
    if (readAt === -Infinity) await r;
  }

  return {
    registry,
    middleware(req: Request, res: Response, next: NextFunction): void {
      const end = requests.startTimer();
      res.on('finish', () => {
        const recorded = (res as Recorded)[RECORDED];
        const route = recorded ?? (res.statusCode === 404 && !req.route ? '<unmatched>' : currentRoute(req));
        end({ method: req.method, route: routeLabel(route), status: String(res.statusCode) });
      });
      next();
    },
    /** Error middleware for the end of a mounted router (/v1): records the failed request's route there. */
    routeRecorder(err: unknown, req: Request, res: Response, next: NextFunction): void {
      (res as Recorded)[RECORDED] ??= currentRoute(req);
      next(err);
    },
    async handler(_req: Request, res: Response): Promise<void> {
      await freshEnough();
      res.type(registry.contentType).send(await registry.metrics());
    },
  };
}
