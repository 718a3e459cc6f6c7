// `BENCH_MODE=ssh npm run bench:upgrade`: the rolling upgrade (v3.5.10 → the
// latest v3.5) of a 3-member TLS cluster with `provider: ssh` on three test
// hosts (bench/lib/sshhosts.ts) under the client workload, through etcdfleet,
// against bench/baseline-upgrade-ssh.sh (per host: systemctl stop, untar the
// new release, swap the links, systemctl start, etcdctl health) on an
// identical cluster, alternating. Both clusters are provisioned by etcdfleet
// on the same hosts, one after the other (not timed); after each run the
// cluster is purged and the hosts wiped. Reported as bench/upgrade.ts does.
// BENCH_RUNS (default 2) runs per side.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localMirrorDir, REPO_ROOT } from '../infra/config';
import { bootstrappedEtcdVersions } from '../infra/etcd-releases';
import { anyCachedRelease } from '../activities/artifacts';
import { allowedRelease } from '../activities/policy';
import type { TestHosts } from '../infra/testhosts/hosts';
import { activityTimes } from './lib/activities';
import { startBenchStack, stopBenchStack, type BenchStack } from './lib/stack';
import { intEnv, loadavg, median, secs, workloadLine } from './lib/report';
import { runBaselineScript, sshOptsEnv, startBenchHosts, wipeHosts } from './lib/sshhosts';
import { Workload, type WorkloadReport } from '../test/support/workload';

const { default: FROM, latest35: TO } = bootstrappedEtcdVersions();
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1000;
const GOAL_RATIO = 1.0;
const RUNS = intEnv('BENCH_RUNS', 2, 1, 10);
const SCRIPT = path.join(REPO_ROOT, 'bench/baseline-upgrade-ssh.sh');
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Result {
  ms: number;
  report: WorkloadReport;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(250)) {
    const v = await probe();
    if (v !== undefined) return v;
  }
  throw new Error(`${what} timed out`);
}

