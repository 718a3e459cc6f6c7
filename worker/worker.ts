// Worker bootstrap: every worker polls two task queues with the same workflows
// and activities. The shared queue (config.taskQueue) gets the cluster
// entities, the ssh clusters' operations and whatever runs anywhere; the
// queue of this worker's machine (`<taskQueue>@<machine>`) gets the
// operations of the local-provider clusters whose members live on this
// machine (workflows/placement.ts). Beside each, a health queue
// (`<queue>#health`) gets the clusters' standing health watches.
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { machineQueue, type Config } from '../infra/config';
import { healthQueue } from '../common/operations';
import { createActivities } from '../activities';
import { dataConverterFor, FAILURE_CONVERTER_PATH } from './temporal';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/** Health watches one worker runs at once: as many clusters as one worker serves. */
export const HEALTH_WATCH_SLOTS = 5000;
/**
 * Heartbeats reach Temporal at most this far apart (the SDK's default is 0.8 × the heartbeat timeout): a health
 * watch heartbeats once per reading and learns from that heartbeat's answer that it was cancelled.
 */
export const HEARTBEAT_THROTTLE = '1s';

/** The workers of one process: the shared queue's, the machine queue's and their health queues', run and stopped together. */
export class EtcdfleetWorker {
  constructor(private readonly workers: Worker[]) {}

  /** The task queues polled: the shared one first, then the machine's, then their health queues. */
  get taskQueues(): string[] {
    return this.workers.map((w) => w.options.taskQueue);
  }

  getState(): ReturnType<Worker['getState']> {
    return this.workers[0].getState();
  }

  /** Runs until shutdown; when one worker fails, the other is shut down and the failure is raised. */
  async run(): Promise<void> {
    const runs = this.workers.map((w) =>
      w.run().catch((err) => {
        this.shutdown();
        throw err;
      }),
    );
    await Promise.all(runs);
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }
}

export async function createWorker(
  config: Config,
  connection: NativeConnection,
  bundle?: WorkerOptions['workflowBundle'],
): Promise<EtcdfleetWorker> {
  // One bundle for both workers (bundling takes seconds).
  const workflowBundle = bundle ?? {
    code: (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH })).code,
  };
  const activities = createActivities(config);
  const create = (taskQueue: string) =>
    Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue,
      workflowBundle,
      activities,
      dataConverter: dataConverterFor(config),
      // Members are started by activities; a few at a time keeps 2-core hosts responsive.
      maxConcurrentActivityTaskExecutions: 20,
      maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
    });
  // The standing health watches: one per cluster, asleep between readings (common/operations.ts healthQueue).
  const health = (queue: string) =>
    Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue: healthQueue(queue),
      activities: { watchHealth: activities.watchHealth },
      dataConverter: dataConverterFor(config),
      maxConcurrentActivityTaskExecutions: HEALTH_WATCH_SLOTS,
      maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
    });
  const queues = [config.taskQueue, machineQueue(config)];
  return new EtcdfleetWorker([...(await Promise.all(queues.map(create))), ...(await Promise.all(queues.map(health)))]);
}
