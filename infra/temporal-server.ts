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
  /** 0: a free port, chosen again when a start fails on a port clash. */
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

/**
 * Starts the dev server and waits until it answers. A start that exits early
 * (the CLI picks its HTTP, metrics and internal service ports itself, and one
 * of them can be taken between its check and its bind on a busy machine) is
 * retried with fresh ports when the caller let us choose them (`port: 0`);
 * the error carries the tail of the server's log either way.
 */
export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const attempts = o.port === 0 ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = o.port === 0 ? await freePort(o.ip) : o.port;
    try {
      return await startOnce({ ...o, port });
    } catch (err) {
      if (!(err instanceof DevServerExited) || attempt >= attempts) throw err;
      console.warn(`${err.message}; retrying on other ports (${attempt}/${attempts})`);
    }
  }
}

class DevServerExited extends Error {}

function logTail(file: string | undefined, lines = 20): string {
  if (!file) return '';
  try {
    const tail = fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return tail ? `\n--- last lines of ${file} ---\n${tail}` : '';
  } catch {
    return '';
  }
}

async function startOnce(o: DevServerOptions): Promise<DevServer> {
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
    if (exited) throw new DevServerExited(`temporal dev server on ${address} ${exited}${logTail(o.logFile)}`);
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
        throw new Error(`temporal dev server did not become ready on ${address}: ${(err as Error).message}${logTail(o.logFile)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { address, uiUrl: o.headless ? undefined : `http://${ip}:${o.uiPort ?? o.port + 1000}`, pid: child.pid!, stop };
}
