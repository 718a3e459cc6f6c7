// Audit trail of the API: every /v1 request that is not a GET, and every read of
// credentials, as one JSON line in <stateDir>/audit.jsonl (mode 0600): time,
// token name, method, path, status, operation id, request id. Refused calls are
// recorded with their status. Never a body, a password or a token.
// GET /v1/audit reads the file's tail (bounded) with filters.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { NextFunction, Request, Response } from 'express';
import { principalOf } from './access';
import { HttpProblem } from './problems';
import { logger } from '../infra/logger';

export interface AuditEntry {
  time: string;
  token: string | null;
  method: string;
  path: string;
  status: number;
  cluster?: string;
  operationId?: string;
  operations?: string[];
  requestId: string;
}

/** Reads that hand out secrets: audited although they are GETs. */
const CREDENTIAL_READS = [/^\/clusters\/[^/]+\/credentials$/, /^\/operations\/[^/]+\/ca-rotation$/];
/** How much of the file's end GET /v1/audit reads at most. */
export const AUDIT_SCAN_BYTES = 8 * 1024 * 1024;
export const AUDIT_MAX_LIMIT = 1000;

export class AuditLog {
  constructor(readonly file?: string) {}

  append(entry: AuditEntry): void {
    if (!this.file) return;
    try {
      fs.appendFileSync(this.file, JSON.stringify(entry) + '\n', { mode: 0o600 });
    } catch (err) {
      logger.error({ err: (err as Error).message, file: this.file }, 'audit entry could not be written');
    }
  }

  /** Entries matching the filters, oldest first, at most `limit` (the newest ones). */
  query(f: { cluster?: string; since?: Date; until?: Date; limit: number }): AuditEntry[] {
    if (!this.file) return [];
    let text: string;
    try {
      const fd = fs.openSync(this.file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const start = Math.max(0, size - AUDIT_SCAN_BYTES);
        const buf = Buffer.alloc(size - start);
        fs.readSync(fd, buf, 0, buf.length, start);
        text = buf.toString('utf8');
        if (start > 0) text = text.slice(text.indexOf('\n') + 1);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: AuditEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      let e: AuditEntry;
      try {
        e = JSON.parse(line) as AuditEntry;
      } catch {
        continue;
      }
      const t = Date.parse(e.time);
      if (f.cluster !== undefined && e.cluster !== f.cluster) continue;
      if (f.since && t < f.since.getTime()) continue;
      if (f.until && t > f.until.getTime()) continue;
      out.push(e);
    }
    return out.slice(-f.limit);
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Gives each request an id (X-Request-Id, taken from the caller when it is sane) and audits it when it finishes. */
export function auditMiddleware(log: AuditLog) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    res.set('X-Request-Id', requestId);
    const path = req.path;
    const audited = req.method !== 'GET' || CREDENTIAL_READS.some((re) => re.test(path));
    if (!audited) return next();
    let body: Record<string, unknown> | undefined;
    const json = res.json.bind(res);
    res.json = (b: unknown) => {
      if (b && typeof b === 'object') body = b as Record<string, unknown>;
      return json(b);
    };
    res.on('finish', () => {
      const cluster = /^\/clusters\/([^/]+)/.exec(path)?.[1] ?? (typeof body?.name === 'string' ? body.name : undefined);
      const ops = Array.isArray(body?.operations) ? (body.operations as unknown[]).filter((o) => typeof o === 'string') : undefined;
      log.append({
        time: new Date().toISOString(),
        token: principalOf(res)?.name ?? null,
        method: req.method,
        path: `/v1${path}`,
        status: res.statusCode,
        ...(cluster ? { cluster: decodeURIComponent(cluster) } : {}),
        ...(typeof body?.operationId === 'string' ? { operationId: body.operationId } : {}),
        ...(ops?.length ? { operations: ops as string[] } : {}),
        requestId,
      });
    });
    next();
  };
}

function isoParam(v: unknown, name: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime()))
    throw new HttpProblem(400, 'Invalid Request', `${name}: an ISO 8601 time`, [{ path: name, message: 'an ISO 8601 time' }]);
  return d;
}

/** GET /v1/audit?cluster=&since=&until=&limit= (limit 1..1000, default 100; newest last). */
export function auditHandler(log: AuditLog) {
  return (req: Request, res: Response) => {
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_MAX_LIMIT)
      throw new HttpProblem(400, 'Invalid Request', `limit: an integer from 1 to ${AUDIT_MAX_LIMIT}`, [
        { path: 'limit', message: `an integer from 1 to ${AUDIT_MAX_LIMIT}` },
      ]);
    const cluster = req.query.cluster === undefined ? undefined : String(req.query.cluster);
    const entries = log.query({ cluster, since: isoParam(req.query.since, 'since'), until: isoParam(req.query.until, 'until'), limit });
    res.json({ entries });
  };
}
