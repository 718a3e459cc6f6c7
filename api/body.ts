// Request bodies: the v1 router reads every body as text (JSON or YAML).
import type { Request } from 'express';
import { parseBody } from '../common/parse';

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
