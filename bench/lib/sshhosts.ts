// The benchmarks' ssh mode (BENCH_MODE=ssh): three test hosts (label `bench`,
// subnet 10.213.7.0/24, infra/testhosts), the settings etcdfleet's ssh
// provider and the baseline scripts share (same key, same known_hosts), the
// wipe between runs so both sides start from the same hosts, and running a
// baseline script with its `phase <name> <ms>` lines.
import { spawn } from 'node:child_process';
import { sshOptions, startTestHosts, type TestHosts } from '../../infra/testhosts/hosts';
import { testhostsSupport } from '../../infra/testhosts/support';

export const BENCH_HOSTS = 3;

/** Boots the hosts and points the stack's ssh provider at their key and known_hosts (call before startBenchStack). */
export async function startBenchHosts(log: (line: string) => void): Promise<TestHosts> {
  const support = testhostsSupport();
  if (!support.ok) throw new Error(`BENCH_MODE=ssh needs the test hosts: ${support.reason}`);
  const fleet = await startTestHosts({ count: BENCH_HOSTS, label: 'bench', subnet: 7, log });
  process.env.ETCDFLEET_SSH_IDENTITY = fleet.keyPath;
  process.env.ETCDFLEET_SSH_KNOWN_HOSTS = fleet.knownHostsFile;
  return fleet;
}

/** The ssh options the baseline scripts get in SSH_OPTS (paths without spaces). */
export function sshOptsEnv(fleet: TestHosts): string {
  return sshOptions(fleet.keyPath, fleet.knownHostsFile).join(' ');
}

const WIPE = `systemctl stop etcd 2>/dev/null; systemctl disable -q etcd 2>/dev/null
rm -f /etc/systemd/system/etcd.service; systemctl daemon-reload; systemctl reset-failed etcd 2>/dev/null
rm -rf /etc/etcd /etc/ssl/etcd /var/lib/etcd /var/lib/etcd.deleted-* /var/lib/etcdfleet /opt/etcd /usr/local/bin/etcd /usr/local/bin/etcdctl /usr/local/bin/etcdutl
true`;

/** Stops etcd and removes what either side installed, on every host at once. */
export async function wipeHosts(fleet: TestHosts): Promise<void> {
  await Promise.all(
    fleet.hosts.map(async (h) => {
      const r = await h.exec(WIPE, { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`wiping ${h.name}: ${r.output}`);
    }),
  );
}

export interface ScriptRun {
  ms: number;
  phases: Record<string, number>;
}

/** Runs a baseline script (bash, or `shell`) with SSH_OPTS set; its time and `phase` lines, or an error with its output. */
export async function runBaselineScript(script: string, args: string[], env: Record<string, string>, shell = 'bash'): Promise<ScriptRun> {
  const t0 = performance.now();
  const child = spawn(shell, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, sig) => resolve(c ?? String(sig)));
  });
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${script} exited with ${code}:\n${out.trim()}`);
  const phases: Record<string, number> = {};
  for (const m of out.matchAll(/^phase (\S+) (\d+)$/gm)) phases[m[1]] = Number(m[2]);
  return { ms, phases };
}
