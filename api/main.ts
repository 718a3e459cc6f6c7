// Standalone API process (docker-compose, or beside an existing worker).
import { codecOrigins, loadConfig, metricsRequireToken } from '../infra/config';
import { logger } from '../infra/logger';
import { codecFor, connectClient } from '../worker/temporal';
import { createApp } from './app';
import { apiSecrets } from '../worker/secrets';

async function main() {
  const config = loadConfig();
  const { token, codecCapability } = apiSecrets(config);
  const client = await connectClient(config);
  const app = createApp({
    client,
    taskQueue: config.taskQueue,
    token,
    codec: codecFor(config),
    codecCapability,
    codecOrigins: codecOrigins(),
    metricsRequireToken: metricsRequireToken(),
    policy: config.policy,
  });
  app.listen(config.apiPort, config.apiHost, () => logger.info({ url: `http://${config.apiHost}:${config.apiPort}` }, 'API listening'));
}

main().catch((err) => {
  logger.error({ err }, 'API failed');
  process.exit(1);
});
