// Standalone API process (docker-compose, or beside an existing worker).
import { apiToken, codecOrigins, loadConfig } from '../infra/config';
import { logger } from '../infra/logger';
import { codecFor, connectClient } from '../worker/temporal';
import { createApp } from './app';

async function main() {
  const config = loadConfig();
  const client = await connectClient(config);
  const app = createApp({ client, taskQueue: config.taskQueue, token: apiToken(config), codec: codecFor(config), codecOrigins: codecOrigins(), policy: config.policy });
  app.listen(config.apiPort, config.apiHost, () => logger.info({ url: `http://${config.apiHost}:${config.apiPort}` }, 'API listening'));
}

main().catch((err) => {
  logger.error({ err }, 'API failed');
  process.exit(1);
});
