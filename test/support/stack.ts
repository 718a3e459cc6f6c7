// The real stack for integration tests: a worker and the API in this process
// (or the worker as a child process, to SIGKILL it), against the jest run's
// Temporal dev server; members on the test's own 127.0.x.y addresses.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client, Connection } from '@temporalio/client';
import { loadConfig, type Config, REPO_ROOT } from '../../infra/config';
import { codecFor, connectClient, connectWorkerConnection, ensureSearchAttributes } from '../../worker/temporal';
import { createWorker, type EtcdfleetWorker } from '../../worker/worker';
import { createApp } from '../../api/app';
import { apiClient, waitForPhase as waitForPhaseOf, type ApiCall } from './api-client';
import { statIsAlive } from '../../activities/hosts/proc';
import { Workload } from './workload';

const run = promisify(execFile);
export const TOKEN = 'test-token';

export interface Stack {
  config: Config;
  client: Client;
  api: ApiCall;
  /** The API's base URL (http://127.0.0.1:<port>). */
  base: string;
  /** Runs the worker as a separate process (so a test can SIGKILL it). */
  spawnWorker(): ChildProcess;
  startInProcessWorker(): Promise<void>;
  stopInProcessWorker(): Promise<void>;
  waitForPhase(name: string, phases: string[], timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

/**
 * `env` adds service configuration, e.g. the allowlists a test needs beyond the
 * defaults (ETCDFLEET_S3_ENDPOINTS for its S3 server, ETCDFLEET_ARTIFACT_SOURCES
 * for its own mirror): the API and the worker (in process or spawned) share it.
 */
export async function startStack(opts: { label: string; inProcessWorker?: boolean; env?: Record<string, string> }): Promise<Stack> {
  const address = process.env.ETCDFLEET_TEST_TEMPORAL;
  const bundle = process.env.ETCDFLEET_TEST_BUNDLE;
  if (!address || !bundle)
    throw new Error('integration tests need the jest globalSetup (run through npm test or jest --selectProjects integration)');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `etcdfleet-${opts.label}-`));
  const env = {
    ...process.env,
    ETCDFLEET_STATE_DIR: stateDir,
    TEMPORAL_ADDRESS: address,
    ETCDFLEET_TASK_QUEUE: `test-${opts.label}-${process.pid}`,
    ETCDFLEET_API_TOKEN: TOKEN,
    // No keys made ahead in the background of other tests' steps (test/unit/key-pool.test.ts covers the pool).
    ETCDFLEET_KEY_POOL: '0',
    ...opts.env,
  };
  const config = loadConfig(env);
  const client = await connectClient(config);
  await ensureSearchAttributes(client.connection as Connection, config.namespace);

  let worker: EtcdfleetWorker | undefined;
  let workerRun: Promise<void> | undefined;
  const children: ChildProcess[] = [];

  const startInProcessWorker = async () => {
    const w = await createWorker(config, await connectWorkerConnection(config), { codePath: bundle });
    worker = w;
    workerRun = w.run();
  };
  const stopInProcessWorker = async () => {
    if (!worker) return;
    worker.shutdown();
    await workerRun;
    worker = undefined;
  };
  if (opts.inProcessWorker !== false) await startInProcessWorker();

  const app = createApp({
    client,
    taskQueue: config.taskQueue,
    token: TOKEN,
    codec: codecFor(config),
    codecOrigins: [],
    policy: config.policy,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const api = apiClient(base, TOKEN);

  const waitForPhase: Stack['waitForPhase'] = (name, phases, timeoutMs) => waitForPhaseOf(api, name, phases, timeoutMs);

  const spawnWorker = () => {
    // node itself with tsx's loader, not the tsx CLI: that would be a wrapper
    // process, and SIGKILL must hit the worker.
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...env, ETCDFLEET_WORKFLOW_BUNDLE: bundle, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(child);
    return child;
  };

  const stop = async () => {
    await Workload.stopAll();
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await stopInProcessWorker().catch(() => undefined);
    await new Promise((r) => server.close(() => r(undefined)));
    // Cluster workflow ids are per namespace: a cluster left running would hold its name for the later files of the run.
    await terminateWorkflowsOf(client, config.taskQueue).catch(() => undefined);
    await client.connection.close();
    await killMembers(config.hostsDir);
    fs.rmSync(stateDir, { recursive: true, force: true });
  };

  return { config, client, api, base, spawnWorker, startInProcessWorker, stopInProcessWorker, waitForPhase, stop };
}

/** Ends every workflow still running on `taskQueue` and deletes the schedules that start workflows there. */
async function terminateWorkflowsOf(client: Client, taskQueue: string): Promise<void> {
  const q = taskQueue.replaceAll("'", "''");
  for await (const s of client.schedule.list()) {
    const d = await client.schedule.getHandle(s.scheduleId).describe();
    if (d.action.type === 'startWorkflow' && d.action.taskQueue === taskQueue) await client.schedule.getHandle(s.scheduleId).delete();
  }
  for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${q}'` })) {
    await client.workflow
      .getHandle(wf.workflowId, wf.runId)
      .terminate('the test stack stopped')
      .catch(() => undefined);
  }
}

/** Kills every etcd a test left under a hosts dir (by pidfile). */
export async function killMembers(hostsDir: string): Promise<void> {
  if (!fs.existsSync(hostsDir)) return;
  for (const pid of memberPids(hostsDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function memberPids(hostsDir: string): number[] {
  const pids: number[] = [];
  if (!fs.existsSync(hostsDir)) return pids;
  for (const cluster of fs.readdirSync(hostsDir)) {
    const cdir = path.join(hostsDir, cluster);
    if (!fs.statSync(cdir).isDirectory()) continue;
    for (const member of fs.readdirSync(cdir)) {
      const pidfile = path.join(cdir, member, 'run/etcd.pid');
      if (fs.existsSync(pidfile)) {
        const pid = Number(fs.readFileSync(pidfile, 'utf8').trim());
        if (pid > 0 && alive(pid)) pids.push(pid);
      }
    }
  }
  return pids;
}

/** Alive and not a zombie: a member orphaned by an exited launcher can linger as one until init reaps it. */
export function alive(pid: number): boolean {
  try {
    return statIsAlive(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Runs the real etcdctl with a member's certificates. */
export async function etcdctl(binDir: string, endpoints: string[], certsDir: string, ...args: string[]) {
  const { stdout } = await run(path.join(binDir, 'etcdctl'), [
    `--endpoints=${endpoints.join(',')}`,
    `--cacert=${certsDir}/ca.pem`,
    `--cert=${certsDir}/admin.pem`,
    `--key=${certsDir}/admin-key.pem`,
    '--command-timeout=10s',
    ...args,
  ]);
  return stdout;
}

/** `count` loopback addresses in the test's own block: 127.0.<block>.1.. */
export function loopback(block: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.${block}.${i + 1}`);
}

/** A v3.5.10 spec with members `<name>-1..n` on `addresses` and fast elections, for tests. */
export function fastSpec(name: string, addresses: string[], extra: Record<string, unknown> = {}) {
  return {
    name,
    version: 'v3.5.10',
    members: addresses.map((address, i) => ({ name: `${name}-${i + 1}`, address })),
    tunables: { heartbeatInterval: 50, electionTimeout: 500 },
    ...extra,
  };
}
