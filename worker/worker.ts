// Worker bootstrap: every worker polls two task queues with the same workflows
// and activities. The shared queue (config.taskQueue) gets the cluster
// entities, the ssh clusters' operations and whatever runs anywhere; the
// queue of this worker's machine (`<taskQueue>@<machine>`) gets the
// operations of the local-provider clusters whose members live on this
// machine (workflows/placement.ts).
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { machineQueue, type Config } from '../infra/config';
import { createActivities } from '../activities';
import { dataConverterFor, FAILURE_CONVERTER_PATH } from './temporal';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/** The workers of one process: the shared queue's and the machine queue's, run and stopped together. */
export class EtcdfleetWorker {
  constructor(private readonly workers: Worker[]) {}

  /** The task queues polled: the shared one first, then the machine's. */
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
    });
  return new EtcdfleetWorker([await create(config.taskQueue), await create(machineQueue(config))]);
}
