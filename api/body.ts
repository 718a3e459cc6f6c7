// Request bodies: the v1 router reads every body as text (JSON or YAML).
import type { Request } from 'express';
import { parseBody, ValidationError } from '../common/parse';
import { parseOperationParams, type OperationParams } from '../common/operation-params';
import type { OperationKind } from '../common/operations';

export function bodyText(req: Request): string {
  return typeof req.body === 'string' ? req.body : '';
}

/** The parsed JSON/YAML body, or {} when there is none. */
export function bodyObject(req: Request): Record<string, unknown> {
  const text = bodyText(req);
  if (!text.trim()) return {};
  const v = parseBody(text, req.get('content-type'));
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * A request's operation params, parsed by the kind's schema (common/operation-params.ts):
 * 400 naming each bad field. `fromUrl`: params the URL gives (a member name), which the body may not set.
 */
export function operationParams<K extends OperationKind>(
  kind: K,
  body: Record<string, unknown>,
  fromUrl: Record<string, unknown> = {},
): OperationParams<K> {
  const clash = Object.keys(fromUrl).filter((k) => k in body);
  const r = parseOperationParams(kind, { ...body, ...fromUrl });
  const issues = [...clash.map((path) => ({ path, message: 'unknown field (the URL names it)' })), ...(r.ok ? [] : r.issues)];
  if (issues.length || !r.ok) throw new ValidationError(issues);
  return r.params;
}
