// The real workflows against stub activities, on a Temporal dev server of
// their own (@temporalio/testing, the project's Temporal CLI): no etcd, no
// hosts. The server suggests continue-as-new after a few events, so an idle
// entity continues-as-new within seconds and tests (and the recorded replay
// histories) exercise it.
import { Client, WithStartWorkflowOperation } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { clusterWorkflowId, healthQueue } from '../../common/operations';
import { ClusterSpec } from '../../common/spec';
import { ensureTemporalCli } from '../../infra/temporal-cli';
import { FAILURE_CONVERTER_PATH, ensureSearchAttributes } from '../../worker/temporal';
import { HEALTH_WATCH_SLOTS, HEARTBEAT_THROTTLE, WORKFLOWS_PATH } from '../../worker/worker';
import { stubActivities, stubMachineQueue } from './stub-activities';
import { clusterWorkflow } from '../../workflows/cluster';
import { clusterQuery, createClusterUpdate, deleteClusterUpdate, type ClusterView } from '../../workflows/definitions';

/** History length after which the server suggests continue-as-new (default: thousands). */
export const SUGGEST_CONTINUE_AS_NEW_AFTER = 60;

export interface WorkflowEnv {
  env: TestWorkflowEnvironment;
  client: Client;
  taskQueue: string;
  /** Creates a cluster straight through the entity's update-with-start. */
  create(spec: ClusterSpec): Promise<{ operationId: string; workflowId: string; created: boolean }>;
  until(name: string, ok: (v: ClusterView) => boolean, timeoutMs?: number): Promise<ClusterView>;
  /** Deletes through the entity and waits for the entity to end. */
  deleteAndWait(name: string, purge?: boolean): Promise<void>;
  stop(): Promise<void>;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop } as any;

export interface WorkflowEnvOptions {
  /** History length after which the server suggests continue-as-new (default SUGGEST_CONTINUE_AS_NEW_AFTER). */
  suggestContinueAsNewAfter?: number;
  /** History length at which the server terminates a workflow (Temporal's default: 51,200 events). */
  historyCountLimit?: number;
}

export async function startWorkflowEnv(
  activities: Record<string, unknown>,
  label: string,
  opts: WorkflowEnvOptions = {},
): Promise<WorkflowEnv> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    /* already installed in this process */
  }
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: await ensureTemporalCli() },
      extraArgs: [
        '--dynamic-config-value',
        `limit.historyCount.suggestContinueAsNew=${opts.suggestContinueAsNewAfter ?? SUGGEST_CONTINUE_AS_NEW_AFTER}`,
        ...(opts.historyCountLimit ? ['--dynamic-config-value', `limit.historyCount.error=${opts.historyCountLimit}`] : []),
      ],
    },
    client: { dataConverter: { failureConverterPath: FAILURE_CONVERTER_PATH } },
  });
  await ensureSearchAttributes(env.connection, 'default');
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietLogger,
  });
  const taskQueue = `test-${label}`;
  // As in production, the worker also polls its machine's queue (the stub workerMachine names it) and the health
  // queues beside both (worker/worker.ts).
  const queues = [taskQueue, stubMachineQueue(taskQueue)];
  const workers = await Promise.all([
    ...queues.map((q) =>
      Worker.create({
        connection: env.nativeConnection,
        taskQueue: q,
        workflowBundle: { code },
        dataConverter: { failureConverterPath: FAILURE_CONVERTER_PATH },
        activities,
        maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
      }),
    ),
    ...queues.map((q) =>
      Worker.create({
        connection: env.nativeConnection,
        taskQueue: healthQueue(q),
        dataConverter: { failureConverterPath: FAILURE_CONVERTER_PATH },
        activities: { watchHealth: activities.watchHealth as (input: unknown) => Promise<unknown> },
        maxConcurrentActivityTaskExecutions: HEALTH_WATCH_SLOTS,
        maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
      }),
    ),
  ]);
  const running = Promise.all(workers.map((wk) => wk.run()));
  const client = env.client;
  const stop = async () => {
    for (const wk of workers) wk.shutdown();
    await running;
    await env.teardown();
  };
  return { env, client, taskQueue, ...entityHelpers(client, taskQueue), stop };
}

export type EntityHelpers = Pick<WorkflowEnv, 'create' | 'until' | 'deleteAndWait'>;

/** Create, poll and delete cluster entities straight through Temporal (no API in between). */
export function entityHelpers(client: Client, taskQueue: string): EntityHelpers {
  const create: WorkflowEnv['create'] = (s) =>
    client.workflow.executeUpdateWithStart(createClusterUpdate, {
      args: [{ spec: s, fingerprint: `fp-${s.name}` }],
      startWorkflowOperation: new WithStartWorkflowOperation(clusterWorkflow, {
        workflowId: clusterWorkflowId(s.name),
        taskQueue,
        args: [{ name: s.name }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });

  const until: WorkflowEnv['until'] = async (name, ok, timeoutMs = 30_000) => {
    const h = client.workflow.getHandle(clusterWorkflowId(name));
    const deadline = Date.now() + timeoutMs;
    let last: ClusterView | undefined;
    while (Date.now() < deadline) {
      last = await h.query(clusterQuery).catch(() => undefined); // mid continue-as-new: ask again
      if (last && ok(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `timed out; last view: ${JSON.stringify({ phase: last?.phase, current: last?.current, queue: last?.queue, operations: last?.operations })}`,
    );
  };

  const deleteAndWait: WorkflowEnv['deleteAndWait'] = async (name, purge = false) => {
    const h = client.workflow.getHandle(clusterWorkflowId(name));
    await client.withDeadline(Date.now() + 20_000, () => h.executeUpdate(deleteClusterUpdate, { args: [{ purge }] }));
    await Promise.race([h.result(), new Promise((_, reject) => setTimeout(() => reject(new Error('delete did not finish')), 30_000))]);
  };
  return { create, until, deleteAndWait };
}

/** A one-member spec (no etcd runs: the activities are stubs). */
export function stubSpec(name: string, extra: Record<string, unknown> = {}): ClusterSpec {
  return ClusterSpec.parse({ name, members: [{ name: 'm1', address: '127.0.99.2' }], ...extra });
}

/**
 * A test file's stub activities and workflow environment: started before its tests, stopped after them, and
 * every override an individual test set dropped after it. `suite.w` exists once the tests run.
 */
export function stubWorkflowSuite(label: string): { stubs: ReturnType<typeof stubActivities>; readonly w: WorkflowEnv } {
  const stubs = stubActivities();
  let env: WorkflowEnv | undefined;
  beforeAll(async () => {
    env = await startWorkflowEnv(stubs.activities, `${label}-${process.pid}`);
  });
  afterAll(async () => {
    await env?.stop();
  });
  afterEach(() => {
    for (const k of Object.keys(stubs.overrides)) delete stubs.overrides[k];
  });
  return {
    stubs,
    get w() {
      if (!env) throw new Error(`the ${label} workflow environment is not started`);
      return env;
    },
  };
}
