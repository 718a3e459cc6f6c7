// etcd releases for offline use: built from the Go module proxy and laid out
// as a mirror in the upstream release layout, so the artifacts activity treats
// a `file://` mirror exactly like the GitHub release page:
//
//   <mirror>/v3.5.10/etcd-v3.5.10-linux-amd64.tar.gz   (etcd, etcdctl, etcdutl under one top directory)
//   <mirror>/v3.5.10/SHA256SUMS                         (`<sha256>  <file>` lines)
//
// `go install go.etcd.io/etcd/server/v3@v` cannot build etcd because upstream
// go.mod files carry replace directives, so each version is built from a
// small wrapper module that requires the server, etcdctl and etcdutl modules
// at that version and holds copies of their upstream `main` packages.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';
import * as tar from 'tar';
import { cacheDir, localMirrorDir } from './config';
import { run, tail } from './apt';
import { withLock } from './lock';
import { findOnPath } from './temporal-cli';

/** The version a cluster spec gets when it names none. */
export const DEFAULT_ETCD_VERSION = 'v3.5.10';
export const ETCD_SERVER_MODULE = 'go.etcd.io/etcd/server/v3';
/** Modules whose root `main` package becomes bin/<name>. */
const ETCD_MAINS = [
  { bin: 'etcd', module: 'go.etcd.io/etcd/server/v3' },
  { bin: 'etcdctl', module: 'go.etcd.io/etcd/etcdctl/v3' },
  { bin: 'etcdutl', module: 'go.etcd.io/etcd/etcdutl/v3' },
] as const;
export const RELEASE_BINARIES = ETCD_MAINS.map((m) => m.bin);
const VERSIONS_MAX_AGE_MS = 7 * 24 * 3600_000;
const WRAPPER_MODULE = 'etcdfleet.local/etcdbuild';

export interface EtcdVersions {
  /** DEFAULT_ETCD_VERSION (or the first of an ETCDFLEET_ETCD_VERSIONS override that lacks it). */
  default: string;
  latest35: string;
  latest36: string;
  /** What the bootstrap builds, default first, no duplicates. */
  all: string[];
}

export interface EtcdOptions {
  env?: NodeJS.ProcessEnv;
  /** Re-resolve versions on the proxy even when the cached list is fresh. */
  refresh?: boolean;
  /** Progress lines (only written when something has to be resolved or built). */
  log?: (line: string) => void;
}

const defaultLog = (line: string) => process.stderr.write(line + '\n');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

// ---------------------------------------------------------------------------
// Versions

type Semver = [number, number, number];

/** `3.5.10` or `v3.5.10` -> `v3.5.10`; anything else (pre-releases included) is rejected. */
export function normalizeVersion(version: string): string {
  const v = version.trim().startsWith('v') ? version.trim() : `v${version.trim()}`;
  if (!parseRelease(v)) throw new Error(`not an etcd release version: ${JSON.stringify(version)}`);
  return v;
}

/** Parses a release version (`v3.5.10`); pre-releases and build metadata give undefined. */
export function parseRelease(version: string): Semver | undefined {
  const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: string, b: string): number {
  const pa = parseRelease(a)!;
  const pb = parseRelease(b)!;
  return pa[0] - pb[0] || pa[1] - pb[1] || pa[2] - pb[2];
}

/** Release versions from `go list -m -versions <module>` output, oldest first. */
export function parseGoListVersions(output: string): string[] {
  const tokens = output.trim().split(/\s+/).slice(1); // first token is the module path
  return tokens.filter((t) => parseRelease(t)).sort(compareVersions);
}

/** Highest release of major.minor in the list. */
export function latestPatch(versions: readonly string[], minor: string): string | undefined {
  const [maj, min] = minor.split('.').map(Number);
  return versions
    .filter((v) => parseRelease(v)?.[0] === maj && parseRelease(v)?.[1] === min)
    .sort(compareVersions)
    .at(-1);
}

