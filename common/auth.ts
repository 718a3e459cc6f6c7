// etcd's own users and roles (RBAC) as the service manages them: the schemas of
// the spec's `auth` block and of the auth operations' params, what each change
// does to the recorded auth state, and the plan from one auth block to another.
// Pure and deterministic: the API, the workflows and the activities import it.
// Passwords are never part of the recorded state: only whether one was set.
import { z } from 'zod';
import { whenever } from './salvage';

/** The etcd user the service's own admin client certificate (CN etcdfleet-admin) maps to. */
export const SERVICE_USER = 'etcdfleet-admin';
/** etcd's built-in superuser role, and the user etcd requires before auth can be enabled. */
export const ROOT = 'root';
export const MAX_AUTH_NAME = 128;

// etcd accepts almost any string; refused: empty, '/', control characters, over 128.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
export const AuthName = z
  .string({ error: 'required: a name' })
  .min(1, 'must not be empty')
  .max(MAX_AUTH_NAME, `at most ${MAX_AUTH_NAME} characters`)
  .refine((s) => !s.includes('/'), 'must not contain "/"')
  .refine((s) => !CONTROL.test(s), 'must not contain control characters');

export const Permission = z
  .strictObject({
    /** Every key starting with this (e.g. `/app/`). */
    prefix: z.string().min(1, 'must not be empty').max(4096).optional(),
    /** Exactly this key. */
    key: z.string().min(1, 'must not be empty').max(4096).optional(),
    access: z.enum(['read', 'write', 'readwrite'], { error: 'read, write or readwrite' }),
  })
  .superRefine(
    ...whenever<{ prefix?: string; key?: string }>((p, blamed) =>
      p && !blamed(['prefix']) && !blamed(['key']) && (p.prefix === undefined) === (p.key === undefined)
        ? [{ path: [], message: 'give exactly one of prefix or key' }]
        : [],
    ),
  );
export type Permission = z.output<typeof Permission>;

const Permissions = z.array(Permission).max(256, 'at most 256 permissions').default([]);
const RoleNames = z.array(AuthName).max(64, 'at most 64 roles').default([]);
const Password = z.string({ error: 'a string' }).min(1, 'must not be empty').max(1024, 'at most 1024 characters');

export const RoleSpec = z.strictObject({ name: AuthName, permissions: Permissions });
export type RoleSpec = z.output<typeof RoleSpec>;

/** A user as a request or the spec gives it: `password` travels only in (encrypted) operation params. */
export const UserSpec = z.strictObject({ name: AuthName, password: Password.optional(), roles: RoleNames });
export type UserSpec = z.output<typeof UserSpec>;

/** A user as the service records it (no password, only whether one was set). */
export interface UserRecord {
  name: string;
  roles: string[];
  password: boolean;
}

export interface AuthState {
  enabled: boolean;
  roles: RoleSpec[];
  users: UserRecord[];
}

type At = (string | number)[];
const duplicates = (names: (string | undefined)[], at: 'roles' | 'users', what: string): { path: At; message: string }[] => {
  const seen = new Map<string, number>();
  const issues: { path: At; message: string }[] = [];
  names.forEach((n, i) => {
    if (n === undefined) return;
    if (seen.has(n)) issues.push({ path: [at, i, 'name'], message: `duplicate ${what} "${n}" (also ${at}[${seen.get(n)}])` });
    else seen.set(n, i);
  });
  return issues;
};

/** The names the service manages itself: a request may not declare, change or delete them. */
export function reservedNameIssue(kind: 'role' | 'user', name: string): string | undefined {
  if (kind === 'role' && name === ROOT) return "the root role is etcd's own: grant it to users, it cannot be changed or deleted";
  if (kind === 'user' && (name === ROOT || name === SERVICE_USER))
    return `user ${name} is managed by the service (it is what enabling auth creates)`;
  return undefined;
}

/** The spec's desired auth state. Users' roles must be declared roles (or root). */
export const AuthSpec = z
  .strictObject({
    enabled: z.boolean().default(false),
    roles: z.array(RoleSpec).max(256).default([]),
    users: z.array(UserSpec).max(1024).default([]),
  })
  // Run on what parsed (common/salvage.ts): a role or user whose own fields failed still counts where its name is known.
  .superRefine(...whenever<LooseAuth>(authRuleIssues));
export type AuthSpec = z.output<typeof AuthSpec>;

interface LooseAuth {
  roles?: ({ name?: string } | undefined)[];
  users?: ({ name?: string; roles?: (string | undefined)[] } | undefined)[];
}

