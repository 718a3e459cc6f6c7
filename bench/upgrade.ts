// `npm run bench:upgrade`: a rolling upgrade (v3.5.10 → the latest v3.5) of a
// 3-member TLS cluster under the client workload, through etcdfleet (API →
// Temporal → worker: path check, snapshot, followers first, MoveLeader,
// leader last, gates), against bench/baseline-upgrade.sh on an identical
// cluster in the same run (stop, swap symlink, start, wait for health, member
// by member). Both clusters are provisioned by etcdfleet (not timed).
//
// Reported per side: total time, longest write/read unavailability seen by
// the workload, failed and lost requests. Goals: unavailability ≤ one
// election timeout (1000 ms), zero lost acknowledged writes, time ratio ≤ 1.5.
// Members on 127.0.80.x-127.0.89.x. BENCH_RUNS (default 3) runs per side.
// BENCH_MODE=ssh runs bench/upgrade-ssh.ts instead (test hosts, provider ssh).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../infra/config';
import { bootstrappedEtcdVersions } from '../infra/etcd-releases';
import { anyCachedRelease } from '../activities/artifacts';
import { allowedRelease } from '../activities/policy';
import { startBenchStack, stopBenchStack, type BenchStack } from './lib/stack';
import { stopEtcdsUnder } from './lib/procs';
import { activityTimes } from './lib/activities';
import { benchMode, loadavg, secs, workloadLine } from './lib/report';
import { Workload, type WorkloadReport } from '../test/support/workload';

const { default: FROM, latest35: TO } = bootstrappedEtcdVersions();
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1000;
const GOAL_RATIO = 0.8;
const RUNS = Math.max(1, Math.min(5, Number(process.env.BENCH_RUNS ?? 3) || 3));
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Result {
  ms: number;
  report: WorkloadReport;
}