function uniqueDefaultFirst(defaultVersion: string, versions: string[]): string[] {
  return [...new Set([defaultVersion, ...versions])];
}

/** Picks the default, the latest 3.5.x and the latest 3.6.x from the proxy's version list. */
export function selectEtcdVersions(available: readonly string[], defaultVersion = DEFAULT_ETCD_VERSION): EtcdVersions {
  const releases = available.filter((v) => parseRelease(v));
  const latest35 = latestPatch(releases, '3.5');
  const latest36 = latestPatch(releases, '3.6');
  if (!latest35 || !latest36) {
    throw new Error(`the proxy lists no ${!latest35 ? '3.5' : '3.6'}.x release of ${ETCD_SERVER_MODULE}`);
  }
  return { default: defaultVersion, latest35, latest36, all: uniqueDefaultFirst(defaultVersion, [latest35, latest36]) };
}

/**
 * ETCDFLEET_ETCD_VERSIONS=v3.5.10,v3.6.16 builds exactly that set, without
 * asking the proxy. latest35/latest36 are taken from the set; a set without a
 * 3.5 (3.6) release falls back to its default (its highest) version.
 */
export function versionsFromOverride(list: string): EtcdVersions {
  const versions = [...new Set(list.split(/[\s,]+/).filter(Boolean).map(normalizeVersion))];
  if (versions.length === 0) throw new Error('ETCDFLEET_ETCD_VERSIONS is empty');
  const def = versions.includes(DEFAULT_ETCD_VERSION) ? DEFAULT_ETCD_VERSION : versions[0];
  return {
    default: def,
    latest35: latestPatch(versions, '3.5') ?? def,
    latest36: latestPatch(versions, '3.6') ?? [...versions].sort(compareVersions).at(-1)!,
    all: uniqueDefaultFirst(def, versions),
  };
}

interface VersionsCache {
  resolvedAt: string;
  versions: EtcdVersions;
}

export function etcdVersionsFile(env = process.env): string {
  return path.join(cacheDir(env), 'etcd-versions.json');
}

function readVersionsCache(env: NodeJS.ProcessEnv): VersionsCache | undefined {
  try {
    const cached = JSON.parse(fs.readFileSync(etcdVersionsFile(env), 'utf8')) as VersionsCache;
    return Array.isArray(cached.versions?.all) && cached.versions.all.length > 0 ? cached : undefined;
  } catch {
    return undefined;
  }
}

/** The versions the last bootstrap resolved (or the override), without asking the proxy: for tests and benchmarks that run after it. */
export function bootstrappedEtcdVersions(env = process.env): EtcdVersions {
  if (env.ETCDFLEET_ETCD_VERSIONS) return versionsFromOverride(env.ETCDFLEET_ETCD_VERSIONS);
  const cached = readVersionsCache(env);
  if (!cached) throw new Error(`no etcd versions resolved yet (${etcdVersionsFile(env)}): run npm run bootstrap`);
  return cached.versions;
}

/** Environment for every go command: no toolchain downloads, no workspace or VCS surprises, static binaries like upstream's. */
function goEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod -buildvcs=false', GOWORK: 'off', CGO_ENABLED: '0' };
}

/** The go command: on PATH, else the standard /usr/local/go install (launchers with a minimal PATH). */
export function goCommand(env = process.env): string {
  const go = findOnPath('go', `${env.PATH ?? ''}${path.delimiter}/usr/local/go/bin`);
  if (!go) throw new Error('go not found on PATH or in /usr/local/go/bin; building etcd releases needs a Go toolchain at least as new as the etcd modules require');
  return go;
}

