// etcd users, roles and the auth switch, through the service's admin client
// certificate (CN etcdfleet-admin; with auth on, etcd maps it to the user of
// that name, which enabling makes root). Every call checks first and changes
// only what differs, so a retry is safe: putting the same role or user twice
// leaves the same state, deleting a missing one succeeds.
// A password is handed to etcd and nowhere else: never logged, never in an error.
import { ApplicationFailure } from '@temporalio/common';
import { EtcdPermissionDeniedError, EtcdRoleNotFoundError, EtcdUserNotFoundError, type Etcd3, type IPermission } from 'etcd3';
import type { ClusterSpec } from '../../common/spec';
import { ROOT, SERVICE_USER, type Permission, type RoleSpec, type UserSpec } from '../../common/auth';
import type { HostProvider } from '../hosts';
import { withEtcdClient } from './client';

const PERM_TYPE = { read: 'Read', write: 'Write', readwrite: 'Readwrite' } as const;

/** etcd's GetPrefixRangeEnd: the prefix with its last byte below 0xff incremented (all 0xff: every key, `\0`). */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i]++;
      return end;
    }
  }
  return Buffer.from([0]);
}

/** A permission as etcd stores it: key and range end (empty: the key alone). */
export function toEtcdPermission(p: Permission): IPermission {
  const key = Buffer.from(p.prefix ?? p.key ?? '');
  return { permType: PERM_TYPE[p.access], key, range_end: p.prefix !== undefined ? prefixEnd(key) : Buffer.alloc(0) };
}

const permId = (p: Pick<IPermission, 'permType' | 'key' | 'range_end'>) =>
  `${String(p.permType).toLowerCase()}|${Buffer.from(p.key ?? []).toString('hex')}|${Buffer.from(p.range_end ?? []).toString('hex')}`;
const rangeId = (p: Pick<IPermission, 'key' | 'range_end'>) =>
  `${Buffer.from(p.key ?? []).toString('hex')}|${Buffer.from(p.range_end ?? []).toString('hex')}`;

async function missingIs<T>(call: Promise<T>, ...notFound: (new (...a: any[]) => Error)[]): Promise<T | undefined> {
  try {
    return await call;
  } catch (e) {
    if (notFound.some((c) => e instanceof c)) return undefined;
    throw e;
  }
}

async function roleExists(c: Etcd3, name: string): Promise<IPermission[] | undefined> {
  const r = await missingIs(c.auth.roleGet({ role: name }), EtcdRoleNotFoundError);
  return r?.perm;
}

async function userRoles(c: Etcd3, name: string): Promise<string[] | undefined> {
  const r = await missingIs(c.auth.userGet({ name }), EtcdUserNotFoundError);
  return r?.roles;
}

/** Creates the role when missing and makes its permissions exactly `role.permissions`. */
export async function putRole(c: Etcd3, role: RoleSpec): Promise<{ created: boolean; granted: number; revoked: number }> {
  let perms = await roleExists(c, role.name);
  const created = !perms;
  if (!perms) {
    await c.auth.roleAdd({ name: role.name });
    perms = [];
  }
  const want = role.permissions.map(toEtcdPermission);
  // A range etcd holds with another access type is replaced: revoke it, then grant the wanted one.
  const wantIds = new Set(want.map(permId));
  const stale = perms.filter((p) => !wantIds.has(permId(p)));
  for (const p of stale) await c.auth.roleRevokePermission({ role: role.name, key: p.key, range_end: p.range_end });
  const kept = new Set(perms.filter((p) => wantIds.has(permId(p))).map(rangeId));
  const grant = want.filter((p) => !kept.has(rangeId(p)));
  for (const perm of grant) await c.auth.roleGrantPermission({ name: role.name, perm });
  return { created, granted: grant.length, revoked: stale.length };
}

export async function deleteRole(c: Etcd3, name: string): Promise<{ deleted: boolean }> {
  return { deleted: (await missingIs(c.auth.roleDelete({ role: name }), EtcdRoleNotFoundError)) !== undefined };
}

