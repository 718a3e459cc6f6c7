// Fetches an etcd release in the upstream layout, verifies it against the
// release's SHA256SUMS and unpacks it into the cache, once per version.
//
// Layout of a source (upstream and mirrors alike):
//   <base>/vX.Y.Z/etcd-vX.Y.Z-linux-amd64.tar.gz   (top dir etcd-vX.Y.Z-linux-amd64/)
//   <base>/vX.Y.Z/SHA256SUMS                       (`<hex>  <file>` lines)
// Cache layout:
//   <cacheDir>/releases/vX.Y.Z/{etcd,etcdctl,etcdutl,.sha256}
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { parseVersion } from '../../common/spec';

export const RELEASE_OS_ARCH = 'linux-amd64';
const UPSTREAM_BASE = 'https://github.com/etcd-io/etcd/releases/download';
/** Binaries a release must contain; etcdutl exists since 3.5 and is kept when present. */
export const REQUIRED_BINARIES = ['etcd', 'etcdctl'] as const;
export const OPTIONAL_BINARIES = ['etcdutl'] as const;
const MARKER = '.sha256';
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

export interface FetchReleaseInput {
  version: string;
  /** `github`, `file:///dir` or `http(s)://host/base` (a mirror in the upstream layout). */
  source: string;
  cacheDir: string;
}
export interface FetchReleaseResult {
  /** Directory holding etcd, etcdctl (and etcdutl) of this version. */
  binDir: string;
  /** SHA-256 of the verified tarball (hex). */
  sha256: string;
}

export function normalizeVersion(version: string): string {
  if (!parseVersion(version)) {
    throw ApplicationFailure.nonRetryable(`invalid etcd version "${version}"`, 'InvalidEtcdVersion');
  }
  return version.startsWith('v') ? version : `v${version}`;
}

export function releaseTarballName(version: string): string {
  return `etcd-${normalizeVersion(version)}-${RELEASE_OS_ARCH}.tar.gz`;
}

