// Worker bootstrap: one task queue for the cluster workflows and activities.
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Config } from '../infra/config';
import { createActivities } from '../activities';
import { dataConverterFor } from './temporal';

export const WORKFLOWS_PATH = require.resolve('../workflows');

export async function createWorker(
  config: Config,
  connection: NativeConnection,
  bundle?: WorkerOptions['workflowBundle'],
): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    ...(bundle ? { workflowBundle: bundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(config),
    dataConverter: dataConverterFor(config),
    // Members are started by activities; a few at a time keeps 2-core hosts responsive.
    maxConcurrentActivityTaskExecutions: 20,
  });
}
