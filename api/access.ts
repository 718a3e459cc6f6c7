// Service access: named bearer tokens with roles (viewer < operator < admin).
// The admin token (ETCDFLEET_API_TOKEN or <stateDir>/api-token) is always there,
// named `admin`; ETCDFLEET_API_TOKENS_FILE adds more (YAML list of
// {name, token | sha256, role}), re-read when its mtime changes. Every /v1 route
// declares its role with requireRole(); assertRolesDeclared() refuses an app
// with a route that has none.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { NextFunction, Request, Response } from 'express';
import YAML from 'yaml';
import { z } from 'zod';
import { sendProblem } from './problems';
import { logger } from '../infra/logger';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export interface Principal {
  name: string;
  role: Role;
}
interface Entry extends Principal {
  hash: Buffer;
}

/** The name of the service's own admin token (ETCDFLEET_API_TOKEN); a tokens file may not use it. */
const ADMIN_NAME = 'admin';

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest();

const entrySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'letters, digits, . _ @ - (at most 64)'),
    token: z.string().min(16, 'at least 16 characters').optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, '64 hex digits (the SHA-256 of the token)')
      .optional(),
    role: z.enum(ROLES),
  })
  .strict()
  .refine((e) => (e.token === undefined) !== (e.sha256 === undefined), { message: 'exactly one of token or sha256' });

export class TokensFileError extends Error {}

/** Parses a tokens file's text; the error names the entry (index and name) and the field. */
export function parseTokensFile(text: string, file = 'tokens file'): Principal[] {
  return parseEntries(text, file).map(({ name, role }) => ({ name, role }));
}

function parseEntries(text: string, file: string): Entry[] {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new TokensFileError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(doc)) throw new TokensFileError(`${file}: must be a YAML list of {name, token | sha256, role}`);
  const seen = new Set<string>();
  return doc.map((raw, i) => {
    const r = entrySchema.safeParse(raw);
    const label = `${file}: entry ${i + 1}${typeof raw?.name === 'string' ? ` (${raw.name})` : ''}`;
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new TokensFileError(`${label}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
    }
    if (r.data.name === ADMIN_NAME)
      throw new TokensFileError(`${label}: name ${ADMIN_NAME} is reserved for ETCDFLEET_API_TOKEN (the service's own admin token)`);
    if (seen.has(r.data.name)) throw new TokensFileError(`${label}: name ${r.data.name} is used twice`);
    seen.add(r.data.name);
    const hash = r.data.sha256 ? Buffer.from(r.data.sha256, 'hex') : sha256(r.data.token!);
    return { name: r.data.name, role: r.data.role, hash };
  });
}

/** The tokens the API accepts: the admin token plus the file's, the file re-read on change (last good set kept). */
export class TokenStore {
  private entries: Entry[] = [];
  private mtimeMs = -1;

  constructor(
    adminToken: string,
    private readonly file?: string,
  ) {
    this.admin = { name: ADMIN_NAME, role: 'admin', hash: sha256(adminToken) };
    if (file) this.load(true);
  }
  private readonly admin: Entry;

  private load(strict: boolean): void {
    const file = this.file!;
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch (err) {
      if (strict) throw new TokensFileError(`${file}: cannot be read: ${(err as Error).message}`);
      if (this.mtimeMs !== 0) logger.error({ file }, 'tokens file cannot be read; keeping the last good set');
      this.mtimeMs = 0;
      return;
    }
    if (mtimeMs === this.mtimeMs) return;
    this.mtimeMs = mtimeMs;
    try {
      this.entries = parseEntries(fs.readFileSync(file, 'utf8'), file);
      if (!strict) logger.info({ file, tokens: this.entries.length }, 'tokens file reloaded');
    } catch (err) {
      if (strict) throw err;
      logger.error({ err: (err as Error).message }, 'tokens file rejected; keeping the last good set');
    }
  }

  /** The principal of a bearer token, compared in constant time against every known hash. */
  identify(token: string): Principal | undefined {
    if (this.file) this.load(false);
    const given = sha256(token);
    let found: Entry | undefined;
    for (const e of [this.admin, ...this.entries]) if (crypto.timingSafeEqual(given, e.hash) && !found) found = e;
    return found && { name: found.name, role: found.role };
  }
}

export const principalOf = (res: Response): Principal | undefined => res.locals.principal as Principal | undefined;

/** 401 without a known bearer token; otherwise res.locals.principal is set. */
export function authenticate(store: TokenStore) {
  return (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    const principal = m ? store.identify(m[1]) : undefined;
    if (principal) {
      res.locals.principal = principal;
      return next();
    }
    res.set('WWW-Authenticate', 'Bearer realm="etcdfleet"');
    sendProblem(res, 401, 'Unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
  };
}

const ROLE_MARK = Symbol('requiredRole');
type RoleRule = Role | ((req: Request) => Role);

/** The role a route needs (a function: decided from the request, e.g. its body). */
export function requireRole(rule: RoleRule) {
  const mw = (req: Request, res: Response, next: NextFunction) => {
    const needed = typeof rule === 'function' ? rule(req) : rule;
    const have = principalOf(res);
    if (have && ROLES.indexOf(have.role) >= ROLES.indexOf(needed)) return next();
    sendProblem(
      res,
      403,
      'Forbidden',
      `this request needs the ${needed} role; token ${have?.name ?? '?'} has the ${have?.role ?? 'no'} role`,
    );
  };
  return Object.assign(mw, { [ROLE_MARK]: rule });
}

interface Layer {
  handle: { stack?: Layer[]; [ROLE_MARK]?: RoleRule };
  route?: { path: string; methods?: Record<string, boolean>; stack: Layer[] };
}

/** Every route of the router (and of routers mounted in it) without requireRole: `METHOD path`. */
export function routesWithoutRole(router: object): string[] {
  const missing: string[] = [];
  for (const layer of (router as { stack: Layer[] }).stack) {
    if (layer.route) {
      if (!layer.route.stack.some((l) => l.handle[ROLE_MARK] !== undefined))
        missing.push(
          `${Object.keys(layer.route.methods ?? {})
            .join(',')
            .toUpperCase()} ${layer.route.path}`,
        );
    } else if (layer.handle.stack) missing.push(...routesWithoutRole(layer.handle));
  }
  return missing;
}

export function assertRolesDeclared(router: object): void {
  const missing = routesWithoutRole(router);
  if (missing.length) throw new Error(`routes without a required role (use requireRole): ${missing.join('; ')}`);
}
