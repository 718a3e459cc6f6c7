// One Temporal dev server (in memory) and one workflow bundle per jest run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer } from '../../infra/temporal-server';
import { ensureTemporalCli } from '../../infra/temporal-cli';
import { WORKFLOWS_PATH } from '../../worker/worker';
import { FAILURE_CONVERTER_PATH } from '../../worker/temporal';

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdfleet-jest-'));
  const server = await startDevServer({
    bin: await ensureTemporalCli(),
    port: 0,
    headless: true,
    logFile: path.join(dir, 'temporal.log'),
  });
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietLogger,
  });
  const bundlePath = path.join(dir, 'workflows-bundle.js');
  fs.writeFileSync(bundlePath, code);
  process.env.ETCDFLEET_TEST_TEMPORAL = server.address;
  process.env.ETCDFLEET_TEST_BUNDLE = bundlePath;
  process.env.ETCDFLEET_TEST_DIR = dir;
  (globalThis as any).__etcdfleetDevServer = server;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop } as any;