/** URLs of a release's tarball and checksum list for a source. */
export function releaseUrls(source: string, version: string): { tarball: string; sums: string } {
  const v = normalizeVersion(version);
  let base: string;
  if (source === 'github') base = UPSTREAM_BASE;
  else if (/^(file|https?):\/\//.test(source)) base = source.replace(/\/+$/, '');
  else throw ApplicationFailure.nonRetryable(`unsupported artifact source "${source}": use github, file:// or http(s)://`, 'InvalidArtifactSource');
  return { tarball: `${base}/${v}/${releaseTarballName(v)}`, sums: `${base}/${v}/SHA256SUMS` };
}

export function releaseDir(cacheDir: string, version: string): string {
  return path.join(cacheDir, 'releases', normalizeVersion(version));
}

export async function fetchRelease(input: FetchReleaseInput): Promise<FetchReleaseResult> {
  const version = normalizeVersion(input.version);
  const binDir = releaseDir(input.cacheDir, version);
  const cached = await readCached(binDir);
  if (cached) return { binDir, sha256: cached };

  const { tarball, sums } = releaseUrls(input.source, version);
  const fileName = releaseTarballName(version);
  const sumsText = (await readSource(sums)).toString('utf8');
  const expected = expectedSha(sumsText, fileName);

  const work = path.join(input.cacheDir, 'releases', `.tmp-${version}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  await fsp.mkdir(work, { recursive: true });
  try {
    const { file: tarPath, sha256 } = await obtainTarball(tarball, work);
    if (!expected) {
      throw ApplicationFailure.nonRetryable(
        `${sums} has no line for ${fileName} (tarball sha256 ${sha256}, expected: none)`,
        'ChecksumMissing',
        { file: fileName, actual: sha256, expected: null },
      );
    }
    if (sha256 !== expected) {
      throw ApplicationFailure.nonRetryable(
        `checksum mismatch for ${tarball}: sha256 ${sha256}, SHA256SUMS says ${expected}`,
        'ChecksumMismatch',
        { file: fileName, actual: sha256, expected },
      );
    }
    const out = path.join(work, 'out');
    await fsp.mkdir(out);
    await tar.x({ file: tarPath, cwd: out, strip: 1, gzip: true });
    for (const b of REQUIRED_BINARIES) {
      const st = await fsp.stat(path.join(out, b)).catch(() => undefined);
      if (!st?.isFile()) {
        throw ApplicationFailure.nonRetryable(`${fileName} has no ${b} binary at etcd-${version}-${RELEASE_OS_ARCH}/${b}`, 'BadReleaseArchive');
      }
    }
    // The marker goes in last, before the rename: a release dir without it is never trusted.
    await fsp.writeFile(path.join(out, MARKER), `${sha256}\n`);
    await fsp.mkdir(path.dirname(binDir), { recursive: true });
    try {
      await fsp.rename(out, binDir);
    } catch (e) {
      // A concurrent fetch of the same version won the race, or a broken
      // leftover (no marker) is in the way: replace the leftover, keep a winner.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      const winner = await readCached(binDir);
      if (winner) return { binDir, sha256: winner };
      await fsp.rm(binDir, { recursive: true, force: true });
      await fsp.rename(out, binDir);
    }
    return { binDir, sha256 };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function readCached(binDir: string): Promise<string | undefined> {
  try {
    const sha = (await fsp.readFile(path.join(binDir, MARKER), 'utf8')).trim();
    for (const b of REQUIRED_BINARIES) {
      const st = await fsp.stat(path.join(binDir, b));
      if (!st.isFile()) return undefined;
    }
    return /^[0-9a-f]{64}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

/** The expected hash for `fileName` in a SHA256SUMS text (`<hex>  <file>` or `<hex> *<file>`). */
export function expectedSha(sumsText: string, fileName: string): string | undefined {
  for (const line of sumsText.split('\n')) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$/.exec(line.trim());
    if (m && path.posix.basename(m[2]) === fileName) return m[1].toLowerCase();
  }
  return undefined;
}

async function readSource(url: string): Promise<Buffer> {
  if (url.startsWith('file://')) {
    try {
      return await fsp.readFile(fileURLToPath(url));
    } catch (e) {
      throw notFoundOr(e, url);
    }
  }
  const res = await httpGet(url);
  return Buffer.from(await res.arrayBuffer());
}

/** Streams the tarball to `<work>/<name>`, hashing it on the way. */
async function obtainTarball(url: string, work: string): Promise<{ file: string; sha256: string }> {
  const hash = crypto.createHash('sha256');
  const hasher = new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  // Hash the copy that gets extracted, so what is verified is what is unpacked.
  const file = path.join(work, path.posix.basename(new URL(url).pathname));
  if (url.startsWith('file://')) {
    try {
      await pipeline(fs.createReadStream(fileURLToPath(url)), hasher, fs.createWriteStream(file));
    } catch (e) {
      throw notFoundOr(e, url);
    }
    return { file, sha256: hash.digest('hex') };
  }
  const res = await httpGet(url);
  if (!res.body) throw new Error(`GET ${url}: empty body`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), hasher, fs.createWriteStream(file));
  return { file, sha256: hash.digest('hex') };
}

async function httpGet(url: string): Promise<Response> {
  heartbeat(url);
  const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  if (res.status === 404 || res.status === 410) {
    throw ApplicationFailure.nonRetryable(`GET ${url}: ${res.status} (no such release or file)`, 'ArtifactNotFound');
  }
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${res.statusText}`);
  return res;
}

function notFoundOr(e: unknown, url: string): unknown {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
    return ApplicationFailure.nonRetryable(`${url} does not exist`, 'ArtifactNotFound');
  }
  return e;
}

/** Heartbeats when running as a Temporal activity; a no-op when called directly. */
function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not inside an activity */
  }
}
