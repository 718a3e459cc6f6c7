// etcd releases for offline use (see index.ts): which versions, resolved on
// the Go module proxy and cached in <cacheDir>/etcd-versions.json.
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../config';
import { run, tail } from '../apt';
import { findOnPath } from '../temporal-cli';
import { DEFAULT_ETCD_VERSION, compareVersions, isTaggedRelease, latestPatchOf, normalizeVersion } from '../../common/release-version';
import { ETCD_SERVER_MODULE, writeFileAtomic } from './mirror';

export { DEFAULT_ETCD_VERSION, compareVersions, normalizeVersion };

const VERSIONS_MAX_AGE_MS = 7 * 24 * 3600_000;

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

export const defaultLog = (line: string) => process.stderr.write(line + '\n');
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

// ---------------------------------------------------------------------------
// Versions

/** Release versions from `go list -m -versions <module>` output, oldest first. */
export function parseGoListVersions(output: string): string[] {
  const tokens = output.trim().split(/\s+/).slice(1); // first token is the module path
  return tokens.filter(isTaggedRelease).sort(compareVersions);
}

/** Highest release of major.minor in the list. */
export function latestPatch(versions: readonly string[], minor: string): string | undefined {
  const [maj, min] = minor.split('.').map(Number);
  return latestPatchOf(versions.filter(isTaggedRelease), maj, min);
}

function uniqueDefaultFirst(defaultVersion: string, versions: string[]): string[] {
  return [...new Set([defaultVersion, ...versions])];
}

/** Picks the default, the latest 3.5.x and the latest 3.6.x from the proxy's version list. */
export function selectEtcdVersions(available: readonly string[], defaultVersion = DEFAULT_ETCD_VERSION): EtcdVersions {
  const releases = available.filter(isTaggedRelease);
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
  const versions = [
    ...new Set(
      list
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(normalizeVersion),
    ),
  ];
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
export function goEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod -buildvcs=false', GOWORK: 'off', CGO_ENABLED: '0' };
}

/** The go command: on PATH, else the standard /usr/local/go install (launchers with a minimal PATH). */
export function goCommand(env = process.env): string {
  const go = findOnPath('go', `${env.PATH ?? ''}${path.delimiter}/usr/local/go/bin`);
  if (!go)
    throw new Error(
      'go not found on PATH or in /usr/local/go/bin; building etcd releases needs a Go toolchain at least as new as the etcd modules require',
    );
  return go;
}

async function listProxyVersions(env: NodeJS.ProcessEnv): Promise<string[]> {
  fs.mkdirSync(cacheDir(env), { recursive: true });
  // Run outside any module so a go.mod in the caller's directory cannot interfere.
  const out = await run(goCommand(env), ['list', '-m', '-versions', ETCD_SERVER_MODULE], {
    cwd: cacheDir(env),
    env: goEnv(env),
    timeoutMs: 120_000,
  });
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
