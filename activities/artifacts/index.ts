// Fetches an etcd release in the upstream layout, verifies it against the
// release's SHA256SUMS and unpacks it into the cache.
//
// Layout of a source (upstream and mirrors alike):
//   <base>/vX.Y.Z/etcd-vX.Y.Z-linux-amd64.tar.gz   (top dir etcd-vX.Y.Z-linux-amd64/)
//   <base>/vX.Y.Z/SHA256SUMS                       (`<hex>  <file>` lines)
// Cache layout, keyed by source and checksum (a release from one source is
// never served for another, nor a tarball the source's SHA256SUMS no longer names):
//   <cacheDir>/releases/vX.Y.Z/<source id>-<tarball sha256>/{release.tar.gz,etcd,etcdctl,etcdutl}
// Every fetch re-verifies the entry before it is used: the kept tarball against
// the sha256 (from the source's SHA256SUMS, read again each time while the
// source answers), the binaries against the tarball's own entries.
// Errors name the source and version, never a local file's path, existence or hash.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { parseVersion } from '../../common/release-version';
import { normalizeSource } from '../../common/policy';
import { UPSTREAM_RELEASES } from '../../infra/config';

export const RELEASE_OS_ARCH = 'linux-amd64';
/** Binaries a release must contain; etcdutl exists since 3.5 and is kept when present. */
export const REQUIRED_BINARIES = ['etcd', 'etcdctl'] as const;
export const OPTIONAL_BINARIES = ['etcdutl'] as const;
/** The verified tarball, kept in its cache entry so every later use can verify again. */
const TARBALL = 'release.tar.gz';
/** SHA256SUMS files are a few lines; anything larger is not one. */
const MAX_SUMS_BYTES = 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

