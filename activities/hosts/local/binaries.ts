// Installing etcd releases on a local member host: opt/etcd/<version>/ plus
// usr/local/bin symlinks, so a rollback is a symlink swap.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ensureDir, ensureSymlink, exists } from '../files';
import type { InstallBinariesInput } from '../provider';
import { localMemberRuntime } from './layout';

export const BINARIES = ['etcd', 'etcdctl', 'etcdutl'] as const;

/**
 * Copies a release into opt/etcd/<version>/ and points usr/local/bin at it.
 * Older versions stay, so a rollback is a symlink swap; the running process
 * keeps its binary until restarted.
 */
export async function installBinaries(hostsDir: string, input: InstallBinariesInput): Promise<{ changed: boolean; version: string }> {
  const version = input.version.startsWith('v') ? input.version : `v${input.version}`;
  const rt = localMemberRuntime(hostsDir, input.cluster, input.member);
  await ensureDir(rt.optDir, 0o755);
  await ensureDir(rt.binDir, 0o755);
  const dest = path.join(rt.optDir, version);
  const available = [];
  for (const b of BINARIES) if (await exists(path.join(input.binDir, b))) available.push(b);
  if (!available.includes('etcd') || !available.includes('etcdctl')) {
    throw ApplicationFailure.nonRetryable(`${input.binDir} has no etcd/etcdctl binaries`, 'MissingBinaries');
  }

  let changed = false;
  if (!(await sameBinaries(input.binDir, dest, available))) {
    // Copy into a temp dir and rename it into place: a crash mid-copy never
    // leaves a half-written version dir that looks complete.
    const tmp = path.join(rt.optDir, `.${version}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    await fsp.mkdir(tmp, { mode: 0o755 });
    try {
      for (const b of available) await linkOrCopy(path.join(input.binDir, b), path.join(tmp, b));
      await fsp.rm(dest, { recursive: true, force: true });
      await fsp.rename(tmp, dest);
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
    changed = true;
  }
  for (const b of BINARIES) {
    const link = path.join(rt.binDir, b);
    if (available.includes(b)) {
      changed = (await ensureSymlink(path.relative(rt.binDir, path.join(dest, b)), link)) || changed;
    } else if (await exists(link)) {
      // e.g. a release without etcdutl: never leave a link to another version's tool.
      await fsp.rm(link, { force: true });
      changed = true;
    }
  }
  return { changed, version };
}

/**
 * A hard link to the verified, never-modified release cache when it is on the
 * same filesystem (an upgrade then swaps no 60 MB of binaries per member), else a copy.
 */
async function linkOrCopy(src: string, dest: string): Promise<void> {
  try {
    await fsp.link(src, dest);
  } catch (e) {
    if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    await fsp.copyFile(src, dest, fs.constants.COPYFILE_FICLONE);
    await fsp.chmod(dest, 0o755);
  }
}

async function sameBinaries(src: string, dest: string, names: string[]): Promise<boolean> {
  for (const b of names) {
    const [a, d] = await Promise.all([
      fsp.stat(path.join(src, b)).catch(() => undefined),
      fsp.stat(path.join(dest, b)).catch(() => undefined),
    ]);
    if (!a || !d || a.size !== d.size) return false;
    if (a.ino === d.ino && a.dev === d.dev) continue;
    if (!(await fileSha256(path.join(src, b))).equals(await fileSha256(path.join(dest, b)))) return false;
  }
  return true;
}

async function fileSha256(file: string): Promise<Buffer> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest();
}

/** The version usr/local/bin/etcd points at, if any. */
export async function installedVersion(hostsDir: string, cluster: string, member: string): Promise<string | undefined> {
  const rt = localMemberRuntime(hostsDir, cluster, member);
  const target = await fsp.readlink(rt.etcd).catch(() => undefined);
  return target ? /\/(v\d+\.\d+\.\d+)\/etcd$/.exec(target)?.[1] : undefined;
}
