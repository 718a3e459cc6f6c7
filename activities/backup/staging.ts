// Where a restore stages the snapshot it restores members from: a file only
// the worker reads, for minutes. In memory (/dev/shm, a 0700 directory of this
// user) when the machine has room for it and then some, so the decrypted
// snapshot is never written to disk; otherwise under the state dir.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

const SHM = '/dev/shm';
/** Memory that must stay available beside the staged snapshot: 1 GiB and a quarter of the machine's. */
const RESERVE_BYTES = 1 << 30;

function memInfo(): { total: number; available: number } | undefined {
  try {
    const text = fs.readFileSync('/proc/meminfo', 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    const total = kib('MemTotal');
    const available = kib('MemAvailable');
    return Number.isFinite(total) && Number.isFinite(available) ? { total, available } : undefined;
  } catch {
    return undefined;
  }
}

/** True when `bytes` fit in memory with the reserve left over. */
export function fitsInMemory(bytes: number, mem = memInfo()): boolean {
  return !!mem && bytes + RESERVE_BYTES + mem.total / 4 <= mem.available;
}

/** /dev/shm/etcdfleet-<uid>, 0700 and ours, or undefined (no /dev/shm, or the name is taken by something else). */
async function shmDir(): Promise<string | undefined> {
  const dir = path.join(SHM, `etcdfleet-${process.getuid?.() ?? 'user'}`);
  try {
    await fsp.mkdir(dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    const st = await fsp.lstat(dir);
    if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid()) || (st.mode & 0o077) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * The path to stage a snapshot of `bytes` (unknown: on disk) for `tag` at; its directory exists (0700).
 * The caller writes it 0600 and removes it after the restore.
 */
export async function stagedSnapshotPath(stateDir: string, tag: string, bytes?: number): Promise<string> {
  const name = `${tag.replace(/[^A-Za-z0-9._-]/g, '_')}.db`;
  const inMemory = bytes !== undefined && fitsInMemory(bytes) ? await shmDir() : undefined;
  const dir = inMemory ?? path.join(stateDir, 'restore');
  if (!inMemory) await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, name);
}
