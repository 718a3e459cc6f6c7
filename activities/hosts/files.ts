// Small filesystem helpers for host preparation: every write is atomic
// (temp file in the same directory, fsync, rename) and skipped when the
// content and mode are already right, so activities can be retried freely.
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** Writes `content` to `file` with `mode` unless it is already exactly that. Returns whether anything changed. */
export async function writeFileIfChanged(file: string, content: string | Buffer, mode: number): Promise<boolean> {
  const want = typeof content === 'string' ? Buffer.from(content) : content;
  const have = await fsp.readFile(file).catch(() => undefined);
  if (have && have.equals(want)) {
    const st = await fsp.stat(file);
    if ((st.mode & 0o7777) === mode) return false;
    await fsp.chmod(file, mode);
    return true;
  }
  await atomicWrite(file, want, mode);
  return true;
}

export async function atomicWrite(file: string, content: Buffer | string, mode: number): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(content);
    // open() applies the umask; the mode must be exact (keys 0600, scripts 0755).
    await fh.chmod(mode);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** Creates `dir` (and parents) and makes sure `dir` itself has `mode`. Returns whether anything changed. */
export async function ensureDir(dir: string, mode: number): Promise<boolean> {
  const st = await fsp.stat(dir).catch(() => undefined);
  if (!st) {
    await fsp.mkdir(dir, { recursive: true, mode });
    await fsp.chmod(dir, mode);
    return true;
  }
  if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  if ((st.mode & 0o7777) !== mode) {
    await fsp.chmod(dir, mode);
    return true;
  }
  return false;
}

/** Points `link` at `target` (a relative or absolute path) atomically. Returns whether it changed. */
export async function ensureSymlink(target: string, link: string): Promise<boolean> {
  const cur = await fsp.readlink(link).catch(() => undefined);
  if (cur === target) return false;
  const tmp = path.join(path.dirname(link), `.${path.basename(link)}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  await fsp.symlink(target, tmp);
  try {
    // rename(2) replaces the old link in one step: there is never a moment without a binary.
    await fsp.rename(tmp, link);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return true;
}

/** Removes a directory if it is empty; ignores missing or non-empty directories. */
export async function rmdirIfEmpty(dir: string): Promise<boolean> {
  try {
    await fsp.rmdir(dir);
    return true;
  } catch {
    return false;
  }
}

export async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(
    () => true,
    () => false,
  );
}

/** Single-quotes a string for POSIX sh (and systemd EnvironmentFile). */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
