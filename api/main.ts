// Standalone API process (docker-compose, or beside an existing worker).
import { loadConfig } from '../infra/config';
import { logger } from '../infra/logger';
import { connectClient } from '../worker/temporal';
import { createServiceApp } from './app';
import { apiSecrets } from '../worker/secrets';

async function main() {
  const config = loadConfig();
  const { token, codecCapability } = apiSecrets(config);
  const client = await connectClient(config);
  const app = createServiceApp(config, client, { token, codecCapability });
  app.listen(config.apiPort, config.apiHost, () => logger.info({ url: `http://${config.apiHost}:${config.apiPort}` }, 'API listening'));
}

main().catch((err) => {
  logger.error({ err }, 'API failed');
  process.exit(1);
});