export interface FetchReleaseInput {
  version: string;
  /** `github`, `file:///dir` or `http(s)://host/base` (a mirror in the upstream layout). */
  source: string;
  cacheDir: string;
  /** Base URL the `github` source is fetched from (the operator's choice; default GitHub's release downloads). */
  upstream?: string;
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
export function releaseUrls(source: string, version: string, upstream = UPSTREAM_RELEASES): { tarball: string; sums: string } {
  const v = normalizeVersion(version);
  let base: string;
  if (source === 'github') base = upstream.replace(/\/+$/, '');
  else if (/^(file|https?):\/\//.test(source)) base = source.replace(/\/+$/, '');
  else
    throw ApplicationFailure.nonRetryable(
      `unsupported artifact source "${source}": use github, file:// or http(s)://`,
      'InvalidArtifactSource',
    );
  return { tarball: `${base}/${v}/${releaseTarballName(v)}`, sums: `${base}/${v}/SHA256SUMS` };
}

/** A short, stable id of a (normalized) source, for cache paths. */
export function sourceId(source: string): string {
  return crypto.createHash('sha256').update(normalizeSource(source)).digest('hex').slice(0, 16);
}

/** The cache entry of one verified tarball of one source. */
export function releaseEntryDir(cacheDir: string, version: string, source: string, sha256: string): string {
  return path.join(cacheDir, 'releases', normalizeVersion(version), `${sourceId(source)}-${sha256}`);
}

/**
 * Some cached release of `version`, unverified: for tests and benchmarks
 * that need the etcdctl/etcdutl of a version the worker already fetched.
 * The worker itself always goes through fetchRelease.
 */
export function anyCachedRelease(cacheDir: string, version: string): string {
  const dir = path.join(cacheDir, 'releases', normalizeVersion(version));
  const entries = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((e) => !e.startsWith('.') && fs.existsSync(path.join(dir, e, 'etcd')))
    : [];
  if (!entries.length) throw new Error(`no cached release of ${version} under ${dir}`);
  return path.join(dir, entries.sort()[0]);
}

export async function fetchRelease(input: FetchReleaseInput): Promise<FetchReleaseResult> {
  const version = normalizeVersion(input.version);
  // `github` is fetched from where the operator says upstream releases are, and cached as that place.
  const named = normalizeSource(input.source);
  const source = named === 'github' && input.upstream ? normalizeSource(input.upstream) : named;
  const { tarball, sums } = releaseUrls(source, version);
  const fileName = releaseTarballName(version);
  let sumsText: string;
  try {
    sumsText = (await readSource(sums, source, version, MAX_SUMS_BYTES)).toString('utf8');
  } catch (e) {
    // The source does not answer: a release verified from this same source before still serves (verified again).
    const cached = await cachedFromSource(input.cacheDir, version, source);
    if (cached) return cached;
    throw e;
  }
  const expected = expectedSha(sumsText, fileName);
  if (!expected) {
    throw ApplicationFailure.nonRetryable(
      `the SHA256SUMS of etcd ${version} from ${source} has no line for ${fileName}`,
      'ChecksumMissing',
      { file: fileName },
    );
  }
  const binDir = releaseEntryDir(input.cacheDir, version, source, expected);
  if (await verifyEntry(binDir, version, expected)) return { binDir, sha256: expected };

  const work = path.join(input.cacheDir, 'releases', `.tmp-${version}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const out = path.join(work, 'out');
  await fsp.mkdir(out, { recursive: true });
  try {
    const kept = path.join(out, TARBALL);
    const sha256 = await obtainTarball(tarball, kept, source, version);
    if (sha256 !== expected) {
      throw ApplicationFailure.nonRetryable(
        `the tarball of etcd ${version} from ${source} does not match its SHA256SUMS`,
        'ChecksumMismatch',
        { file: fileName },
      );
    }
    const top = `etcd-${version}-${RELEASE_OS_ARCH}/`;
    const wanted = new Set<string>([...REQUIRED_BINARIES, ...OPTIONAL_BINARIES].map((b) => top + b));
    // Regular files only, and only the binaries: nothing else of the archive lands in the cache.
    await tar.x({
      file: kept,
      cwd: out,
      strip: 1,
      gzip: true,
      filter: (p, e) => wanted.has(p.replace(/^\.\//, '')) && (e as tar.ReadEntry).type === 'File',
    });
    for (const b of REQUIRED_BINARIES) {
      const st = await fsp.lstat(path.join(out, b)).catch(() => undefined);
      if (!st?.isFile()) {
        throw ApplicationFailure.nonRetryable(`${fileName} from ${source} has no ${b} binary at ${top}${b}`, 'BadReleaseArchive');
      }
    }
    await fsp.mkdir(path.dirname(binDir), { recursive: true });
    try {
      await fsp.rename(out, binDir);
    } catch (e) {
      // A concurrent fetch of the same release won the race, or an entry that
      // failed verification is in the way: keep a verified winner, replace the rest.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      if (await verifyEntry(binDir, version, expected)) return { binDir, sha256: expected };
      await fsp.rm(binDir, { recursive: true, force: true });
      await fsp.rename(out, binDir);
    }
    if (!(await verifyEntry(binDir, version, expected))) {
      throw ApplicationFailure.retryable(`etcd ${version} from ${source} changed in the cache while it was installed`, 'CacheChanged');
    }
    return { binDir, sha256: expected };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** A verified entry of this source and version when the source cannot be read (newest first). */
async function cachedFromSource(cacheDir: string, version: string, source: string): Promise<FetchReleaseResult | undefined> {
  const dir = path.join(cacheDir, 'releases', version);
  const prefix = `${sourceId(source)}-`;
  const names = (await fsp.readdir(dir).catch(() => [] as string[])).filter(
    (n) => n.startsWith(prefix) && /^[0-9a-f]{64}$/.test(n.slice(prefix.length)),
  );
  const dated = await Promise.all(
    names.map(async (n) => ({ n, t: (await fsp.stat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  for (const { n } of dated.sort((a, b) => b.t - a.t)) {
    const sha256 = n.slice(prefix.length);
    if (await verifyEntry(path.join(dir, n), version, sha256)) return { binDir: path.join(dir, n), sha256 };
  }
  return undefined;
}

/** Binary hashes per verified tarball, taken from the tarball's entries (per process: the kept tarball is re-hashed every time). */
const tarballBinaries = new Map<string, Map<string, string>>();

/**
 * True when the entry's tarball has the expected sha256 and each binary is a
 * regular file equal to the tarball's entry of that name.
 */
async function verifyEntry(binDir: string, version: string, sha256: string): Promise<boolean> {
  try {
    const kept = path.join(binDir, TARBALL);
    if ((await sha256File(kept)) !== sha256) return false;
    let want = tarballBinaries.get(sha256);
    if (!want) {
      want = await binaryHashesOf(kept, version);
      tarballBinaries.set(sha256, want);
    }
    for (const b of REQUIRED_BINARIES) if (!want.has(b)) return false;
    for (const [b, h] of want) {
      const st = await fsp.lstat(path.join(binDir, b));
      if (!st.isFile() || (await sha256File(path.join(binDir, b))) !== h) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** sha256 of each binary in a release tarball, read from the archive itself. */
async function binaryHashesOf(file: string, version: string): Promise<Map<string, string>> {
  const top = `etcd-${version}-${RELEASE_OS_ARCH}/`;
  const names = new Set<string>([...REQUIRED_BINARIES, ...OPTIONAL_BINARIES]);
  const out = new Map<string, string>();
  await tar.t({
    file,
    onReadEntry: (e) => {
      const p = e.path.replace(/^\.\//, '');
      const name = p.startsWith(top) ? p.slice(top.length) : '';
      if (e.type !== 'File' || !names.has(name)) return e.resume();
      const h = crypto.createHash('sha256');
      e.on('data', (c: Buffer) => h.update(c));
      e.on('end', () => out.set(name, h.digest('hex')));
    },
  });
  return out;
}

/**
 * Hashes this process computed, by file identity, size and modification time: a cached release
 * is hashed again when a file was replaced or written since (not on every use, which cost
 * ~0.5 s of CPU per release and call). Not ctime: the member trees hard-link the cache, and
 * every link and unlink moves it. A new worker process hashes everything on first use.
 */
const hashedFiles = new Map<string, string>();
const MAX_HASHED_FILES = 256;

const fileIdentity = (file: string, st: fs.Stats) => `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;

async function sha256File(file: string): Promise<string> {
  const id = fileIdentity(file, await fsp.stat(file));
  const known = hashedFiles.get(id);
  if (known) return known;
  const h = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  const hex = h.digest('hex');
  // Kept only when nothing changed while it was read.
  if (fileIdentity(file, await fsp.stat(file)) === id) {
    if (hashedFiles.size >= MAX_HASHED_FILES) hashedFiles.delete(hashedFiles.keys().next().value!);
    hashedFiles.set(id, hex);
  }
  return hex;
}

/** The expected hash for `fileName` in a SHA256SUMS text (`<hex>  <file>` or `<hex> *<file>`). */
export function expectedSha(sumsText: string, fileName: string): string | undefined {
  for (const line of sumsText.split('\n')) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$/.exec(line.trim());
    if (m && path.posix.basename(m[2]) === fileName) return m[1].toLowerCase();
  }
  return undefined;
}

/** Reads a small file of a source (SHA256SUMS), at most `max` bytes. */
async function readSource(url: string, source: string, version: string, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > max)
        return cb(
          ApplicationFailure.nonRetryable(
            `${path.posix.basename(url)} of etcd ${version} from ${source} is larger than ${max} bytes`,
            'BadReleaseArchive',
          ),
        );
      chunks.push(chunk);
      cb();
    },
  });
  await pipeline(await openSource(url, source, version), cap);
  return Buffer.concat(chunks);
}

