// `npm run bench:provision`: how long etcdfleet takes from POST /v1/clusters
// to phase Running for a 3-member TLS cluster, against a plain bash script
// doing the same work directly (bench/baseline-provision.sh), measured in the
// same run, alternating, on the same machine.
//
// Both sides: etcd v3.5.10 from the cached release (<cacheDir>/releases, our
// side fetching it from the local mirror file://<cacheDir>/mirror, a cache
// hit), RSA 2048 keys, the same certificate profiles and SANs, the same etcd
// config keys, heartbeat 100 ms / election 1000 ms, members on loopback
// (ours 127.0.90-94.x, the baseline's 127.0.95-99.x, fresh addresses every
// run). Not timed: DELETE ?purge=true (ours) and stopping the baseline's etcds.
//
// Environment: BENCH_RUNS (5 measured runs per side, after one warm-up each),
// BENCH_POLL_MS (100: how often GET /v1/clusters/{name} is polled; the
// baseline polls etcdctl every 100 ms too), BENCH_KEEP=1 keeps the work dir.
// BENCH_MODE=ssh runs bench/provision-ssh.ts instead (test hosts, provider ssh).
// Exits 0 whatever the ratio; non-zero only when something failed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, localMirrorDir, REPO_ROOT } from '../infra/config';
import { fetchRelease } from '../activities/artifacts';
import { endLocalBenchRun, startBenchStack, type BenchStack } from './lib/stack';
import { stopEtcdsUnder, etcdPidsUnder, waitGone } from './lib/procs';
import { provisionTimeline, type Timeline } from './lib/timeline';
import { benchMode, intEnv, loadavg, median, printTimelineBreakdown, secs } from './lib/report';
import { compareCerts, compareConfigs } from './lib/parity';
import { readEtcdStartup, type EtcdStartup } from './lib/etcdlog';
import { localMemberRuntime } from '../activities/hosts/local';

const VERSION = 'v3.5.10';
const MEMBERS = 3;
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1000;
const GOAL = 1.0;
const RUNS = intEnv('BENCH_RUNS', 5, 1, 400);
const POLL_MS = intEnv('BENCH_POLL_MS', 100, 10, 5_000);
const PROVISION_TIMEOUT_MS = 180_000;
const DELETE_TIMEOUT_MS = 60_000;
const BASELINE_SCRIPT = path.join(REPO_ROOT, 'bench/baseline-provision.sh');

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `count` addresses for run `run` of a side: 250 usable addresses per /24, blocks `first`..`first+4`. */
function addresses(first: number, run: number): string[] {
  return Array.from({ length: MEMBERS }, (_, j) => {
    const n = run * MEMBERS + j;
    return `127.0.${first + Math.floor(n / 250)}.${(n % 250) + 1}`;
  });
}

// ---------------------------------------------------------------- state for cleanup

let root: string | undefined;
let stack: BenchStack | undefined;
let baselineChild: ChildProcess | undefined;
let cleaning: Promise<void> | undefined;
let interrupted = false;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (baselineChild && baselineChild.exitCode === null && baselineChild.signalCode === null && baselineChild.pid) {
      try {
        process.kill(-baselineChild.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    await endLocalBenchRun(root, say);
  })();
  return cleaning;
}

// The etcd3 client (activities/etcd) sets the TLS server name to the member's IP
// address, which node warns about once per process; it is noise in a report.
process.removeAllListeners('warning');
process.on('warning', (w: Error & { code?: string }) => {
  if (w.code !== 'DEP0123') process.stderr.write(`${w.name}: ${w.message}\n`);
});

