// What each step of a PATCH plan changes, field by field, old → new: a PATCH
// built from an old copy of the spec shows that it reverts what was changed
// since (e.g. through /config) instead of doing it silently. Pure; used by
// planSpecChange (common/plan.ts).
import { canonicalJson } from './fingerprint';
import type { AuthState } from './auth';
import type { OperationKind } from './operations';
import type { ClusterSpec, MemberSpec } from './spec';

/** One field a step changes; `null` = absent before (added) or after (removed). */
export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export const TLS_LEAF_FIELDS = ['leafKey', 'digest', 'certDays', 'subject', 'extraSans'] as const;
export const TLS_CA_FIELDS = ['caKey', 'caDays'] as const;

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Leaf fields that differ between two values (objects are walked; arrays and scalars compared whole). */
export function fieldChanges(from: unknown, to: unknown, field: string): FieldChange[] {
  if (same(from, to)) return [];
  if (isObject(from) && isObject(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    return keys.flatMap((k) => fieldChanges(from[k], to[k], `${field}.${k}`));
  }
  return [{ field, from: from ?? null, to: to ?? null }];
}

const show = (v: unknown) => (v === null || v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));

/** `tunables.snapshotCount: 100000 → 10000` */
export function formatChange(c: FieldChange): string {
  return `${c.field}: ${show(c.from)} → ${show(c.to)}`;
}

const pick = (o: object, keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown>)[k]]));

function memberChanges(current: ClusterSpec, kind: OperationKind, params: Record<string, unknown>): FieldChange[] {
  const name = String(params.member ?? params.name);
  const now: MemberSpec | undefined = current.members.find((m) => m.name === name);
  if (kind === 'add-member') return [{ field: `members[${name}]`, from: null, to: params }];
  if (kind === 'remove-member') return [{ field: `members[${name}]`, from: now ?? null, to: null }];
  return [{ field: `members[${name}].address`, from: now?.address ?? null, to: params.address ?? null }];
}

function authChanges(auth: AuthState | undefined, kind: OperationKind, params: Record<string, unknown>): FieldChange[] {
  const name = String(params.name);
  const role = auth?.roles.find((r) => r.name === name);
  const user = auth?.users.find((u) => u.name === name);
  switch (kind) {
    case 'set-auth':
      return [{ field: 'auth.enabled', from: auth?.enabled ?? false, to: params.enabled }];
    case 'put-role':
      return fieldChanges(role?.permissions ?? null, params.permissions, `auth.roles[${name}].permissions`);
    case 'delete-role':
      return [{ field: `auth.roles[${name}]`, from: role ?? null, to: null }];
    case 'put-user': {
      const roles = fieldChanges(
        user ? [...user.roles].sort() : null,
        [...((params.roles as string[]) ?? [])].sort(),
        `auth.users[${name}].roles`,
      );
      // Never the password itself.
      return params.password !== undefined ? [...roles, { field: `auth.users[${name}].password`, from: null, to: '(set)' }] : roles;
    }
    case 'delete-user':
      return [{ field: `auth.users[${name}]`, from: user ? { name, roles: user.roles } : null, to: null }];
    default:
      return [];
  }
}

/** The fields one planned step changes, old → new. */
export function stepChanges(
  step: { kind: OperationKind; params: Record<string, unknown> },
  current: ClusterSpec,
  desired: ClusterSpec,
  auth?: AuthState,
): FieldChange[] {
  switch (step.kind) {
    case 'upgrade':
      return fieldChanges(current.version, desired.version, 'version');
    case 'config-change':
      return [
        ...fieldChanges(current.tunables, desired.tunables, 'tunables'),
        ...fieldChanges(current.logging, desired.logging, 'logging'),
      ];
    case 'rotate-certificates':
      return fieldChanges(pick(current.tls, TLS_LEAF_FIELDS), pick(desired.tls, TLS_LEAF_FIELDS), 'tls');
    case 'rotate-ca':
      return fieldChanges(pick(current.tls, TLS_CA_FIELDS), pick(desired.tls, TLS_CA_FIELDS), 'tls');
    case 'add-member':
    case 'remove-member':
    case 'replace-member':
      return memberChanges(current, step.kind, step.params);
    default:
      return authChanges(auth, step.kind, step.params);
  }
}