/** Streams the tarball to `file`, hashing it on the way; returns the sha256 of what was written. */
async function obtainTarball(url: string, file: string, source: string, version: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  const hasher = new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  // Hash the copy that gets extracted (and kept), so what is verified is what is unpacked.
  await pipeline(await openSource(url, source, version), hasher, fs.createWriteStream(file, { mode: 0o644 }));
  return hash.digest('hex');
}

/**
 * A readable stream of a file of the source. A file:// source that cannot be
 * read is "not available", whatever the reason: an error never tells whether
 * a local path exists.
 */
async function openSource(url: string, source: string, version: string): Promise<Readable> {
  const missing = () => ApplicationFailure.nonRetryable(`etcd ${version} is not available from source ${source}`, 'ArtifactNotFound');
  if (url.startsWith('file://')) {
    // Opened or not, readable or not (a directory): one answer.
    const out = new PassThrough();
    const stream = fs.createReadStream(fileURLToPath(url));
    stream.once('error', () => out.destroy(missing()));
    return stream.pipe(out);
  }
  heartbeat(url);
  const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  if (res.status === 404 || res.status === 410) throw missing();
  if (!res.ok)
    throw new Error(
      `etcd ${version} from ${source}: HTTP ${res.status} ${res.statusText} for ${path.posix.basename(new URL(url).pathname)}`,
    );
  if (!res.body) throw new Error(`etcd ${version} from ${source}: empty body`);
  return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
}

/** Heartbeats when running as a Temporal activity; a no-op when called directly. */
function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not inside an activity */
  }
}
