// Finding and stopping the etcd processes a benchmark started: every etcd
// whose --config-file lies under a directory the benchmark owns (the same
// /proc matching the local provider uses), so nothing else is ever touched.
import { findEtcdProcesses, isAlive, signal, waitGone } from '../../activities/hosts/proc';

export async function etcdPidsUnder(root: string): Promise<number[]> {
  return (await findEtcdProcesses(root)).map((p) => p.pid);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when all are gone (throws if some survive). */
export async function stopEtcdsUnder(root: string, graceMs = 5_000): Promise<number[]> {
  const pids = await etcdPidsUnder(root);
  if (pids.length === 0) return pids;
  pids.forEach((p) => signal(p, 'SIGTERM'));
  if (await waitGone(pids, graceMs)) return pids;
  // Re-check identity right before SIGKILL: never kill a recycled pid.
  const still = new Set(await etcdPidsUnder(root));
  pids.filter((p) => still.has(p)).forEach((p) => signal(p, 'SIGKILL'));
  if (!(await waitGone(pids, 5_000))) {
    const left = (await Promise.all(pids.map(async (p) => ((await isAlive(p)) ? p : 0)))).filter(Boolean);
    throw new Error(`etcd pids ${left.join(', ')} under ${root} survived SIGKILL`);
  }
  return pids;
}

/** Waits until none of `pids` is alive; false on timeout. */
export { waitGone };
