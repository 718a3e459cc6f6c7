// `BENCH_MODE=ssh npm run bench:provision`: how long etcdfleet takes from
// POST /v1/clusters to phase Running for a 3-member TLS cluster with
// `provider: ssh` on three test hosts (bench/lib/sshhosts.ts), against
// bench/baseline-provision-ssh.sh doing the same work over ssh host by host,
// measured in the same run, alternating. Between runs the hosts are wiped
// (etcd stopped, unit, binaries, config, certificates and data removed), so
// both sides start from the same hosts and copy the release every time. Not
// timed: DELETE ?purge=true (ours) and the wipe.
//
// Environment: BENCH_RUNS (3 measured runs per side after one warm-up each),
// BENCH_POLL_MS (100), BENCH_KEEP=1 keeps the work dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, localMirrorDir, REPO_ROOT } from '../infra/config';
import { fetchRelease } from '../activities/artifacts';
import type { TestHosts } from '../infra/testhosts/hosts';
import { startBenchStack, stopBenchStack, type BenchStack } from './lib/stack';
import { provisionTimeline, type Timeline } from './lib/timeline';
import { intEnv, loadavg, median, printTimelineBreakdown, secs } from './lib/report';
import { runBaselineScript, sshOptsEnv, startBenchHosts, wipeHosts, type ScriptRun } from './lib/sshhosts';

const VERSION = 'v3.5.10';
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1000;
const GOAL = 1.0;
const RUNS = intEnv('BENCH_RUNS', 3, 1, 50);
const POLL_MS = intEnv('BENCH_POLL_MS', 100, 10, 5_000);
const TIMEOUT_MS = 240_000;
const SCRIPT = path.join(REPO_ROOT, 'bench/baseline-provision-ssh.sh');

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let root: string | undefined;
let fleet: TestHosts | undefined;