async function provision(s: BenchStack, name: string, block: number): Promise<any> {
  const r = await s.api('POST', '/v1/clusters', {
    name,
    version: FROM,
    members: [1, 2, 3].map((i) => ({ name: `${name}-${i}`, address: `127.0.${block}.${i}` })),
    tunables: { heartbeatInterval: HEARTBEAT_MS, electionTimeout: ELECTION_MS },
  });
  if (r.status !== 202) throw new Error(`POST /v1/clusters ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(250)) {
    const c = (await s.api('GET', `/v1/clusters/${name}`)).body;
    if (c.phase === 'Running') return c;
    if (c.phase === 'Failed') throw new Error(`provisioning ${name} failed: ${c.reason}`);
  }
  throw new Error(`provisioning ${name} timed out`);
}

async function startWorkload(s: BenchStack, c: any): Promise<Workload> {
  const creds = (await s.api('GET', `/v1/clusters/${c.name}/credentials`)).body;
  const w = new Workload(
    c.members.map((m: any) => m.clientURL),
    creds,
  );
  w.start();
  await sleep(1000);
  return w;
}

async function ours(s: BenchStack, block: number, run: number): Promise<Result> {
  const name = `ours${run}`;
  const c = await provision(s, name, block);
  const w = await startWorkload(s, c);
  const t0 = Date.now();
  const r = await s.api('POST', `/v1/clusters/${name}/upgrade`, { version: TO });
  if (r.status !== 202) throw new Error(`upgrade: ${r.status} ${JSON.stringify(r.body)}`);
  for (;;) {
    const op = (await s.api('GET', `/v1/operations/${r.body.operationId}`)).body;
    if (op.status === 'Succeeded') {
      const t = (x?: string) => (x ? Date.parse(x) : NaN);
      say(
        `  steps: ${op.steps.map((st: any) => `${st.name} ${t(st.finishedAt) - t(st.startedAt)} ms`).join('; ')}; queued→started ${t(op.startedAt) - t0} ms`,
      );
      break;
    }
    if (op.status === 'Failed' || op.status === 'Cancelled') throw new Error(`upgrade ${op.status}: ${op.error}`);
    await sleep(100);
  }
  const ms = Date.now() - t0;
  if (process.env.BENCH_DEBUG) say(`  activities: ${await activityTimes(s.client, r.body.workflowId)}`);
  await sleep(1000);
  return { ms, report: await w.stop() };
}

async function baseline(s: BenchStack, block: number, run: number): Promise<Result> {
  const name = `base${run}`;
  const c = await provision(s, name, block);
  const w = await startWorkload(s, c);
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'sh',
      [
        path.join(REPO_ROOT, 'bench/baseline-upgrade.sh'),
        path.join(s.config.hostsDir, name),
        TO,
        anyCachedRelease(s.config.cacheDir, TO),
        ...c.members.map((m: any) => `${m.name}=${m.clientURL}`),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`baseline script exited ${code}`))));
  });
  const ms = Date.now() - t0;
  await sleep(1000);
  return { ms, report: await w.stop() };
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-bench-upgrade-'));
  say(
    `bench:upgrade: ${FROM} → ${TO}, 3 members, heartbeat ${HEARTBEAT_MS} ms, election ${ELECTION_MS} ms, ${RUNS} run(s) per side; work dir ${root}`,
  );
  const s = await startBenchStack(root, (l) => say(`  ${l}`));
  const oursR: Result[] = [];
  const baseR: Result[] = [];
  try {
    // Make sure both releases are in the cache, and verified once by this process (the worker runs in it),
    // before anything is timed: the script copies from that cache.
    for (const v of [FROM, TO]) await allowedRelease(s.config, v);
    for (let run = 0; run < RUNS; run++) {
      const a = 80 + 2 * run;
      // Alternate which side goes first.
      if (run % 2 === 0) {
        oursR.push(await ours(s, a, run));
        baseR.push(await baseline(s, a + 1, run));
      } else {
        baseR.push(await baseline(s, a + 1, run));
        oursR.push(await ours(s, a, run));
      }
      say(workloadLine(`ours #${run + 1}`, oursR.at(-1)!));
      say(workloadLine(`plain #${run + 1}`, baseR.at(-1)!));
    }
  } finally {
    await stopBenchStack();
    await stopEtcdsUnder(root).catch(() => undefined);
    if (!process.env.BENCH_KEEP) fs.rmSync(root, { recursive: true, force: true });
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const oMs = med(oursR.map((r) => r.ms));
  const bMs = med(baseR.map((r) => r.ms));
  const oUn = Math.max(...oursR.map((r) => r.report.maxUnavailableMs));
  const bUn = Math.max(...baseR.map((r) => r.report.maxUnavailableMs));
  const oLost = oursR.reduce((n, r) => n + r.report.lost.length, 0);
  const oFailed = oursR.reduce((n, r) => n + r.report.failedWrites + r.report.failedReads, 0);
  const bFailed = baseR.reduce((n, r) => n + r.report.failedWrites + r.report.failedReads, 0);
  say('');
  say(
    `time        ours ${secs(oMs)} s vs plain ${secs(bMs)} s: ratio ${(oMs / bMs).toFixed(2)} (goal ≤ ${GOAL_RATIO}) ${oMs / bMs <= GOAL_RATIO ? 'MET' : 'NOT MET'}`,
  );
  say(
    `unavailable ours ${oUn} ms vs plain ${bUn} ms: ${bUn > 0 ? `ratio ${(oUn / bUn).toFixed(2)}` : 'plain had none'} (goal ours ≤ ${ELECTION_MS} ms) ${oUn <= ELECTION_MS ? 'MET' : 'NOT MET'}`,
  );
  say(`failed      ours ${oFailed} vs plain ${bFailed} requests`);
  say(`lost        ours ${oLost} acknowledged writes (goal 0) ${oLost === 0 ? 'MET' : 'NOT MET'}`);
  say(`load        ${loadavg()}`);
}

if (benchMode() === 'ssh') void import('./upgrade-ssh');
else
  main().then(
    () => process.exit(0),
    async (err) => {
      say(`bench:upgrade failed: ${(err as Error).stack ?? err}`);
      await stopBenchStack().catch(() => undefined);
      process.exit(1);
    },
  );
