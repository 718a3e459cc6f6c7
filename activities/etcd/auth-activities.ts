// The activities behind the auth operations (workflows/auth/change.ts). Inputs
// carry at most a user's password (encrypted by the payload codec); results
// never do.
import type { ClusterSpec } from '../../common/spec';
import type { RoleSpec, UserSpec } from '../../common/auth';
import type { Config } from '../../infra/config';
import { clusterTopology } from '../../common/topology';
import { providerFor } from '../hosts';
import { clientCredentials, newEtcdClient } from './client';
import {
  checkServiceAccess,
  deleteRole,
  deleteUser,
  ensureRootAndServiceUser,
  putRole,
  putUser,
  setAuthEnabled,
  withAuthClient,
} from './auth';

export function authActivities(cfg: Config) {
  const run = <T>(spec: ClusterSpec, what: string, fn: Parameters<typeof withAuthClient<T>>[3]) =>
    withAuthClient(providerFor(spec, cfg), spec, what, fn);
  return {
    async etcdPutRole({ spec, role }: { spec: ClusterSpec; role: RoleSpec }) {
      return run(spec, `put role ${role.name}`, (c) => putRole(c, role));
    },
    async etcdDeleteRole({ spec, name }: { spec: ClusterSpec; name: string }) {
      return run(spec, `delete role ${name}`, (c) => deleteRole(c, name));
    },
    async etcdPutUser({ spec, user }: { spec: ClusterSpec; user: UserSpec }) {
      return run(spec, `put user ${user.name}`, (c) => putUser(c, user));
    },
    async etcdDeleteUser({ spec, name }: { spec: ClusterSpec; name: string }) {
      return run(spec, `delete user ${name}`, (c) => deleteUser(c, name));
    },
    /** The root role and user, and the service's own user (etcdfleet-admin) with role root. */
    async etcdEnsureRoot({ spec }: { spec: ClusterSpec }) {
      return run(spec, 'create root and the service user', (c) => ensureRootAndServiceUser(c));
    },
    async etcdSetAuth({ spec, enabled }: { spec: ClusterSpec; enabled: boolean }) {
      return run(spec, `${enabled ? 'enable' : 'disable'} auth`, (c) => setAuthEnabled(c, enabled));
    },
    /** With auth on: what the service does (member list, reads, status, admin calls) still works with its certificate. */
    async etcdCheckServiceAccess({ spec }: { spec: ClusterSpec }): Promise<{ checked: string[] }> {
      const hosts = providerFor(spec, cfg);
      const creds = await clientCredentials(hosts, spec);
      const members = clusterTopology(spec).map((t) => newEtcdClient(t.clientURL, creds, { timeoutMs: 10_000 }));
      try {
        return { checked: await run(spec, 'check the service can still operate the cluster', (c) => checkServiceAccess(c, members)) };
      } finally {
        for (const m of members) m.close();
      }
    },
  };
}