async function cleanup(): Promise<void> {
  await stopBenchStack().catch((e) => say(`cleanup: stopping the stack: ${(e as Error).message}`));
  await fleet?.stopAll().catch((e) => say(`cleanup: stopping the test hosts: ${(e as Error).message}`));
  if (root && process.env.BENCH_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
}

process.removeAllListeners('warning');
process.on('warning', (w: Error & { code?: string }) => {
  if (w.code !== 'DEP0123') process.stderr.write(`${w.name}: ${w.message}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => void cleanup().finally(() => process.exit(130)));
}

async function until<T>(s: BenchStack, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const r = await Promise.race([probe(), s.workerFailed]);
    if (r !== undefined) return r;
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

interface OursRun {
  ms: number;
  timeline?: Timeline;
  timelineError?: string;
}

async function ours(s: BenchStack, f: TestHosts, run: number): Promise<OursRun> {
  const name = `sshbench-${run}`;
  const spec = {
    name,
    version: VERSION,
    provider: 'ssh',
    artifactSource: `file://${localMirrorDir()}`,
    members: f.hosts.map((h, i) => ({ name: `${name}-${i + 1}`, address: h.address })),
    tunables: { heartbeatInterval: HEARTBEAT_MS, electionTimeout: ELECTION_MS },
  };
  const postSent = Date.now();
  const t0 = performance.now();
  const posted = await s.api('POST', '/v1/clusters', spec);
  const postAnswered = Date.now();
  if (posted.status !== 202) throw new Error(`POST /v1/clusters: ${posted.status} ${JSON.stringify(posted.body)}`);
  await until(s, `${name} reaching Running`, async () => {
    const r = await s.api('GET', `/v1/clusters/${name}`);
    if (r.body?.phase === 'Failed') throw new Error(`cluster ${name} failed: ${r.body.reason}`);
    return r.body?.phase === 'Running' ? true : undefined;
  });
  const ms = performance.now() - t0;
  const runningSeen = Date.now();
  const result: OursRun = { ms };
  try {
    const op = await s.api('GET', `/v1/operations/${posted.body.operationId}`);
    result.timeline = await provisionTimeline(s.client, posted.body.workflowId, op.body.steps ?? [], {
      postSent,
      postAnswered,
      runningSeen,
    });
  } catch (e) {
    result.timelineError = (e as Error).message;
  }
  const d = await s.api('DELETE', `/v1/clusters/${name}?purge=true`);
  if (d.status !== 202) throw new Error(`DELETE /v1/clusters/${name}: ${d.status} ${JSON.stringify(d.body)}`);
  await until(s, `${name} being deleted`, async () => ((await s.api('GET', `/v1/clusters/${name}`)).status === 404 ? true : undefined));
  await wipeHosts(f);
  return result;
}

async function baseline(f: TestHosts, binDir: string, run: number): Promise<ScriptRun> {
  const dir = path.join(root!, `base-${run}`);
  const env = {
    SSH_OPTS: sshOptsEnv(f),
    HEARTBEAT_MS: String(HEARTBEAT_MS),
    ELECTION_MS: String(ELECTION_MS),
    HEALTH_POLL_S: String(POLL_MS / 1000),
  };
  try {
    return await runBaselineScript(SCRIPT, [dir, f.hosts.map((h) => h.address).join(','), binDir, VERSION, `base-${run}`], env);
  } finally {
    await wipeHosts(f);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const phasesNote = (r: ScriptRun) =>
  Object.entries(r.phases)
    .map(([k, v]) => `${k} ${secs(v)}`)
    .join(' ');

async function main(): Promise<void> {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bench-ssh-'));
  const mirror = localMirrorDir();
  const release = await fetchRelease({ version: VERSION, source: `file://${mirror}`, cacheDir: cacheDir() });
  say(`bench provision (ssh): ${VERSION}, 3 test hosts (systemd, sshd), TLS, heartbeat ${HEARTBEAT_MS} ms, election ${ELECTION_MS} ms`);
  say(
    `${RUNS} measured run(s) per side after one warm-up each, alternating; ${os.cpus().length} CPUs, load ${loadavg()}; work dir ${root}`,
  );
  fleet = await startBenchHosts((l) => say(`  ${l}`));
  await wipeHosts(fleet);
  const s = await startBenchStack(root, (l) => say(`  ${l}`));

  const w1 = await ours(s, fleet, 0);
  say(`warm-up etcdfleet ${secs(w1.ms)} s`);
  const w2 = await baseline(fleet, release.binDir, 0);
  say(`warm-up baseline ${secs(w2.ms)} s | ${phasesNote(w2)}`);

  const o: OursRun[] = [];
  const b: ScriptRun[] = [];
  for (let i = 1; i <= RUNS; i++) {
    // Alternate which side goes first.
    const pair = i % 2 ? ['ours', 'base'] : ['base', 'ours'];
    for (const side of pair) {
      if (side === 'ours') {
        o.push(await ours(s, fleet, i));
        say(`run ${i} etcdfleet ${secs(o.at(-1)!.ms)} s`);
      } else {
        b.push(await baseline(fleet, release.binDir, i));
        say(`run ${i} baseline ${secs(b.at(-1)!.ms)} s | ${phasesNote(b.at(-1)!)}`);
      }
    }
  }
  printTimelineBreakdown(o, say, POLL_MS);
  const mo = median(o.map((r) => r.ms));
  const mb = median(b.map((r) => r.ms));
  say(`load average at the end ${loadavg()}`);
  say(`provision (ssh): etcdfleet median ${secs(mo)} s, baseline median ${secs(mb)} s, ratio ${(mo / mb).toFixed(2)} (goal <= ${GOAL})`);
}

main()
  .then(() => cleanup())
  .then(() => process.exit(0))
  .catch(async (err) => {
    say(`bench provision (ssh) failed: ${(err as Error).stack ?? err}`);
    await cleanup();
    process.exit(1);
  });
