// Standalone worker process (`npm run worker`, docker-compose, or beside an existing Temporal):
// any number of them share one Temporal, each polling the shared task queue and its machine's.
import type { Connection } from '@temporalio/client';
import { loadConfig } from '../infra/config';
import { connectWorkerConnection, connectClient, ensureSearchAttributes } from './temporal';
import { createWorker } from './worker';
import { checkWorkerSecrets } from './secrets';
import { logger } from '../infra/logger';

async function main() {
  const config = loadConfig();
  checkWorkerSecrets(config);
  const client = await connectClient(config);
  await ensureSearchAttributes(client.connection as Connection, config.namespace);
  // A prebuilt bundle (tests) skips bundling the workflow code at start.
  const bundlePath = process.env.ETCDFLEET_WORKFLOW_BUNDLE;
  const worker = await createWorker(config, await connectWorkerConnection(config), bundlePath ? { codePath: bundlePath } : undefined);
  logger.info({ taskQueues: worker.taskQueues, temporal: config.temporalAddress }, 'worker started');
  await worker.run();
  await client.connection.close();
}

main().catch((err) => {
  logger.error({ err }, 'worker failed');
  process.exit(1);
});
