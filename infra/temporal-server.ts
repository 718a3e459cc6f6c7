// Starts and stops the Temporal CLI dev server: the embedded default for
// `npm start` (persistent state) and the one server of a jest run (in memory).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES } from '../common/searchAttributes';

export interface DevServerOptions {
  bin: string;
  ip?: string;
  port: number;
  uiPort?: number;
  /** Persistent state; omitted means in memory. */
  dbFile?: string;
  codecEndpoint?: string;
  headless?: boolean;
  logFile?: string;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const ip = o.ip ?? '127.0.0.1';
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(o.port), '--log-level', 'warn'];
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (o.headless) args.push('--headless');
  else if (o.uiPort) args.push('--ui-port', String(o.uiPort));
  if (o.codecEndpoint && !o.headless) args.push('--ui-codec-endpoint', o.codecEndpoint);
  for (const k of ALL_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${k.name}=Keyword`);

  const out = o.logFile ? fs.openSync(o.logFile, 'a') : 'ignore';
  const child: ChildProcess = spawn(o.bin, args, { stdio: ['ignore', out, out] });
  const address = `${ip}:${o.port}`;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
  };

  const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`temporal dev server ${exited}${o.logFile ? ` (see ${o.logFile})` : ''}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.workflowService.describeNamespace({ namespace: 'default' });
        break;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`temporal dev server did not become ready on ${address}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { address, uiUrl: o.headless ? undefined : `http://${ip}:${o.uiPort ?? o.port + 1000}`, pid: child.pid!, stop };
}
