// Request bodies: the v1 router reads every body as text (JSON or YAML).
import type { Request } from 'express';
import { isValidationError, joinPath, parseBody, ValidationError } from '../common/parse';
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

/** `check`, with the paths of its ValidationError put under `at` (a nested spec's `members[0].address` → `spec.members[0].address`). */
export function under<T>(at: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (!isValidationError(e)) throw e;
    throw new ValidationError(
      e.issues.map((i) => ({ ...i, path: joinPath(at, i.path) })),
      e.status,
    );
  }
}

/**
 * Runs every check and answers once: when any of them found bad input (400),
 * one 400 lists the issues of all of them; else the first other refusal (a
 * policy 403) is thrown; else their results, in order.
 */
export function allChecks<T extends unknown[]>(...checks: { [K in keyof T]: () => T[K] }): T {
  const results: unknown[] = [];
  const invalid: ValidationError[] = [];
  let other: unknown;
  for (const check of checks) {
    try {
      results.push(check());
    } catch (e) {
      if (isValidationError(e) && e.status === 400) invalid.push(e);
      else other ??= e;
    }
  }
  if (invalid.length) {
    const policy = isValidationError(other) ? other.issues : [];
    throw new ValidationError([...invalid.flatMap((e) => e.issues), ...policy], 400);
  }
  if (other !== undefined) throw other;
  return results as T;
}

/** The cluster a body names must be the URL's: a 400 at `at` (`name`, `spec.name`) when a string there differs. */
export function nameMatchesUrl(body: unknown, target: string, at: string, why = ''): void {
  const given = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).name : undefined;
  if (typeof given === 'string' && given !== target) {
    throw new ValidationError([{ path: at, message: `must be ${target} (the cluster in the URL)${why}` }]);
  }
}
