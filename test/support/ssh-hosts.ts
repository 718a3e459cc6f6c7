// Helpers for the integration tests on ssh test hosts (infra/testhosts):
// commands as root on a host, polling, and waiting for an operation.
import type { TestHost, TestHosts } from '../../infra/testhosts/hosts';
import type { Stack } from './stack';

/** The worker settings that let the stack reach the test hosts: the harness key and its pinned host keys. */
export function sshEnv(fleet: TestHosts): Record<string, string> {
  return { ETCDFLEET_SSH_IDENTITY: fleet.keyPath, ETCDFLEET_SSH_KNOWN_HOSTS: fleet.knownHostsFile };
}

/** etcdctl on a host as the taskserv README writes it (loopback endpoint, admin certificate). */
export const ETCDCTL =
  'ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/ssl/etcd/ca.pem --cert=/etc/ssl/etcd/admin.pem --key=/etc/ssl/etcd/admin-key.pem';

/** Runs `cmd` as root on `h`; throws with the output unless it exits 0; returns trimmed stdout. */
export async function ok(h: TestHost, cmd: string): Promise<string> {
  const r = await h.exec(cmd);
  if (r.code !== 0) throw new Error(`${h.name}: ${cmd} exited ${r.code}: ${r.output}`);
  return r.stdout.trim();
}

/** Polls `fn` every 250 ms until it returns a value (errors count as not yet). */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until operation `id` has finished (or `early` holds) and returns its view. */
export function waitOp(stack: Stack, id: string, timeoutMs = 300_000, early?: (op: any) => boolean): Promise<any> {
  return until(
    `operation ${id}`,
    async () => {
      const o = (await stack.api('GET', `/v1/operations/${id}`)).body;
      return early?.(o) || ['Succeeded', 'Failed', 'Cancelled'].includes(o.status) ? o : undefined;
    },
    timeoutMs,
  );
}

/** Waits until the cluster `name` is gone (404). */
export function gone(stack: Stack, name: string): Promise<true> {
  return until(
    `${name} to be gone`,
    async () => ((await stack.api('GET', `/v1/clusters/${name}`)).status === 404 ? true : undefined),
    120_000,
  );
}
