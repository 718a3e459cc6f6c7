// etcd releases for offline use (see index.ts): the mirror's layout, its
// tarballs and their SHA256SUMS.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';
import * as tar from 'tar';
import { cacheDir, localMirrorDir } from '../config';
import { compareVersions, isTaggedRelease, normalizeVersion } from '../../common/release-version';

export const ETCD_SERVER_MODULE = 'go.etcd.io/etcd/server/v3';
/** Modules whose root `main` package becomes bin/<name>. */
export const ETCD_MAINS = [
  { bin: 'etcd', module: 'go.etcd.io/etcd/server/v3' },
  { bin: 'etcdctl', module: 'go.etcd.io/etcd/etcdctl/v3' },
  { bin: 'etcdutl', module: 'go.etcd.io/etcd/etcdutl/v3' },
] as const;
export const RELEASE_BINARIES = ETCD_MAINS.map((m) => m.bin);

// ---------------------------------------------------------------------------
// Mirror layout

/** Upstream's platform suffix for this machine, e.g. `linux-amd64`. */
export function hostPlatform(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch];
  if (!arch) throw new Error(`no etcd release platform for architecture ${process.arch}`);
  return `${process.platform}-${arch}`;
}

/** `etcd-v3.5.10-linux-amd64`: the tarball's base name and its single top directory. */
export function releaseName(version: string, platform = hostPlatform()): string {
  return `etcd-${normalizeVersion(version)}-${platform}`;
}

export function releaseTarball(version: string, env = process.env): string {
  const v = normalizeVersion(version);
  return path.join(localMirrorDir(env), v, `${releaseName(v)}.tar.gz`);
}

export function releaseSumsFile(version: string, env = process.env): string {
  return path.join(localMirrorDir(env), normalizeVersion(version), 'SHA256SUMS');
}

/** Extracted release binaries (etcd, etcdctl, etcdutl) for tests: the very bits of the mirror tarball. */
export function releaseBinDir(version: string, env = process.env): string {
  return path.join(cacheDir(env), 'bin', normalizeVersion(version));
}

export function mirrorUrl(env = process.env): string {
  return pathToFileURL(localMirrorDir(env)).href;
}

/** Versions whose tarball and SHA256SUMS are present in the mirror (checksums not recomputed), oldest first. */
export function listMirrorVersions(env = process.env): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(localMirrorDir(env));
  } catch {
    return [];
  }
  return entries
    .filter((v) => isTaggedRelease(v) && fs.existsSync(releaseTarball(v, env)) && fs.existsSync(releaseSumsFile(v, env)))
    .sort(compareVersions);
}

// ---------------------------------------------------------------------------
// Checksums and tarballs

export interface SumEntry {
  sha256: string;
  file: string;
}

/** Upstream's SHA256SUMS format: `<hex>  <file>` per line (sha256sum's text mode). */
export function formatSha256Sums(entries: readonly SumEntry[]): string {
  return entries.map((e) => `${e.sha256}  ${e.file}\n`).join('');
}

/** file -> sha256 hex. Accepts sha256sum's binary-mode marker (`<hex> *<file>`). */
export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trimEnd());
    if (m) sums.set(m[2], m[1].toLowerCase());
  }
  return sums;
}

export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes via a temp file and rename, so readers see the old file or the whole new one, never a part. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tmpName(file);
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function tmpName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
}

/**
 * Packs the binaries in binDir into `<outDir>/<name>.tar.gz` with the single
 * top directory `<name>/`, every entry mode 0755, and returns its sha256.
 * Fixed mtimes and a fixed entry order make the tarball reproducible: the
 * same binaries always give the same checksum.
 */
export async function packRelease(
  binDir: string,
  outDir: string,
  name: string,
  opts: { binaries?: readonly string[]; mtime?: Date } = {},
): Promise<{ tarball: string; sha256: string }> {
  const binaries = opts.binaries ?? RELEASE_BINARIES;
  const stage = fs.mkdtempSync(path.join(outDir, `.stage-${process.pid}-`));
  try {
    const top = path.join(stage, name);
    fs.mkdirSync(top, { mode: 0o755 });
    fs.chmodSync(top, 0o755); // mkdir's mode is filtered by the umask
    for (const bin of binaries) {
      fs.copyFileSync(path.join(binDir, bin), path.join(top, bin));
      fs.chmodSync(path.join(top, bin), 0o755);
    }
    const tarball = path.join(outDir, `${name}.tar.gz`);
    const tmp = tmpName(tarball);
    await tar.create({ gzip: true, file: tmp, cwd: stage, portable: true, noDirRecurse: true, mtime: opts.mtime ?? new Date(0) }, [
      name,
      ...binaries.map((b) => `${name}/${b}`),
    ]);
    const sha256 = await sha256File(tmp);
    fs.renameSync(tmp, tarball);
    return { tarball, sha256 };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

export interface TarEntry {
  path: string;
  type: string;
  mode: number;
  size: number;
}

export async function listTarball(tarball: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  await tar.list({
    file: tarball,
    onReadEntry: (e) => entries.push({ path: e.path, type: e.type, mode: (e.mode ?? 0) & 0o7777, size: e.size ?? 0 }),
  });
  return entries;
}

/** Extracts a release tarball's binaries into destDir (top directory stripped), replacing it whole. */
export async function extractRelease(tarball: string, destDir: string, sha256: string): Promise<void> {
  fs.mkdirSync(path.dirname(destDir), { recursive: true });
  const tmp = `${path.join(path.dirname(destDir), `.${path.basename(destDir)}`)}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  await tar.extract({ file: tarball, cwd: tmp, strip: 1 });
  for (const bin of RELEASE_BINARIES) {
    if (!fs.existsSync(path.join(tmp, bin))) throw new Error(`${tarball} has no ${bin}`);
  }
  // Records which tarball these bits came from, so a rebuilt tarball is re-extracted.
  fs.writeFileSync(path.join(tmp, '.sha256'), sha256 + '\n');
  fs.rmSync(destDir, { recursive: true, force: true });
  fs.renameSync(tmp, destDir);
}