async function listProxyVersions(env: NodeJS.ProcessEnv): Promise<string[]> {
  fs.mkdirSync(cacheDir(env), { recursive: true });
  // Run outside any module so a go.mod in the caller's directory cannot interfere.
  const out = await run(goCommand(env), ['list', '-m', '-versions', ETCD_SERVER_MODULE], { cwd: cacheDir(env), env: goEnv(env), timeoutMs: 120_000 });
  if (out.code !== 0) throw new Error(`go list -m -versions ${ETCD_SERVER_MODULE} failed:\n${tail(out.output, 10)}`);
  return parseGoListVersions(out.stdout);
}

/**
 * The etcd versions the project uses. Cached in <cacheDir>/etcd-versions.json
 * for 7 days (or until `refresh`); when the proxy cannot be reached, the cached
 * list is used however old it is.
 */
export async function resolveEtcdVersions(opts: EtcdOptions = {}): Promise<EtcdVersions> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;
  if (env.ETCDFLEET_ETCD_VERSIONS) return versionsFromOverride(env.ETCDFLEET_ETCD_VERSIONS);

  const cached = readVersionsCache(env);
  const age = cached ? Date.now() - Date.parse(cached.resolvedAt) : Infinity;
  if (cached && !opts.refresh && age >= 0 && age < VERSIONS_MAX_AGE_MS) return cached.versions;

  const started = Date.now();
  log(`etcd: resolving versions of ${ETCD_SERVER_MODULE} on the Go module proxy`);
  let versions: EtcdVersions;
  try {
    versions = selectEtcdVersions(await listProxyVersions(env));
  } catch (err) {
    if (!cached) throw err;
    log(`etcd: could not resolve versions (${(err as Error).message.split('\n')[0]}); using the list cached ${cached.resolvedAt}`);
    return cached.versions;
  }
  writeFileAtomic(etcdVersionsFile(env), JSON.stringify({ resolvedAt: new Date().toISOString(), versions }, null, 2) + '\n');
  log(`etcd: versions ${versions.all.join(' ')} (${seconds(Date.now() - started)})`);
  return versions;
}

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
    .filter((v) => parseRelease(v) && fs.existsSync(releaseTarball(v, env)) && fs.existsSync(releaseSumsFile(v, env)))
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
    await tar.create(
      { gzip: true, file: tmp, cwd: stage, portable: true, noDirRecurse: true, mtime: opts.mtime ?? new Date(0) },
      [name, ...binaries.map((b) => `${name}/${b}`)],
    );
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

// ---------------------------------------------------------------------------
// Building

type ReleaseState = 'ready' | 'extract' | 'build';

/** What is left to do for a version: nothing, only extracting the binaries, or the whole build. */
async function releaseState(version: string, env: NodeJS.ProcessEnv): Promise<{ state: ReleaseState; sha256?: string }> {
  const tarball = releaseTarball(version, env);
  let expected: string | undefined;
  try {
    expected = parseSha256Sums(fs.readFileSync(releaseSumsFile(version, env), 'utf8')).get(path.basename(tarball));
  } catch {
    return { state: 'build' };
  }
  if (!expected || !fs.existsSync(tarball) || (await sha256File(tarball)) !== expected) return { state: 'build' };
  let extracted = '';
  try {
    extracted = fs.readFileSync(path.join(releaseBinDir(version, env), '.sha256'), 'utf8').trim();
  } catch {
    /* not extracted yet */
  }
  const binsPresent = RELEASE_BINARIES.every((b) => fs.existsSync(path.join(releaseBinDir(version, env), b)));
  return { state: extracted === expected && binsPresent ? 'ready' : 'extract', sha256: expected };
}

export class EtcdBuildError extends Error {
  constructor(
    readonly version: string,
    readonly step: string,
    detail: string,
  ) {
    super(`etcd ${version}: ${step} failed: ${detail}`);
  }
}

export function buildDir(version: string, env = process.env): string {
  return path.join(cacheDir(env), 'build', normalizeVersion(version));
}

