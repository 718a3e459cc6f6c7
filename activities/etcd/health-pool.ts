// Kept-alive etcd clients for health checks. Every cluster is checked every
// 30 s by default; a fresh client per check costs a TCP connect and a TLS
// handshake per member, which is most of a fleet's idle CPU. Here a worker
// keeps one client per endpoint and credentials between checks: a client
// whose check failed is closed at once (the next check dials afresh), and one
// unused for longer than IDLE_MS is closed by a sweep. Idle gRPC channels do
// not keep the process alive. Credentials are part of the key, so renewed
// certificates or a rotated CA get a new client.
import crypto from 'node:crypto';
import type { Etcd3 } from 'etcd3';

/** Longer than the default health interval, so a steady fleet keeps its connections. */
export const IDLE_MS = 90_000;

interface Entry {
  client: Etcd3;
  lastUsed: number;
  /** Checks using it right now: a client in use is closed only when the last of them is done. */
  users: number;
  retired?: boolean;
}

const pool = new Map<string, Entry>();
let sweeper: NodeJS.Timeout | undefined;

export interface PoolCredentials {
  rootCertificate?: Buffer;
  certChain?: Buffer;
  privateKey?: Buffer;
}

export function poolKey(endpoint: string, creds: PoolCredentials | undefined, timeoutMs: number): string {
  const h = crypto.createHash('sha256');
  for (const b of [creds?.rootCertificate, creds?.certChain, creds?.privateKey]) h.update(b ?? '').update('\0');
  return `${endpoint}|${timeoutMs}|${h.digest('hex')}`;
}

/**
 * Runs `fn` with the pooled client for `key` (made with `make` when there is none). The client
 * stays in the pool when `keep(result)` says the check went well; otherwise, and when `fn` throws, it is closed.
 */
export async function withPooledClient<T>(
  key: string,
  make: () => Etcd3,
  fn: (c: Etcd3) => Promise<T>,
  keep: (r: T) => boolean,
): Promise<T> {
  let e = pool.get(key);
  if (!e) pool.set(key, (e = { client: make(), lastUsed: Date.now(), users: 0 }));
  const entry = e;
  entry.users++;
  let ok = false;
  try {
    const r = await fn(entry.client);
    ok = keep(r);
    return r;
  } finally {
    entry.users--;
    entry.lastUsed = Date.now();
    if (!ok) discard(key, entry);
    else if (entry.retired) discard(key, entry);
    else startSweeper();
  }
}

/** Out of the pool now; closed once no check uses it. */
function discard(key: string, entry: Entry): void {
  if (pool.get(key) === entry) pool.delete(key);
  entry.retired = true;
  if (entry.users === 0) entry.client.close();
}

function startSweeper(): void {
  if (sweeper) return;
  sweeper = setInterval(() => sweep(Date.now()), IDLE_MS / 3);
  sweeper.unref();
}

/** Closes clients unused for IDLE_MS (exported for tests). */
export function sweep(now: number): void {
  for (const [key, e] of pool) if (e.users === 0 && now - e.lastUsed > IDLE_MS) discard(key, e);
  if (pool.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** Closes every pooled client (worker shutdown, tests). */
export function closeHealthClients(): void {
  for (const [key, e] of pool) discard(key, e);
  sweep(Date.now());
}

export const pooledClients = () => pool.size;
