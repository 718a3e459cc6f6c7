// `npm run bench:fleet`: many clusters on one worker. For each batch (10, 25
// and 50 single-member clusters, 10 three-member clusters) every cluster is
// POSTed at once through the API; the batch's time to all Running is compared
// with N × the time of one such cluster alone, measured in the same run
// (goal for N = 25: ≤ 0.25 × the serial time). Reported beside it: the
// process's peak RSS while the batch ran (worker and API share this process),
// the Temporal history of each cluster (its entity and its provision
// operation: events and bytes), and, with the largest batch idle and Running,
// the CPU its health checks cost this process and the Temporal dev server
// (goal: < 5 % of one core for 50 clusters), measured once every cluster's
// first health reading is recorded (the one after provisioning, which reads
// and parses its certificates for the first time and answers the entity).
// Then every cluster is deleted
// with purge and the bench checks nothing is left: no etcd process, no host
// directory, no running workflow but the address registry.
//
// Environment: BENCH_BATCHES (e.g. "10x1,25x1,50x1,10x3": N×members),
// BENCH_KEYS=ecdsa (ECDSA P-256 keys instead of the default RSA 2048),
// BENCH_IDLE_S (30: the idle CPU window), BENCH_KEEP=1 keeps the work dir,
// BENCH_CPU_PROFILE=<file.cpuprofile> writes this process's CPU profiles of
// each batch, the idle window and the list calls (<file>-batch-NxM, -idle,
// -list .cpuprofile; open them in Chrome DevTools).
// Exits 0 whatever the ratios; non-zero only when something failed.
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { localMirrorDir } from '../infra/config';
import { clusterWorkflowId } from '../common/operations';
import { endLocalBenchRun, startBenchStack, type BenchStack } from './lib/stack';
import { etcdPidsUnder } from './lib/procs';
import { intEnv, loadavg, median, secs } from './lib/report';

const VERSION = 'v3.5.10';
const IDLE_S = intEnv('BENCH_IDLE_S', 30, 5, 600);
const GOAL_RATIO_25 = 0.25;
const GOAL_IDLE_CPU = 5;
const TIMEOUT_MS = 600_000;
const BATCHES = (process.env.BENCH_BATCHES || '10x1,25x1,50x1,10x3').split(',').map((b) => {
  const m = /^(\d+)x([13])$/.exec(b.trim());
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 200) throw new Error(`BENCH_BATCHES: "${b}" is not NxM (N 1-200, M 1 or 3)`);
  return { n: Number(m[1]), members: Number(m[2]) };
});

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let root: string | undefined;
let stack: BenchStack | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= endLocalBenchRun(root, say);
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (cleaning) process.exit(130);
    say(`${sig}: stopping members, worker and dev server`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.removeAllListeners('warning');
process.on('warning', (w: Error & { code?: string }) => {
  if (w.code !== 'DEP0123') process.stderr.write(`${w.name}: ${w.message}\n`);
});

// ---------------------------------------------------------------- clusters

/** Fresh loopback addresses: 250 per /24 from 127.0.100.0 on, never reused in a run. */
let nextAddress = 0;
function addresses(count: number): string[] {
  return Array.from({ length: count }, () => {
    const n = nextAddress++;
    return `127.0.${100 + Math.floor(n / 250)}.${(n % 250) + 1}`;
  });
}

/** BENCH_KEYS=ecdsa: every key ECDSA P-256 instead of the default RSA 2048 (how much of a batch is key generation). */
const ECDSA = { algorithm: 'ecdsa', curve: 'P-256' };
const TLS = process.env.BENCH_KEYS === 'ecdsa' ? { tls: { caKey: ECDSA, leafKey: ECDSA } } : {};

let nextName = 0;
function spec(members: number) {
  const name = `fleet-${nextName++}`;
  return {
    name,
    version: VERSION,
    artifactSource: `file://${localMirrorDir()}`,
    members: addresses(members).map((address, i) => ({ name: `${name}-${i + 1}`, address })),
    ...TLS,
  };
}

interface Created {
  name: string;
  operationWorkflowId: string;
}

async function post(members: number): Promise<Created> {
  const s = spec(members);
  const r = await stack!.api('POST', '/v1/clusters', s);
  if (r.status !== 202) throw new Error(`POST /v1/clusters ${s.name}: ${r.status} ${JSON.stringify(r.body)}`);
  return { name: s.name, operationWorkflowId: r.body.workflowId };
}

/** Polls the list endpoint (the fan-out an operator's dashboard does) until every cluster is Running. */
async function allRunning(names: string[]): Promise<void> {
  const want = new Set(names);
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const r = await Promise.race([stack!.api('GET', '/v1/clusters'), stack!.workerFailed]);
    if (r.status !== 200) throw new Error(`GET /v1/clusters: ${r.status} ${JSON.stringify(r.body)}`);
    const phases = new Map<string, string>(r.body.clusters.map((c: any) => [c.name, c.phase]));
    const failed = names.filter((n) => phases.get(n) === 'Failed');
    if (failed.length) throw new Error(`clusters failed: ${failed.join(', ')}`);
    if ([...want].every((n) => phases.get(n) === 'Running')) return;
    if (Date.now() > deadline) throw new Error(`not all Running after ${TIMEOUT_MS} ms`);
    await sleep(250);
  }
}