/** The wrapper module's go.mod; `go mod tidy` adds the rest (cobra etc.) at the versions etcd's graph selects. */
export function wrapperGoMod(version: string): string {
  const v = normalizeVersion(version);
  const requires = ETCD_MAINS.map((m) => `\t${m.module} ${v}\n`).join('');
  return `// Generated by etcdfleet's tool bootstrap (infra/etcd-releases.ts).\nmodule ${WRAPPER_MODULE}\n\ngo 1.21\n\nrequire (\n${requires})\n`;
}

/** `etcd Version: 3.5.10` / `etcdctl version: 3.5.10` / `etcdutl version: 3.5.10` -> `3.5.10`. */
export function parseBinaryVersion(bin: string, output: string): string | undefined {
  const label = bin === 'etcd' ? 'etcd Version' : `${bin} version`;
  return new RegExp(`^${label}: (\\S+)`, 'm').exec(output)?.[1];
}

interface GoDownload {
  Dir: string;
  Info: string;
}

class VersionBuild {
  private readonly started = Date.now();
  private readonly dir: string;
  private readonly logFile: string;

  constructor(
    private readonly version: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
  ) {
    this.dir = buildDir(version, env);
    this.logFile = path.join(this.dir, 'build.log');
  }

  private async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.log(`etcd ${this.version}: ${name} (+${seconds(Date.now() - this.started)})`);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof EtcdBuildError) throw err;
      throw new EtcdBuildError(this.version, name, (err as Error).message);
    }
  }

  /** Runs a go command in the build dir, appending its output to build.log; fails with the output's tail. */
  private async go(args: string[], cwd = this.dir): Promise<string> {
    fs.appendFileSync(this.logFile, `\n$ go ${args.join(' ')}\n`);
    const out = await run(goCommand(this.env), args, { cwd, env: goEnv(this.env), timeoutMs: 30 * 60_000 });
    fs.appendFileSync(this.logFile, out.output);
    if (out.code !== 0) {
      throw new Error(`go ${args[0]} exited ${out.code}; last lines of its output:\n${tail(out.output)}\n(full log: ${this.logFile})`);
    }
    return out.stdout;
  }

  async run(): Promise<string> {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(this.logFile, `etcdfleet build of etcd ${this.version}, ${new Date().toISOString()}\n`);
    let releaseTime = new Date(0);

    await this.step('downloading modules', async () => {
      fs.rmSync(path.join(this.dir, 'cmd'), { recursive: true, force: true });
      fs.writeFileSync(path.join(this.dir, 'go.mod'), wrapperGoMod(this.version));
      for (const { bin, module } of ETCD_MAINS) {
        // Outside the wrapper module: a plain download that needs no go.sum yet.
        const dl = JSON.parse(await this.go(['mod', 'download', '-json', `${module}@${this.version}`], path.dirname(this.dir))) as GoDownload;
        copyMainPackage(dl.Dir, path.join(this.dir, 'cmd', bin));
        if (bin === 'etcd') releaseTime = new Date(JSON.parse(fs.readFileSync(dl.Info, 'utf8')).Time ?? 0);
      }
      await this.go(['mod', 'tidy']);
    });

    const outDir = path.join(this.dir, 'bin');
    await this.step('building', async () => {
      fs.rmSync(outDir, { recursive: true, force: true });
      await this.go(['build', '-trimpath', '-o', outDir + path.sep, './cmd/...']);
    });

    await this.step('verifying', () => verifyBinaries(outDir, this.version));

    const sha256 = await this.step('packaging', async () => {
      const versionDir = path.dirname(releaseTarball(this.version, this.env));
      fs.mkdirSync(versionDir, { recursive: true });
      removeLeftovers(versionDir);
      const packed = await packRelease(outDir, versionDir, releaseName(this.version), { mtime: releaseTime });
      writeFileAtomic(
        releaseSumsFile(this.version, this.env),
        formatSha256Sums([{ sha256: packed.sha256, file: path.basename(packed.tarball) }]),
      );
      return packed.sha256;
    });

    await this.step('extracting', () =>
      extractRelease(releaseTarball(this.version, this.env), releaseBinDir(this.version, this.env), sha256),
    );
    this.log(`etcd ${this.version}: ready in ${seconds(Date.now() - this.started)}`);
    return sha256;
  }
}

