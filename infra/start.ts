// `npm start`: the Temporal dev server (unless TEMPORAL_ADDRESS is set), the
// worker and the API in one process group; Ctrl-C stops them cleanly. etcd
// members are separate processes and keep running.
import fs from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import type { Connection } from '@temporalio/client';
import { loadConfig } from './config';
import { banner } from './banner';
import { logger } from './logger';
import { startDevServer, type DevServer } from './temporal-server';
import { ensureTemporalCli } from './temporal-cli';
import { connectClient, connectWorkerConnection, ensureSearchAttributes } from '../worker/temporal';
import { createWorker } from '../worker/worker';
import { createServiceApp } from '../api/app';
import { apiSecrets, checkWorkerSecrets } from '../worker/secrets';

const UI_PORT = Number(process.env.TEMPORAL_UI_PORT ?? 8233);

async function main() {
  const external = Boolean(process.env.TEMPORAL_ADDRESS);
  const config = loadConfig();
  fs.mkdirSync(config.stateDir, { recursive: true });
  // Secrets first: an empty or short one stops the start here, with its name.
  const { token, codecCapability } = apiSecrets(config);
  checkWorkerSecrets(config);
  // The UI's codec URL carries the capability (api/codec.ts): the UI can decode, a script that only forges an Origin cannot.
  const codecEndpoint = `http://${config.apiHost === '0.0.0.0' ? '127.0.0.1' : config.apiHost}:${config.apiPort}/codec/${codecCapability}`;

  let devServer: DevServer | undefined;
  if (!external) {
    const [, port] = config.temporalAddress.split(':');
    devServer = await startDevServer({
      bin: await ensureTemporalCli(),
      port: Number(port),
      uiPort: UI_PORT,
      dbFile: path.join(config.stateDir, 'temporal.db'),
      codecEndpoint,
      logFile: path.join(config.stateDir, 'temporal.log'),
    }).catch((err) => {
      throw new Error(
        `${err.message}\nIs another Temporal already on ${config.temporalAddress}? Point at it with TEMPORAL_ADDRESS=${config.temporalAddress}.`,
      );
    });
  }

  const client = await connectClient(config);
  await ensureSearchAttributes(client.connection as Connection, config.namespace);
  const worker = await createWorker(config, await connectWorkerConnection(config));
  const workerRun = worker.run();

  const app = createServiceApp(config, client, { token, codecCapability });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.apiPort, config.apiHost, () => resolve(s));
    s.once('error', reject);
  });

  const api = `http://${config.apiHost}:${config.apiPort}`;
  process.stdout.write(
    banner({ api, config, external, ui: devServer?.uiUrl ?? '(your Temporal UI)', token, tty: process.stdout.isTTY === true }),
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    server.close();
    worker.shutdown();
    await workerRun.catch(() => undefined);
    await client.connection.close();
    await devServer?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  await workerRun;
}

main().catch((err) => {
  logger.error({ err: err.message }, 'etcdfleet failed to start');
  process.exit(1);
});
