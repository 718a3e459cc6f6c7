// Issue 8 item 6: every duration and timeout a request can set is bounded, in
// the schema (400 with the field path) and where workflows read it.
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { MAX_INTERVAL_MS, durationMs, parseDuration } from '../../common/duration';
import { parseClusterSpec, ValidationError } from '../../common/parse';
import { validateSetting } from '../../infra/schedules';
import { durationToNanos } from '../../activities/etcd/config';
import { membershipRoutes } from '../../api/routes/membership';
import { rolloutRoutes } from '../../api/routes/rollout';
import { sendProblem, toProblem } from '../../api/problems';

const HUGE = '9'.repeat(40) + 's';
const base = { name: 'c', members: [{ name: 'm1', address: '127.0.0.2' }] };

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseClusterSpec(input);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  return [];
}

describe('parseDuration', () => {
  it('accepts durations within the bounds', () => {
    expect(parseDuration('30s')).toEqual({ ms: 30_000 });
    expect(parseDuration('365d')).toEqual({ ms: MAX_INTERVAL_MS });
    expect(durationMs('6h')).toBe(6 * 3600e3);
  });

  it('refuses what would become an infinite or invalid timer', () => {
    for (const bad of [HUGE, '366d', '0s', '1e306s', '-5s', '5', '5ms', 5, undefined]) {
      expect(durationMs(bad)).toBeUndefined();
    }
    expect(parseDuration('366d')).toEqual({ error: 'must be between 1s and 365d' });
  });
});

describe('the spec bounds every duration with a field path', () => {
  it.each([
    ['maintenance.healthCheckInterval', { maintenance: { healthCheckInterval: HUGE } }],
    ['maintenance.compactionInterval', { maintenance: { compactionInterval: '9999d' } }],
    ['maintenance.defragCheckInterval', { maintenance: { defragCheckInterval: '0s' } }],
    ['backup.interval', { backup: { interval: HUGE } }],
    ['backup.drillInterval', { backup: { drillInterval: '400d' } }],
    ['backup.retention', { backup: { retention: '99999d' } }],
    ['tunables.grpcKeepaliveInterval', { tunables: { grpcKeepaliveInterval: '9999999999h' } }],
    ['tunables.grpcKeepaliveTimeout', { tunables: { grpcKeepaliveTimeout: '25h' } }],
  ])('%s', (path, extra) => {
    const issues = issuesOf({ ...base, ...extra });
    expect(issues.map((i) => i.path)).toEqual([path]);
  });

  it('still accepts the usual values', () => {
    expect(
      issuesOf({
        ...base,
        maintenance: { healthCheckInterval: '30s' },
        backup: { interval: '6h', retention: '3650d' },
        tunables: { grpcKeepaliveTimeout: '500ms' },
      }),
    ).toEqual([]);
  });

  it('reports all bad durations in one answer', () => {
    const issues = issuesOf({ ...base, maintenance: { healthCheckInterval: HUGE, compactionInterval: HUGE } });
    expect(issues.map((i) => i.path).sort()).toEqual(['maintenance.compactionInterval', 'maintenance.healthCheckInterval']);
  });

  it('integers stay safe integers', () => {
    expect(issuesOf({ ...base, tunables: { snapshotCount: 1e306 } }).map((i) => i.path)).toEqual(['tunables.snapshotCount']);
  });
});

describe('other readers use the same bounded parser', () => {
  it('schedule settings', () => {
    expect(validateSetting('backup', { every: '1h' })).toBeUndefined();
    expect(validateSetting('backup', { every: HUGE })).toMatch(/^backup\.every: /);
    expect(validateSetting('backup', { every: '400d' })).toMatch(/between 1s and 365d/);
  });

  it('etcd time.Duration fields', () => {
    expect(durationToNanos('2h')).toBe(2 * 3600e9);
    expect(() => durationToNanos('99999999h')).toThrow(/invalid duration/);
  });
});

describe('operation timeouts at the API', () => {
  let url = '';
  let server: import('node:http').Server;
  const submitted: unknown[] = [];
  beforeAll(async () => {
    const fleet = {
      submit: async (...args: unknown[]) => {
        submitted.push(args);
        return { operationId: 'c.1-x', workflowId: 'w', created: true };
      },
    };
    const app = express();
    app.use(express.text({ type: () => true }));
    app.use((_req, res, next) => {
      res.locals.principal = { name: 'admin', role: 'admin' };
      next();
    });
    app.use(membershipRoutes(fleet as never));
    app.use(rolloutRoutes(fleet as never));
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const p = toProblem(err);
      sendProblem(res, p.status, p.title, p.detail, p.errors);
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as any };
  };

  it.each([
    ['/clusters/c/members', { name: 'm2', address: '127.0.0.3', promoteTimeoutSeconds: 1e306 }, 'promoteTimeoutSeconds'],
    ['/clusters/c/members', { name: 'm2', address: '127.0.0.3', promoteTimeoutSeconds: 86_401 }, 'promoteTimeoutSeconds'],
    ['/clusters/c/members/m1/replace', { promoteTimeoutSeconds: 1e306 }, 'promoteTimeoutSeconds'],
    ['/clusters/c/members/m1/replace', { promoteTimeoutSeconds: 'soon' }, 'promoteTimeoutSeconds'],
    ['/clusters/c/certificates/rotate', { ca: true, phaseGraceSeconds: 1e306 }, 'phaseGraceSeconds'],
  ])('%s %j → 400 at %s, nothing queued', async (path, body, field) => {
    submitted.length = 0;
    const r = await post(path, body);
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: any) => e.path)).toEqual([field]);
    expect(submitted).toEqual([]);
  });

  it('reports a bad member and a bad timeout together', async () => {
    const r = await post('/clusters/c/members', { name: 'm2', address: 'not an address', promoteTimeoutSeconds: -1 });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: any) => e.path).sort()).toEqual(['address', 'promoteTimeoutSeconds']);
  });

  it('accepts a sane timeout', async () => {
    submitted.length = 0;
    expect((await post('/clusters/c/members/m1/replace', { promoteTimeoutSeconds: 120 })).status).toBe(202);
    expect(submitted).toHaveLength(1);
  });
});