/** Copies the non-test Go files of a module's root `main` package (upstream's own main for the binary). */
function copyMainPackage(moduleDir: string, dest: string): void {
  const files = fs
    .readdirSync(moduleDir)
    .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))
    .filter((f) => /^package main\b/m.test(fs.readFileSync(path.join(moduleDir, f), 'utf8')));
  if (files.length === 0) throw new Error(`${moduleDir} has no main package at its root`);
  fs.mkdirSync(dest, { recursive: true });
  for (const f of files) fs.writeFileSync(path.join(dest, f), fs.readFileSync(path.join(moduleDir, f)));
}

/** The binaries must report the release they were built as (catches a module graph that selected another etcd). */
async function verifyBinaries(binDir: string, version: string): Promise<void> {
  const expected = version.slice(1);
  const commands: Record<string, string[]> = { etcd: ['--version'], etcdctl: ['version'], etcdutl: ['version'] };
  for (const bin of RELEASE_BINARIES) {
    const out = await run(path.join(binDir, bin), commands[bin], { timeoutMs: 60_000 });
    const reported = parseBinaryVersion(bin, out.stdout);
    if (out.code !== 0 || reported !== expected) {
      throw new Error(`${bin} ${commands[bin].join(' ')} reported ${reported ?? '(nothing)'}, expected ${expected}:\n${tail(out.output, 10)}`);
    }
  }
}

/** Temp files and stage dirs of a bootstrap that was killed mid-write; only called under the build lock. */
function removeLeftovers(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    if (/^\..*\.tmp-\d+$/.test(f) || f.startsWith('.stage-')) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  }
}

/**
 * Makes sure the mirror holds a verified release of each version (default:
 * resolveEtcdVersions().all) and that releaseBinDir(version) has its binaries.
 * Finished versions are only checksummed; the rest are built one after
 * another (2 cores) under a lock in cacheDir. A failing version does not stop
 * the others; the error names every version and step that failed.
 */
export async function ensureEtcdReleases(versions?: string[], opts: EtcdOptions = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLog;
  const wanted = versions ? [...new Set(versions.map(normalizeVersion))] : (await resolveEtcdVersions(opts)).all;

  const states = await Promise.all(wanted.map((v) => releaseState(v, env)));
  if (states.every((s) => s.state === 'ready')) return;

  const lockFile = path.join(cacheDir(env), 'etcd-build.lock');
  await withLock(
    lockFile,
    async () => {
      const failures: Error[] = [];
      removeLeftovers(path.join(cacheDir(env), 'bin'));
      for (const version of wanted) {
        // Checked again under the lock: a bootstrap we waited for may have built it.
        const { state, sha256 } = await releaseState(version, env);
        try {
          if (state === 'build') await new VersionBuild(version, env, log).run();
          if (state === 'extract') {
            log(`etcd ${version}: extracting to ${releaseBinDir(version, env)}`);
            await extractRelease(releaseTarball(version, env), releaseBinDir(version, env), sha256!);
          }
        } catch (err) {
          log(`${(err as Error).message}`);
          failures.push(err as Error);
        }
      }
      if (failures.length > 0) {
        const what = failures.map((f) => (f instanceof EtcdBuildError ? `${f.version} (${f.step})` : f.message.split('\n')[0]));
        throw new Error(`etcd release build failed for ${what.join(', ')}; details above`);
      }
    },
    { purpose: `building etcd ${wanted.join(' ')}`, onWait: (h) => log(`etcd: waiting for pid ${h.pid} (${h.purpose}) to finish`) },
  );
}
