// The real etcdfleet stack for benchmarks, all in this process except
// Temporal: an in-memory, headless Temporal dev server on a free port, the
// workflows bundled once, one worker and the API on a free loopback port.
// Everything it creates lives under one root directory the caller owns.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import { loadConfig, type Config } from '../../infra/config';
import { startDevServer, type DevServer } from '../../infra/temporal-server';
import { ensureTemporalCli } from '../../infra/temporal-cli';
import { FAILURE_CONVERTER_PATH, codecFor, connectClient, connectWorkerConnection, ensureSearchAttributes } from '../../worker/temporal';
import { createWorker, WORKFLOWS_PATH, type EtcdfleetWorker } from '../../worker/worker';
import { createApp } from '../../api/app';
import { apiClient, type ApiCall } from '../../test/support/api-client';
import { stopEtcdsUnder } from './procs';

export interface BenchStack {
  config: Config;
  client: Client;
  temporalAddress: string;
  /** The Temporal dev server's pid (its CPU is part of what a fleet costs). */
  serverPid: number;
  apiUrl: string;
  api: ApiCall;
  /** Rejects when the worker stops on its own (it should run until stop()). */
  workerFailed: Promise<never>;
  stop(): Promise<void>;
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop } as any;

let runtimeInstalled = false;
/** How to undo what startBenchStack started so far, newest last (also while it is still starting). */
const undo: (() => Promise<unknown>)[] = [];

/** Stops whatever startBenchStack started, even half-way (for a Ctrl-C during start-up). */
export async function stopBenchStack(): Promise<void> {
  while (undo.length) await undo.pop()!().catch(() => undefined);
}

/**
 * The end of a local bench run: its members stopped, the stack stopped, members the worker was still
 * starting stopped, and `root` removed (kept with BENCH_KEEP=1).
 */
export async function endLocalBenchRun(root: string | undefined, say: (line: string) => void): Promise<void> {
  if (root) await stopEtcdsUnder(root, 3_000).catch((e) => say(`cleanup: ${(e as Error).message}`));
  await stopBenchStack().catch((e) => say(`cleanup: stopping the stack: ${(e as Error).message}`));
  if (root) await stopEtcdsUnder(root, 3_000).catch((e) => say(`cleanup: ${(e as Error).message}`));
  if (root && process.env.BENCH_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
  else if (root) say(`kept ${root}`);
}

/**
 * Starts the stack under `root` (Temporal log, state dir with the local
 * provider's hosts). Whatever was started is stopped again when a later part
 * fails to start.
 */
export async function startBenchStack(root: string, log: (line: string) => void): Promise<BenchStack> {
  if (!runtimeInstalled) {
    // The SDK's default would shut the worker down on SIGINT by itself; the
    // benchmark's own handler stops everything in order instead.
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
    runtimeInstalled = true;
  }
  try {
    const t0 = Date.now();
    const server: DevServer = await startDevServer({
      bin: await ensureTemporalCli(),
      port: 0,
      headless: true,
      logFile: path.join(root, 'temporal.log'),
    });
    undo.push(() => server.stop());
    log(`temporal dev server on ${server.address} (${Date.now() - t0} ms)`);

    const t1 = Date.now();
    const { code } = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: quietBundlerLogger,
    });
    log(`workflows bundled (${Date.now() - t1} ms)`);

    const stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir, { recursive: true });
    const token = randomBytes(18).toString('base64url');
    const config = loadConfig({
      ...process.env,
      ETCDFLEET_STATE_DIR: stateDir,
      ETCDFLEET_HOSTS_DIR: path.join(stateDir, 'hosts'),
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      ETCDFLEET_TASK_QUEUE: `bench-${process.pid}`,
      ETCDFLEET_API_TOKEN: token,
    });

    const client = await connectClient(config);
    undo.push(() => client.connection.close());
    await ensureSearchAttributes(client.connection as Connection, config.namespace);

    const workerConnection: NativeConnection = await connectWorkerConnection(config);
    undo.push(() => workerConnection.close());
    const worker: EtcdfleetWorker = await createWorker(config, workerConnection, { code });
    const workerRun = worker.run();
    let stopping = false;
    const workerFailed = new Promise<never>((_, reject) => {
      workerRun.then(
        () => stopping || reject(new Error('the worker stopped')),
        (err) => stopping || reject(new Error(`the worker failed: ${(err as Error).message}`)),
      );
    });
    // Only observed while the benchmark waits on it; never an unhandled rejection.
    workerFailed.catch(noop);
    undo.push(async () => {
      stopping = true;
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await withTimeout(workerRun.catch(noop), 15_000);
    });

    const app = createApp({ client, taskQueue: config.taskQueue, token, codec: codecFor(config), codecOrigins: [], policy: config.policy });
    const http: Server = await new Promise((resolve, reject) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    undo.push(() => new Promise((r) => http.close(() => r(undefined))));
    const apiUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    log(`worker on task queue ${config.taskQueue}, API on ${apiUrl}`);

    const api = apiClient(apiUrl, token);

    return {
      config,
      client,
      temporalAddress: server.address,
      serverPid: server.pid,
      apiUrl,
      api,
      workerFailed,
      stop: stopBenchStack,
    };
  } catch (err) {
    await stopBenchStack();
    throw err;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(t));
}
