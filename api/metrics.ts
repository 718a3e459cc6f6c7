// Prometheus metrics for the API process.
import type { NextFunction, Request, Response } from 'express';
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'etcdfleet_' });

const requests = new client.Histogram({
  name: 'etcdfleet_http_request_duration_seconds',
  help: 'API request duration by route and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30],
  registers: [registry],
});

export function httpMetrics(req: Request, res: Response, next: NextFunction): void {
  const end = requests.startTimer();
  res.on('finish', () => {
    const route = (req.baseUrl ?? '') + (req.route?.path ?? (res.statusCode === 404 ? '<unmatched>' : req.path));
    end({ method: req.method, route, status: String(res.statusCode) });
  });
  next();
}

export async function metricsHandler(_req: Request, res: Response): Promise<void> {
  res.type(registry.contentType).send(await registry.metrics());
}