const SSH_MODE = benchMode() === 'ssh';
for (const sig of SSH_MODE ? [] : (['SIGINT', 'SIGTERM', 'SIGHUP'] as const)) {
  process.on(sig, () => {
    if (cleaning) {
      say(`${sig} again: exiting without finishing cleanup`);
      process.exit(130);
    }
    interrupted = true;
    say(`${sig}: stopping members, worker and dev server`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- etcdfleet side

interface OursRun {
  ms: number;
  /** Wall clock of the POST and of seeing Running. */
  startedAt: number;
  endedAt: number;
  etcd?: EtcdStartup;
  timeline?: Timeline;
  timelineError?: string;
  cluster: any;
}

function clusterSpec(name: string, addrs: string[]) {
  return {
    name,
    version: VERSION,
    artifactSource: `file://${localMirrorDir()}`,
    members: addrs.map((address, i) => ({ name: `${name}-${i + 1}`, address })),
    tunables: { heartbeatInterval: HEARTBEAT_MS, electionTimeout: ELECTION_MS },
  };
}

async function untilDone<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await Promise.race([probe(), stack!.workerFailed]);
    if (r !== undefined) return r;
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

async function provisionOurs(run: number, keep?: (cluster: any) => Promise<void>): Promise<OursRun> {
  const s = stack!;
  const name = `bench-${run}`;
  const spec = clusterSpec(name, addresses(90, run));

  const postSent = Date.now();
  const t0 = performance.now();
  const posted = await s.api('POST', '/v1/clusters', spec);
  const postAnswered = Date.now();
  if (posted.status !== 202) throw new Error(`POST /v1/clusters: ${posted.status} ${JSON.stringify(posted.body)}`);

  const cluster = await untilDone(`cluster ${name} reaching Running`, PROVISION_TIMEOUT_MS, async () => {
    const r = await s.api('GET', `/v1/clusters/${name}`);
    if (r.status !== 200) throw new Error(`GET /v1/clusters/${name}: ${r.status} ${JSON.stringify(r.body)}`);
    if (r.body.phase === 'Failed') throw new Error(`cluster ${name} failed: ${r.body.reason}`);
    return r.body.phase === 'Running' ? r.body : undefined;
  });
  const ms = performance.now() - t0;
  const runningSeen = Date.now();

  let timeline: Timeline | undefined;
  let timelineError: string | undefined;
  try {
    const op = await s.api('GET', `/v1/operations/${posted.body.operationId}`);
    if (op.status !== 200) throw new Error(`GET /v1/operations/${posted.body.operationId}: ${op.status}`);
    timeline = await provisionTimeline(s.client, posted.body.workflowId, op.body.steps ?? [], { postSent, postAnswered, runningSeen });
  } catch (e) {
    timelineError = (e as Error).message;
  }

  const etcd = readEtcdStartup(spec.members.map((m) => localMemberRuntime(s.config.hostsDir, name, m.name).logFile));
  if (keep) await keep(cluster);
  await deleteOurs(name);
  return { ms, startedAt: postSent, endedAt: runningSeen, etcd, timeline, timelineError, cluster };
}

async function deleteOurs(name: string): Promise<void> {
  const s = stack!;
  const clusterDir = path.join(s.config.hostsDir, name);
  const pids = await etcdPidsUnder(clusterDir);
  const r = await s.api('DELETE', `/v1/clusters/${name}?purge=true`);
  if (r.status !== 202) throw new Error(`DELETE /v1/clusters/${name}: ${r.status} ${JSON.stringify(r.body)}`);
  await untilDone(`cluster ${name} being deleted`, DELETE_TIMEOUT_MS, async () => {
    const g = await s.api('GET', `/v1/clusters/${name}`);
    if (g.status === 200 && g.body.phase === 'Failed') throw new Error(`deleting ${name} failed: ${g.body.reason}`);
    return g.status === 404 ? true : undefined;
  });
  if (!(await waitGone(pids, 10_000))) throw new Error(`etcd pids ${pids.join(', ')} of ${name} still alive after delete`);
  const left = await etcdPidsUnder(clusterDir);
  if (left.length) throw new Error(`etcd pids ${left.join(', ')} of ${name} still alive after delete`);
}

// ---------------------------------------------------------------- baseline side

interface BaselineRun {
  ms: number;
  startedAt: number;
  endedAt: number;
  etcd?: EtcdStartup;
  phases: Record<string, number>;
  healthAttempts?: number;
  dir: string;
}

async function provisionBaseline(
  run: number,
  binDir: string,
  keep?: (dir: string, members: string[]) => Promise<void>,
): Promise<BaselineRun> {
  const name = `base-${run}`;
  const dir = path.join(root!, name);
  const addrs = addresses(95, run);
  const env = {
    ...process.env,
    HEARTBEAT_MS: String(HEARTBEAT_MS),
    ELECTION_MS: String(ELECTION_MS),
    HEALTH_POLL_S: String(POLL_MS / 1000),
  };

  const startedAt = Date.now();
  const t0 = performance.now();
  const child = spawn('bash', [BASELINE_SCRIPT, dir, addrs.join(','), binDir, name], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  baselineChild = child;
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const code: number | string = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, sig) => resolve(c ?? String(sig)));
  });
  const ms = performance.now() - t0;
  const endedAt = Date.now();
  baselineChild = undefined;

  try {
    if (code !== 0) throw new Error(`baseline script exited with ${code}:\n${err.trim() || out.trim()}`);
    const phases: Record<string, number> = {};
    let healthAttempts: number | undefined;
    for (const line of out.split('\n')) {
      const p = /^phase (\S+) (\d+)$/.exec(line);
      if (p) phases[p[1]] = Number(p[2]);
      const h = /^health attempts (\d+)$/.exec(line);
      if (h) healthAttempts = Number(h[1]);
    }
    const members = addrs.map((_, i) => `${name}-${i + 1}`);
    const etcd = readEtcdStartup(members.map((m) => path.join(dir, m, 'var/log/etcd.log')));
    if (keep) await keep(dir, members);
    return { ms, startedAt, endedAt, etcd, phases, healthAttempts, dir };
  } finally {
    // Throwaway members: a short grace (a leader stopping with its peers would try a 7 s leadership transfer).
    await stopEtcdsUnder(dir, 1_000);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

function printBaselineBreakdown(runs: BaselineRun[]): void {
  const names = Object.keys(runs[0]?.phases ?? {});
  const parts = names.map((n) => `${n} ${Math.round(median(runs.map((r) => r.phases[n])))} ms`);
  const spawnOverhead = median(runs.map((r) => r.ms - Object.values(r.phases).reduce((a, b) => a + b, 0)));
  const attempts = Math.max(...runs.map((r) => r.healthAttempts ?? 0));
  say(
    `baseline breakdown, median of ${runs.length} run(s): ${parts.join(', ')}, bash start/exit ${Math.round(spawnOverhead)} ms (etcdctl health attempts: up to ${attempts})`,
  );
}

/** The steps that took 100 ms or more, e.g. ` | issue 0.87 start 0.46 wait 0.33 x2`. */
function oursNote(r: OursRun): string {
  if (!r.timeline) return '';
  const parts = r.timeline.steps
    .filter((st) => st.ms >= 100)
    .map((st) => `${st.name.split(' ')[0].toLowerCase()} ${secs(st.ms)}${(st.attempts ?? 1) > 1 ? ` x${st.attempts}` : ''}`);
  return ` | ${parts.join(' ')}`;
}

function baselineNote(r: BaselineRun): string {
  return ` | ${Object.entries(r.phases)
    .map(([k, v]) => `${k} ${secs(v)}`)
    .join(' ')}`;
}

function etcdNote(e: EtcdStartup | undefined): string {
  if (!e) return '';
  return ` | etcd: started ${e.startSkewMs} ms apart, peer check ${secs(e.peerCheckMs)}, first start -> all ready ${secs(e.readyMs)}`;
}

/** How each side's time splits into "before the first etcd started", "etcd starting up", "after the last was ready". */
function printEtcdShare(ours: OursRun[], base: BaselineRun[]): void {
  const row = (label: string, runs: (OursRun | BaselineRun)[]): number => {
    const ok = runs.filter((r) => r.etcd);
    if (ok.length === 0) {
      say(`${label}: no etcd log timings`);
      return NaN;
    }
    const before = median(ok.map((r) => r.etcd!.firstStart - r.startedAt));
    const etcd = median(ok.map((r) => r.etcd!.readyMs));
    const after = median(ok.map((r) => r.endedAt - r.etcd!.lastReady));
    const outside = median(ok.map((r) => r.ms - r.etcd!.readyMs));
    const stalls = ok.filter((r) => r.etcd!.peerCheckMs >= 900).length;
    say(
      `${label}: before first etcd start ${Math.round(before)} ms, etcd first start -> all ready ${Math.round(etcd)} ms ` +
        `(bootstrap peer-check stall >= 0.9 s in ${stalls}/${ok.length} runs), last ready -> done ${Math.round(after)} ms; ` +
        `total minus etcd startup ${Math.round(outside)} ms`,
    );
    return outside;
  };
  say("where the time goes relative to etcd (medians; from the members' logs):");
  const o = row('  etcdfleet', ours);
  const b = row('  baseline ', base);
  if (Number.isFinite(o) && Number.isFinite(b)) {
    say(`  ratio without etcd's own startup time (total minus first start -> all ready): ${(o / b).toFixed(2)}`);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bench-'));
  const cache = cacheDir();
  const mirror = localMirrorDir();
  if (!fs.existsSync(path.join(mirror, VERSION))) {
    throw new Error(`no ${VERSION} in the local mirror ${mirror}: run \`npm run bootstrap\` first`);
  }
  // Both sides use the extracted release; make sure it is cached before anything is timed.
  const release = await fetchRelease({ version: VERSION, source: `file://${mirror}`, cacheDir: cache });
  const binDir = release.binDir;

  say(
    `bench provision: ${MEMBERS}-member TLS cluster, etcd ${VERSION} (cached, mirror file://${mirror}), RSA 2048, heartbeat ${HEARTBEAT_MS} ms, election ${ELECTION_MS} ms`,
  );
  say(
    `${RUNS} measured run(s) per side after one warm-up each, alternating; ${os.cpus().length} CPUs, load average ${loadavg()}; work dir ${root}`,
  );
  stack = await startBenchStack(root, (l) => say(l));

  // Warm-up pair (not counted), with the check that both sides did the same work.
  let oursFiles: { configFile: string; certsDir: string } | undefined;
  const w1 = await provisionOurs(0, async (c) => {
    const f = c.members[0].files;
    const copy = path.join(root!, 'parity-ours');
    fs.mkdirSync(copy, { recursive: true });
    fs.copyFileSync(f.configFile, path.join(copy, 'config.yaml'));
    fs.cpSync(f.certsDir, path.join(copy, 'certs'), { recursive: true });
    oursFiles = { configFile: path.join(copy, 'config.yaml'), certsDir: path.join(copy, 'certs') };
  });
  say(`warm-up etcdfleet ${secs(w1.ms)} s${oursNote(w1)}${etcdNote(w1.etcd)}`);
  let parity: string[] = [];
  const w2 = await provisionBaseline(0, binDir, async (dir, members) => {
    const m = path.join(dir, members[0]);
    parity = [
      ...compareConfigs(oursFiles!.configFile, path.join(m, 'etc/etcd/config.yaml')),
      ...compareCerts(oursFiles!.certsDir, path.join(m, 'etc/ssl/etcd')),
    ];
  });
  say(`warm-up baseline ${secs(w2.ms)} s${baselineNote(w2)}${etcdNote(w2.etcd)}`);
  if (parity.length === 0) say('parity: same etcd config keys and values (apart from names, paths, URLs), same certificate shapes');
  else for (const d of parity) say(`parity WARNING: ${d}`);

  const ours: OursRun[] = [];
  const base: BaselineRun[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const o = await provisionOurs(i);
    ours.push(o);
    say(`run ${i} etcdfleet ${secs(o.ms)} s${oursNote(o)}${etcdNote(o.etcd)}`);
    const b = await provisionBaseline(i, binDir);
    base.push(b);
    say(`run ${i} baseline ${secs(b.ms)} s${baselineNote(b)}${etcdNote(b.etcd)}`);
  }

  printTimelineBreakdown(ours, say, POLL_MS);
  printBaselineBreakdown(base);
  printEtcdShare(ours, base);
  const mo = median(ours.map((r) => r.ms));
  const mb = median(base.map((r) => r.ms));
  const ratio = mo / mb;
  say(`load average at the end ${loadavg()} (other work on this machine shifts both sides)`);
  say(`provision: etcdfleet median ${secs(mo)} s, baseline median ${secs(mb)} s, ratio ${ratio.toFixed(2)} (goal <= ${GOAL})`);
}

if (SSH_MODE) void import('./provision-ssh');
else
  main()
    .then(() => cleanup())
    .then(() => process.exit(0))
    .catch(async (err) => {
      // After Ctrl-C the run fails because its stack is going away: not worth a trace.
      if (interrupted) return new Promise(() => undefined);
      say(`bench provision failed: ${(err as Error).stack ?? err}`);
      await cleanup();
      process.exit(1);
    });
