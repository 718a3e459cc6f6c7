// Cross-process exclusive lock on a plain file: the project's one lock, used
// by the tool bootstrap so that two bootstraps started at once (say `npm start`
// and `npm test`) never build into the same cache directory together.
//
// The lock file is created with O_EXCL and holds the owner's pid, host and
// process start time. A lock whose owner is gone (a killed bootstrap, dead or
// a zombie) is stale and is broken by the next taker; the start time guards
// against a recycled pid keeping a dead lock alive forever.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';

export interface LockHolder {
  pid: number;
  host: string;
  /** /proc/<pid>/stat start time (clock ticks since boot), when /proc exists. */
  procStart?: string;
  createdAt: string;
  purpose?: string;
  /** Random per-acquisition token, so a release never removes someone else's lock. */
  token: string;
}

export interface LockOptions {
  /** Give up waiting after this long (default 30 minutes: a cold build of three etcd versions takes a few). */
  timeoutMs?: number;
  pollMs?: number;
  /** Written into the lock file so a waiter can say what it waits for. */
  purpose?: string;
  /** Called once when we start waiting for a live holder. */
  onWait?: (holder: LockHolder) => void;
}

/** Fields of /proc/<pid>/stat from the state on (field 3 overall), or undefined where /proc or the process is not there. */
function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses, so count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time of a process from /proc, or undefined where /proc is unavailable. */
export function processStartTime(pid: number): string | undefined {
  return procStatFields(pid)?.[19]; // field 22 overall: starttime
}

/**
 * Whether a process runs: not dead, and not a zombie either. A zombie (a
 * holder killed while its parent has not reaped it yet) still answers
 * kill(pid, 0) and keeps its start time, so /proc's state decides where
 * there is one.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const state = procStatFields(pid)?.[0];
  if (state !== undefined) return state !== '' && !'ZXx'.includes(state);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A holder record for process `pid` (this host, its start time, a fresh token). */
export function holderRecord(pid: number, purpose?: string): LockHolder {
  return {
    pid,
    host: os.hostname(),
    procStart: processStartTime(pid),
    createdAt: new Date().toISOString(),
    purpose,
    token: crypto.randomBytes(8).toString('hex'),
  };
}

/** True when the holder certainly no longer runs. Holders on other hosts are never judged stale. */
export function isStale(holder: LockHolder): boolean {
  if (holder.host !== os.hostname()) return false;
  if (!pidAlive(holder.pid)) return true;
  const start = processStartTime(holder.pid);
  return holder.procStart !== undefined && start !== undefined && start !== holder.procStart;
}

function readHolder(lockPath: string): LockHolder | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockHolder;
    return typeof parsed.pid === 'number' ? parsed : null;
  } catch {
    return null;
  }
}

function tryCreate(lockPath: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, JSON.stringify(holder) + '\n');
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock. Renaming first makes the break atomic: of two waiters
 * that both saw the same stale lock, only one rename succeeds; if what we moved
 * away turns out to be a fresh lock taken in between, it is put back.
 */
function breakStaleLock(lockPath: string, stale: LockHolder): void {
  const aside = `${lockPath}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(lockPath, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = readHolder(aside);
  if (moved && moved.token !== stale.token) {
    try {
      fs.linkSync(aside, lockPath); // fails harmlessly if a third process took the lock meanwhile
    } catch {
      /* the new holder keeps running; its own release will find its token gone and do nothing */
    }
  }
  fs.rmSync(aside, { force: true });
}

/** Locks held by this process, removed on exit so a clean exit never leaves one behind. */
const heldLocks = new Map<string, string>();
process.on('exit', () => {
  for (const [lockPath, token] of heldLocks) releaseIfOurs(lockPath, token);
});

function releaseIfOurs(lockPath: string, token: string): void {
  if (readHolder(lockPath)?.token === token) fs.rmSync(lockPath, { force: true });
  heldLocks.delete(lockPath);
}

/** Serialises callers inside one process, which the file lock alone would deadlock on. */
const inProcessQueues = new Map<string, Promise<unknown>>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Acquires the lock, waiting for a live holder; returns the release function. */
export async function acquireLock(lockPath: string, opts: LockOptions = {}): Promise<() => void> {
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const pollMs = opts.pollMs ?? 500;
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const me = holderRecord(process.pid, opts.purpose);
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    if (tryCreate(lockPath, me)) {
      heldLocks.set(lockPath, me.token);
      return () => releaseIfOurs(lockPath, me.token);
    }
    const holder = readHolder(lockPath);
    if (holder && isStale(holder)) {
      breakStaleLock(lockPath, holder);
      continue;
    }
    if (!holder && lockAgeMs(lockPath) > 10_000) {
      // Unreadable for a while: the creator died between create and write.
      fs.rmSync(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${lockPath}` +
          (holder ? ` (held by pid ${holder.pid} on ${holder.host}${holder.purpose ? `: ${holder.purpose}` : ''})` : ''),
      );
    }
    if (holder && !announced) {
      announced = true;
      opts.onWait?.(holder);
    }
    await sleep(pollMs);
  }
}

function lockAgeMs(lockPath: string): number {
  try {
    return Date.now() - fs.statSync(lockPath).mtimeMs;
  } catch {
    return 0;
  }
}

/** Runs fn while holding the lock at lockPath. */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const key = path.resolve(lockPath);
  const previous = inProcessQueues.get(key) ?? Promise.resolve();
  const run = previous
    .catch(() => undefined)
    .then(async () => {
      const release = await acquireLock(key, opts);
      try {
        return await fn();
      } finally {
        release();
      }
    });
  inProcessQueues.set(key, run);
  try {
    return await run;
  } finally {
    if (inProcessQueues.get(key) === run) inProcessQueues.delete(key);
  }
}