/** Provisions `name` on the hosts (not timed), starts the workload; returns it with the cluster's credentials. */
async function prepare(s: BenchStack, f: TestHosts, name: string) {
  const r = await s.api('POST', '/v1/clusters', {
    name,
    version: FROM,
    provider: 'ssh',
    artifactSource: `file://${localMirrorDir()}`,
    members: f.hosts.map((h, i) => ({ name: `${name}-${i + 1}`, address: h.address })),
    tunables: { heartbeatInterval: HEARTBEAT_MS, electionTimeout: ELECTION_MS },
  });
  if (r.status !== 202) throw new Error(`POST /v1/clusters ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  const c = await waitFor(`provisioning ${name}`, async () => {
    const b = (await s.api('GET', `/v1/clusters/${name}`)).body;
    if (b.phase === 'Failed') throw new Error(`provisioning ${name} failed: ${b.reason}`);
    return b.phase === 'Running' ? b : undefined;
  });
  const creds = (await s.api('GET', `/v1/clusters/${name}/credentials`)).body;
  const w = new Workload(
    c.members.map((m: any) => m.clientURL),
    creds,
  );
  w.start();
  await sleep(1000);
  return { w, creds };
}

async function finish(s: BenchStack, f: TestHosts, name: string, w: Workload, ms: number): Promise<Result> {
  await sleep(1000);
  const report = await w.stop();
  const d = await s.api('DELETE', `/v1/clusters/${name}?purge=true`);
  if (d.status !== 202) throw new Error(`DELETE ${name}: ${d.status} ${JSON.stringify(d.body)}`);
  await waitFor(`deleting ${name}`, async () => ((await s.api('GET', `/v1/clusters/${name}`)).status === 404 ? true : undefined));
  await wipeHosts(f);
  return { ms, report };
}

async function ours(s: BenchStack, f: TestHosts, run: number): Promise<Result> {
  const name = `sshours${run}`;
  const { w } = await prepare(s, f, name);
  const t0 = Date.now();
  const r = await s.api('POST', `/v1/clusters/${name}/upgrade`, { version: TO });
  if (r.status !== 202) throw new Error(`upgrade: ${r.status} ${JSON.stringify(r.body)}`);
  const done = await waitFor('the upgrade', async () => {
    const op = (await s.api('GET', `/v1/operations/${r.body.operationId}`)).body;
    if (op.status === 'Failed' || op.status === 'Cancelled') throw new Error(`upgrade ${op.status}: ${op.error}`);
    return op.status === 'Succeeded' ? op : undefined;
  });
  const ms = Date.now() - t0;
  if (process.env.BENCH_DEBUG) say(`  ours #${run + 1} activities: ${await activityTimes(s.client, r.body.workflowId)}`);
  const at = (x?: string) => (x ? Date.parse(x) : NaN);
  say(`  ours #${run + 1} steps: ${done.steps.map((st: any) => `${st.name} ${secs(at(st.finishedAt) - at(st.startedAt))} s`).join('; ')}`);
  return finish(s, f, name, w, ms);
}

async function baseline(s: BenchStack, f: TestHosts, root: string, run: number): Promise<Result> {
  const name = `sshbase${run}`;
  const { w, creds } = await prepare(s, f, name);
  const certs = path.join(root, `${name}-certs`);
  fs.mkdirSync(certs, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(certs, 'ca.pem'), creds.ca);
  fs.writeFileSync(path.join(certs, 'admin.pem'), creds.cert);
  fs.writeFileSync(path.join(certs, 'admin-key.pem'), creds.key, { mode: 0o600 });
  const bin = anyCachedRelease(s.config.cacheDir, TO);
  const t0 = Date.now();
  await runBaselineScript(SCRIPT, [TO, bin, certs, ...f.hosts.map((h) => h.address)], { SSH_OPTS: sshOptsEnv(f) }, 'sh');
  return finish(s, f, name, w, Date.now() - t0);
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bench-upgrade-ssh-'));
  say(
    `bench:upgrade (ssh): ${FROM} → ${TO}, 3 test hosts, heartbeat ${HEARTBEAT_MS} ms, election ${ELECTION_MS} ms, ${RUNS} run(s) per side`,
  );
  let fleet: TestHosts | undefined;
  const o: Result[] = [];
  const b: Result[] = [];
  try {
    fleet = await startBenchHosts((l) => say(`  ${l}`));
    await wipeHosts(fleet);
    const s = await startBenchStack(root, (l) => say(`  ${l}`));
    // Both releases in the cache and verified once by this process (the worker runs in it) before anything is timed: the script copies from that cache.
    for (const v of [FROM, TO]) await allowedRelease(s.config, v, `file://${localMirrorDir()}`);
    for (let run = 0; run < RUNS; run++) {
      if (run % 2 === 0) {
        o.push(await ours(s, fleet, run));
        b.push(await baseline(s, fleet, root, run));
      } else {
        b.push(await baseline(s, fleet, root, run));
        o.push(await ours(s, fleet, run));
      }
      say(workloadLine(`ours #${run + 1}`, o.at(-1)!));
      say(workloadLine(`plain #${run + 1}`, b.at(-1)!));
    }
  } finally {
    await stopBenchStack();
    await fleet?.stopAll().catch((e) => say(`stopping the test hosts: ${(e as Error).message}`));
    if (!process.env.BENCH_KEEP) fs.rmSync(root, { recursive: true, force: true });
  }
  const oMs = median(o.map((r) => r.ms));
  const bMs = median(b.map((r) => r.ms));
  const oUn = Math.max(...o.map((r) => r.report.maxUnavailableMs));
  const bUn = Math.max(...b.map((r) => r.report.maxUnavailableMs));
  const oLost = o.reduce((n, r) => n + r.report.lost.length, 0);
  const failed = (rs: Result[]) => rs.reduce((n, r) => n + r.report.failedWrites + r.report.failedReads, 0);
  say('');
  say(
    `time        ours ${secs(oMs)} s vs plain ${secs(bMs)} s: ratio ${(oMs / bMs).toFixed(2)} (goal ≤ ${GOAL_RATIO}) ${oMs / bMs <= GOAL_RATIO ? 'MET' : 'NOT MET'}`,
  );
  say(`unavailable ours ${oUn} ms vs plain ${bUn} ms (goal ours ≤ ${ELECTION_MS} ms) ${oUn <= ELECTION_MS ? 'MET' : 'NOT MET'}`);
  say(`failed      ours ${failed(o)} vs plain ${failed(b)} requests`);
  say(`lost        ours ${oLost} acknowledged writes (goal 0) ${oLost === 0 ? 'MET' : 'NOT MET'}`);
  say(`load        ${loadavg()}`);
}

main().then(
  () => process.exit(0),
  async (err) => {
    say(`bench:upgrade (ssh) failed: ${(err as Error).stack ?? err}`);
    await stopBenchStack().catch(() => undefined);
    process.exit(1);
  },
);