async function deleteAll(names: string[]): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      const r = await stack!.api('DELETE', `/v1/clusters/${name}?purge=true`);
      if (r.status !== 202) throw new Error(`DELETE ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    }),
  );
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const r = await stack!.api('GET', '/v1/clusters');
    const left = r.body.clusters.filter((c: any) => names.includes(c.name));
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still there after delete: ${left.map((c: any) => c.name).join(', ')}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------- measurements

/**
 * The kernel's peak RSS of this process since the last reset (VmHWM): exact, and free, where sampling
 * process.memoryUsage() every 100 ms cost the main thread ~1.5 s over a 50-cluster batch.
 */
function peakRssMiB(): number {
  const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]);
  return Number.isFinite(kib) ? kib / 1024 : process.memoryUsage.rss() / 2 ** 20;
}

/** Starts the peak RSS anew from the current RSS (writing 5 to clear_refs, Linux ≥ 4.0). */
function resetPeakRss(): void {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Without it the peak is the process's so far: an upper bound.
  }
}

/** CPU seconds of each thread of this process (the main thread, Temporal's runtime, workflow threads, libuv's pool, …). */
function threadCpuSeconds(): Map<string, { name: string; seconds: number }> {
  const out = new Map<string, { name: string; seconds: number }>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const name = fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out.set(tid, { name, seconds: procCpuSeconds(Number(process.pid), `/proc/self/task/${tid}/stat`) });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** CPU seconds (user + system) of a process from /proc. */
function procCpuSeconds(pid: number, file = `/proc/${pid}/stat`): number {
  const stat = fs.readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/** CPU seconds so far: this process (worker + API), its reaped children (openssl, tar, …), the Temporal dev server. */
function cpuNow(serverPid: number): { ours: number; children: number; temporal: number } {
  const own = process.cpuUsage();
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ours: (own.user + own.system) / 1e6, children: (Number(f[13]) + Number(f[14])) / 100, temporal: procCpuSeconds(serverPid) };
}

/** CPU seconds the etcd processes under the bench root have used (all started by this batch). */
async function etcdCpuSeconds(): Promise<number> {
  const pids = await etcdPidsUnder(root!);
  return pids.reduce((sum, pid) => {
    try {
      return sum + procCpuSeconds(pid);
    } catch {
      return sum; // gone meanwhile
    }
  }, 0);
}

async function historyOf(workflowId: string): Promise<{ events: number; bytes: number }> {
  const d = await stack!.client.workflow.getHandle(workflowId).describe();
  return { events: d.historyLength, bytes: Number(d.historySize ?? 0) };
}

async function timeOne(members: number): Promise<number> {
  const t0 = performance.now();
  const c = await post(members);
  await allRunning([c.name]);
  const ms = performance.now() - t0;
  await deleteAll([c.name]);
  return ms;
}

interface BatchResult {
  n: number;
  members: number;
  ms: number;
  single: number;
  peakRssMiB: number;
  /** CPU seconds per cluster spent while the batch ran, by whom. */
  cpuPerCluster: { ours: number; children: number; temporal: number; etcd: number };
  history: { entityEvents: number; entityBytes: number; opEvents: number; opBytes: number };
  names: string[];
}

async function batch(n: number, members: number, single: number, keep: boolean): Promise<BatchResult> {
  resetPeakRss();
  const cpu0 = cpuNow(stack!.serverPid);
  const t0 = performance.now();
  const created = await profiled(profileFile(`batch-${n}x${members}`), async () => {
    const posted = await Promise.all(Array.from({ length: n }, () => post(members)));
    await allRunning(posted.map((c) => c.name));
    return posted;
  });
  const ms = performance.now() - t0;
  const peak = peakRssMiB();
  const cpu1 = cpuNow(stack!.serverPid);
  const cpuPerCluster = {
    ours: (cpu1.ours - cpu0.ours) / n,
    children: (cpu1.children - cpu0.children) / n,
    temporal: (cpu1.temporal - cpu0.temporal) / n,
    etcd: (await etcdCpuSeconds()) / n,
  };
  const hs = await Promise.all(
    created.map(async (c) => ({ entity: await historyOf(clusterWorkflowId(c.name)), op: await historyOf(c.operationWorkflowId) })),
  );
  const history = {
    entityEvents: median(hs.map((h) => h.entity.events)),
    entityBytes: median(hs.map((h) => h.entity.bytes)),
    opEvents: median(hs.map((h) => h.op.events)),
    opBytes: median(hs.map((h) => h.op.bytes)),
  };
  const names = created.map((c) => c.name);
  if (!keep) await deleteAll(names);
  return { n, members, ms, single, peakRssMiB: peak, cpuPerCluster, history, names };
}

async function idleCpu(
  serverPid: number,
  what = 'idle',
  names: string[] = [],
): Promise<{ ours: number; temporal: number; threads: string[] }> {
  // Steady state: every cluster's first health reading (the one that fills in its certificates) is recorded.
  for (const deadline = Date.now() + 120_000; names.length && Date.now() < deadline; await sleep(1_000)) {
    const views = await Promise.all(names.map((n) => stack!.api('GET', `/v1/clusters/${n}`)));
    names = names.filter((_, i) => !views[i].body?.health?.certificates?.length);
  }
  if (names.length) throw new Error(`no health reading with certificates for ${names.join(', ')} within 120 s`);
  await sleep(10_000); // let the last workflow tasks (or the start-up) settle
  const window = async () => {
    const ours0 = process.cpuUsage();
    const threads0 = threadCpuSeconds();
    const t0 = procCpuSeconds(serverPid);
    const w0 = performance.now();
    await sleep(IDLE_S * 1000);
    const wall = (performance.now() - w0) / 1000;
    const ours = process.cpuUsage(ours0);
    const byThread = new Map<string, number>();
    for (const [id, { name, seconds }] of threadCpuSeconds()) {
      byThread.set(name, (byThread.get(name) ?? 0) + seconds - (threads0.get(id)?.seconds ?? 0));
    }
    return {
      ours: ((ours.user + ours.system) / 1e6 / wall) * 100,
      temporal: ((procCpuSeconds(serverPid) - t0) / wall) * 100,
      threads: [...byThread].filter(([, sec]) => sec > 0).map(([name, sec]) => `${name} ${((sec / wall) * 100).toFixed(1)} %`),
    };
  };
  return profiled(profileFile(what), window);
}

const LIST_CALLS = 20;

/** The list endpoint's fan-out: wall time and CPU (this process, Temporal) per call with `n` clusters. */
async function listCost(serverPid: number, n: number): Promise<{ ms: number; ours: number; temporal: number }> {
  const c0 = cpuNow(serverPid);
  const t0 = performance.now();
  for (let i = 0; i < LIST_CALLS; i++) {
    const r = await stack!.api('GET', '/v1/clusters');
    if (r.status !== 200 || r.body.clusters.length < n)
      throw new Error(`GET /v1/clusters: ${r.status}, ${r.body.clusters?.length} clusters`);
  }
  const c1 = cpuNow(serverPid);
  return {
    ms: (performance.now() - t0) / LIST_CALLS,
    ours: ((c1.ours - c0.ours) * 1000) / LIST_CALLS,
    temporal: ((c1.temporal - c0.temporal) * 1000) / LIST_CALLS,
  };
}

/** With BENCH_CPU_PROFILE=<path>.cpuprofile: <path>-<what>.cpuprofile. */
function profileFile(what: string): string | undefined {
  return process.env.BENCH_CPU_PROFILE?.replace(/(\.cpuprofile)?$/, `-${what}.cpuprofile`);
}

/** Runs `work` under the V8 profiler when `file` is set and writes the profile there (after `work`'s own measurements). */
async function profiled<T>(file: string | undefined, work: () => Promise<T>): Promise<T> {
  if (!file) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const result = await work();
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  fs.writeFileSync(file, JSON.stringify(profile));
  say(`CPU profile: ${path.resolve(file)}`);
  return result;
}

/** Nothing of the run left: no etcd, no host directory, no running workflow but the address registry. */
async function leftovers(): Promise<string[]> {
  const out: string[] = [];
  const pids = await etcdPidsUnder(root!);
  if (pids.length) out.push(`etcd pids ${pids.join(', ')}`);
  const hosts = stack!.config.hostsDir;
  const dirs = fs.existsSync(hosts) ? fs.readdirSync(hosts) : [];
  if (dirs.length) out.push(`host dirs ${dirs.join(', ')}`);
  const running: string[] = [];
  for await (const wf of stack!.client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
    if (!wf.workflowId.startsWith('etcdfleet/address-registry/')) running.push(wf.workflowId);
  }
  if (running.length) out.push(`running workflows ${running.join(', ')}`);
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bench-fleet-'));
  stack = await startBenchStack(root, say);
  say(`etcd ${VERSION}, ${TLS.tls ? 'ECDSA P-256' : 'RSA 2048'} keys, ${os.cpus().length} cores, load ${loadavg()}`);

  // What the worker and the API cost with no cluster at all (pollers, timers): the floor under the health checks.
  const floor = await idleCpu(stack.serverPid, 'floor');
  say(
    `no clusters, idle over ${IDLE_S} s: worker+API ${floor.ours.toFixed(1)} % of one core (${floor.threads.join(', ')}), ` +
      `Temporal dev server ${floor.temporal.toFixed(1)} %`,
  );

  const singles = new Map<number, number>();
  for (const members of new Set(BATCHES.map((b) => b.members))) {
    await timeOne(members); // warm-up: release cache, first workflow tasks
    const runs = [await timeOne(members), await timeOne(members), await timeOne(members)];
    singles.set(members, median(runs));
    say(`one ${members}-member cluster alone: median ${secs(singles.get(members)!)} s (${runs.map(secs).join(', ')})`);
  }

  const largest = BATCHES.filter((b) => b.members === 1).reduce((a, b) => (b.n > a.n ? b : a), BATCHES[0]);
  const results: BatchResult[] = [];
  for (const b of BATCHES) {
    const r = await batch(b.n, b.members, singles.get(b.members)!, b === largest);
    results.push(r);
    const serial = r.n * r.single;
    say(
      `${String(r.n).padStart(3)} × ${r.members}-member: all Running in ${secs(r.ms)} s, ${(r.ms / serial).toFixed(2)} × the serial ${secs(serial)} s` +
        `${r.n === 25 && r.members === 1 ? ` (goal ≤ ${GOAL_RATIO_25})` : ''}; peak RSS ${Math.round(r.peakRssMiB)} MiB; ` +
        `history per cluster: entity ${r.history.entityEvents} events / ${Math.round(r.history.entityBytes / 1024)} KiB, ` +
        `provision ${r.history.opEvents} events / ${Math.round(r.history.opBytes / 1024)} KiB`,
    );
    const c = r.cpuPerCluster;
    say(
      `      CPU per cluster while the batch ran: worker+API ${c.ours.toFixed(2)} s, its child processes ${c.children.toFixed(2)} s, ` +
        `Temporal ${c.temporal.toFixed(2)} s, etcd ${c.etcd.toFixed(2)} s (${os.cpus().length} cores × ${secs(r.ms)} s = ` +
        `${((os.cpus().length * r.ms) / 1000 / r.n).toFixed(2)} s available per cluster)`,
    );
    if (b === largest) {
      const cpu = await idleCpu(stack!.serverPid, 'idle', r.names);
      say(
        `${r.n} idle clusters over ${IDLE_S} s: worker+API ${cpu.ours.toFixed(1)} % of one core (goal < ${GOAL_IDLE_CPU} %; ${cpu.threads.join(', ')}), ` +
          `Temporal dev server ${cpu.temporal.toFixed(1)} %`,
      );
      const list = await profiled(profileFile('list'), () => listCost(stack!.serverPid, r.n));
      say(
        `GET /v1/clusters with ${r.n} clusters (${LIST_CALLS} calls, one at a time): ${list.ms.toFixed(0)} ms each; CPU per call ` +
          `worker+API ${list.ours.toFixed(1)} ms, Temporal ${list.temporal.toFixed(1)} ms`,
      );
      await deleteAll(r.names);
    }
  }
  const left = await leftovers();
  say(
    left.length ? `LEFT AFTER DELETE: ${left.join('; ')}` : 'after deleting every cluster: nothing left (processes, host dirs, workflows)',
  );
  say(`load ${loadavg()}`);
  if (left.length) process.exitCode = 1;
}

main()
  .catch((err) => {
    say(`bench:fleet failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
