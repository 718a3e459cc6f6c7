import fs from 'node:fs';
import type { DevServer } from '../../infra/temporal-server';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as any).__etcdfleetDevServer as DevServer | undefined;
  await server?.stop();
  const dir = process.env.ETCDFLEET_TEST_DIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