function authRuleIssues(a: LooseAuth | undefined): { path: At; message: string }[] {
  if (!a) return [];
  const out: { path: At; message: string }[] = [];
  const roles = (a.roles ?? []).map((r) => r?.name);
  const users = a.users ?? [];
  out.push(
    ...duplicates(roles, 'roles', 'role'),
    ...duplicates(
      users.map((u) => u?.name),
      'users',
      'user',
    ),
  );
  roles.forEach((name, i) => {
    const why = name === undefined ? undefined : reservedNameIssue('role', name);
    if (why) out.push({ path: ['roles', i, 'name'], message: why });
  });
  // A role whose name failed its schema may be the one a user names: only a list of known names can refuse a user's role.
  const rolesKnown = a.roles !== undefined && roles.every((n) => n !== undefined);
  const declared = new Set([ROOT, ...roles.filter((n) => n !== undefined)]);
  users.forEach((u, i) => {
    const why = u?.name === undefined ? undefined : reservedNameIssue('user', u.name);
    if (why) out.push({ path: ['users', i, 'name'], message: why });
    u?.roles?.forEach((r, j) => {
      if (rolesKnown && r !== undefined && !declared.has(r))
        out.push({ path: ['users', i, 'roles', j], message: `role "${r}" is not declared in auth.roles` });
    });
  });
  return out;
}
/** What an auth operation changes; the operation kind names it. */
export type AuthChange =
  | { kind: 'put-role'; role: RoleSpec }
  | { kind: 'delete-role'; name: string }
  | { kind: 'put-user'; user: UserSpec }
  | { kind: 'delete-user'; name: string }
  | { kind: 'set-auth'; enabled: boolean };

export const EMPTY_AUTH: AuthState = { enabled: false, roles: [], users: [] };

/** The recorded auth state after a change succeeded (passwords dropped). */
export function applyAuthChange(state: AuthState | undefined, change: AuthChange): AuthState {
  const s = state ?? EMPTY_AUTH;
  switch (change.kind) {
    case 'put-role':
      return { ...s, roles: upsert(s.roles, { name: change.role.name, permissions: change.role.permissions }) };
    case 'delete-role':
      return {
        ...s,
        roles: s.roles.filter((r) => r.name !== change.name),
        // etcd revokes a deleted role from every user.
        users: s.users.map((u) => ({ ...u, roles: u.roles.filter((r) => r !== change.name) })),
      };
    case 'put-user': {
      const before = s.users.find((u) => u.name === change.user.name);
      // Without a password an existing password stays (etcd cannot drop one; delete the user instead).
      const password = change.user.password !== undefined || (before?.password ?? false);
      return { ...s, users: upsert(s.users, { name: change.user.name, roles: [...change.user.roles], password }) };
    }
    case 'delete-user':
      return { ...s, users: s.users.filter((u) => u.name !== change.name) };
    case 'set-auth':
      return { ...s, enabled: change.enabled };
  }
}

function upsert<T extends { name: string }>(list: T[], item: T): T[] {
  const i = list.findIndex((x) => x.name === item.name);
  return i < 0 ? [...list, item] : list.map((x, j) => (j === i ? item : x));
}

export interface AuthStep {
  kind: AuthChange['kind'];
  params: Record<string, unknown>;
  reason: string;
}

const json = (v: unknown) => JSON.stringify(v);
const samePerms = (a: Permission[], b: Permission[]) => json(a.map(permKey).sort()) === json(b.map(permKey).sort());
const permKey = (p: Permission) => `${p.prefix !== undefined ? 'p' : 'k'}:${p.access}:${p.prefix ?? p.key}`;

/**
 * The operations from the recorded auth state to a desired one: auth off
 * first (when it goes off), roles put, users put, users deleted, roles deleted,
 * auth on last (when it goes on; users then exist to log in). A user given with
 * a password is always put (the recorded state cannot tell whether it changed;
 * putting the same password again leaves etcd as it was).
 */
export function planAuth(current: AuthState | undefined, desired: AuthSpec): AuthStep[] {
  const cur = current ?? EMPTY_AUTH;
  const steps: AuthStep[] = [];
  if (cur.enabled && !desired.enabled) steps.push({ kind: 'set-auth', params: { enabled: false }, reason: 'auth.enabled: true → false' });
  for (const r of desired.roles) {
    const now = cur.roles.find((x) => x.name === r.name);
    if (!now) steps.push({ kind: 'put-role', params: { ...r }, reason: `role ${r.name} is new` });
    else if (!samePerms(now.permissions, r.permissions))
      steps.push({ kind: 'put-role', params: { ...r }, reason: `role ${r.name}: permissions changed` });
  }
  for (const u of desired.users) {
    const now = cur.users.find((x) => x.name === u.name);
    const why = !now
      ? `user ${u.name} is new`
      : json([...now.roles].sort()) !== json([...u.roles].sort())
        ? `user ${u.name}: roles changed`
        : u.password !== undefined
          ? `user ${u.name}: password given`
          : undefined;
    if (why) steps.push({ kind: 'put-user', params: { ...u }, reason: why });
  }
  for (const u of cur.users)
    if (!desired.users.some((x) => x.name === u.name))
      steps.push({ kind: 'delete-user', params: { name: u.name }, reason: `user ${u.name} is not in auth.users` });
  for (const r of cur.roles)
    if (!desired.roles.some((x) => x.name === r.name))
      steps.push({ kind: 'delete-role', params: { name: r.name }, reason: `role ${r.name} is not in auth.roles` });
  if (!cur.enabled && desired.enabled) steps.push({ kind: 'set-auth', params: { enabled: true }, reason: 'auth.enabled: false → true' });
  return steps;
}

/** Operation params as the API shows them: a password is `"(set)"`, never its value. */
export function redactParams<T extends Record<string, unknown> | undefined>(params: T): T {
  if (!params || !('password' in params) || params.password === undefined) return params;
  return { ...params, password: '(set)' };
}
