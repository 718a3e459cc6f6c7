// Prometheus metrics of the API process: HTTP requests, and the health every
// cluster entity last observed (members, leader, raft lag, db size, alarms,
// certificate expiry), read from Temporal like everything else. Reading every
// cluster is one query per cluster workflow, so scrapes share one reading for
// `cacheMs`: a scrape storm (or an unauthenticated caller) costs Temporal at most
// one round per interval.
import type { NextFunction, Request, Response } from 'express';
import client from 'prom-client';
import type { FleetService } from './service';

export const DEFAULT_METRICS_CACHE_MS = 15_000;

/** The route as a label: the codec capability is a secret and never becomes one. */
export function routeLabel(route: string): string {
  return route.replace(/^\/codec\/(?!(?:decode|encode)$)[^/]+(?=\/)/, '/codec/{capability}');
}

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

  const gauge = (name: string, help: string, labelNames: string[]) => new client.Gauge({ name, help, labelNames, registers: [registry] });
  const phase = gauge('etcdfleet_cluster_phase', 'Cluster phase (1 for the current phase)', ['cluster', 'phase']);
  const healthy = gauge('etcdfleet_cluster_healthy', 'All voting members healthy, a leader, no alarms', ['cluster']);
  const alarms = gauge('etcdfleet_cluster_alarms', 'Active etcd alarms', ['cluster']);
  const memberHealthy = gauge('etcdfleet_member_healthy', 'Member answers reads', ['cluster', 'member']);
  const memberLeader = gauge('etcdfleet_member_is_leader', 'Member is the raft leader', ['cluster', 'member']);
  const raftLag = gauge('etcdfleet_member_raft_lag', "Leader's raft index minus the member's", ['cluster', 'member']);
  const dbSize = gauge('etcdfleet_member_db_size_bytes', 'Backend database size', ['cluster', 'member']);
  const dbInUse = gauge('etcdfleet_member_db_size_in_use_bytes', 'Backend database size in use', ['cluster', 'member']);
  const certExpiry = gauge('etcdfleet_certificate_expiry_timestamp_seconds', 'notAfter of each certificate on each member', [
    'cluster',
    'member',
    'certificate',
  ]);
  const clusterGauges = [phase, healthy, alarms, memberHealthy, memberLeader, raftLag, dbSize, dbInUse, certExpiry];

  async function observeClusters(): Promise<void> {
    const views = await fleet.listClusters();
    clusterGauges.forEach((g) => g.reset());
    for (const v of views) {
      phase.set({ cluster: v.name, phase: v.phase }, 1);
      const h = v.health;
      if (!h) continue;
      healthy.set({ cluster: v.name }, h.healthy ? 1 : 0);
      alarms.set({ cluster: v.name }, h.alarms.length);
      for (const m of h.members) {
        const l = { cluster: v.name, member: m.name };
        memberHealthy.set(l, m.healthy ? 1 : 0);
        memberLeader.set(l, m.isLeader ? 1 : 0);
        if (m.raftLag !== undefined) raftLag.set(l, m.raftLag);
        if (m.dbSize !== undefined) dbSize.set(l, m.dbSize);
        if (m.dbSizeInUse !== undefined) dbInUse.set(l, m.dbSizeInUse);
      }
      for (const c of h.certificates ?? []) {
        certExpiry.set({ cluster: v.name, member: c.member, certificate: c.certificate }, Date.parse(c.notAfter) / 1000);
      }
    }
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
    middleware(req: Request, res: Response, next: NextFunction): void {
      const end = requests.startTimer();
      res.on('finish', () => {
        const route = routeLabel((req.baseUrl ?? '') + (req.route?.path ?? (res.statusCode === 404 ? '<unmatched>' : req.path)));
        end({ method: req.method, route, status: String(res.statusCode) });
      });
      next();
    },
    async handler(_req: Request, res: Response): Promise<void> {
      await freshEnough();
      res.type(registry.contentType).send(await registry.metrics());
    },
  };
}