/**
 * Creates the user when missing (without a password: certificate only, the
 * certificate's CN is the user), sets the password when one is given, and
 * makes its roles exactly `user.roles`.
 */
export async function putUser(c: Etcd3, user: UserSpec): Promise<{ created: boolean; granted: string[]; revoked: string[] }> {
  let roles = await userRoles(c, user.name);
  const created = !roles;
  if (!roles) {
    await c.auth.userAdd(
      user.password !== undefined ? { name: user.name, password: user.password } : { name: user.name, options: { no_password: true } },
    );
    roles = [];
  } else if (user.password !== undefined) {
    await c.auth.userChangePassword({ name: user.name, password: user.password });
  }
  const granted = user.roles.filter((r) => !roles.includes(r));
  const revoked = roles.filter((r) => !user.roles.includes(r));
  for (const role of granted) {
    try {
      await c.auth.userGrantRole({ user: user.name, role });
    } catch (e) {
      if (e instanceof EtcdRoleNotFoundError) throw ApplicationFailure.nonRetryable(`role ${role} does not exist in etcd`, 'RoleNotFound');
      throw e;
    }
  }
  for (const role of revoked) await c.auth.userRevokeRole({ name: user.name, role });
  return { created, granted, revoked };
}

export async function deleteUser(c: Etcd3, name: string): Promise<{ deleted: boolean }> {
  return { deleted: (await missingIs(c.auth.userDelete({ name }), EtcdUserNotFoundError)) !== undefined };
}

/** The root role, the root user (no password) and the service's own user with role root. */
export async function ensureRootAndServiceUser(c: Etcd3): Promise<{ created: string[] }> {
  const created: string[] = [];
  if (!(await roleExists(c, ROOT))) {
    await c.auth.roleAdd({ name: ROOT });
    created.push('role root');
  }
  for (const name of [ROOT, SERVICE_USER]) {
    const r = await putUser(c, { name, roles: [ROOT] });
    if (r.created) created.push(`user ${name}`);
  }
  return { created };
}

async function authEnabled(c: Etcd3): Promise<boolean> {
  return (await c.auth.authStatus()).enabled;
}

export async function setAuthEnabled(c: Etcd3, enabled: boolean): Promise<{ changed: boolean }> {
  if ((await authEnabled(c)) === enabled) return { changed: false };
  if (enabled) await c.auth.authEnable();
  else await c.auth.authDisable();
  return { changed: true };
}

/**
 * What the service needs with auth on, through its own certificate: the
 * member list, every member's status, a linearizable read, the user list
 * (root only) and a KV hash on every member (etcd's admin check, the same
 * one snapshot, defragment and member changes pass).
 */
export async function checkServiceAccess(c: Etcd3, members: Etcd3[]): Promise<string[]> {
  const checked: string[] = [];
  const listed = (await c.cluster.memberList({ linearizable: true })).members;
  checked.push(`member list (${listed.length})`);
  await c.get('etcdfleet/auth-check').exec();
  checked.push('read');
  const { users } = await c.auth.userList();
  if (!users.includes(SERVICE_USER)) throw ApplicationFailure.nonRetryable(`user ${SERVICE_USER} is missing`, 'AuthCheckFailed');
  checked.push('user list');
  for (const one of members) {
    await one.maintenance.status();
    await one.maintenance.hash();
  }
  checked.push(`status and hash on ${members.length} members`);
  return checked;
}

/** Runs `fn` with the service's admin client; permission denied says which identity lacked what. */
export async function withAuthClient<T>(hosts: HostProvider, spec: ClusterSpec, what: string, fn: (c: Etcd3) => Promise<T>): Promise<T> {
  try {
    return await withEtcdClient(hosts, spec, fn, { timeoutMs: 5_000 });
  } catch (e) {
    if (e instanceof EtcdPermissionDeniedError)
      throw ApplicationFailure.nonRetryable(
        `${what}: etcd denied the service's identity (${SERVICE_USER}): it needs the root role`,
        'PermissionDenied',
      );
    throw e;
  }
}
