// Runtime configuration shared by the launcher, the worker and the API.
// Everything has an embedded default so `npm start` needs no settings.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';

export const REPO_ROOT = path.resolve(__dirname, '..');

/** Cache for tools and etcd releases, kept outside the repo and reused across clones. */
export function cacheDir(env = process.env): string {
  return path.resolve(env.ETCDFLEET_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'etcdfleet'));
}

/** Local artifact mirror in the upstream release layout, built by the tool bootstrap. */
export function localMirrorDir(env = process.env): string {
  return path.join(cacheDir(env), 'mirror');
}

/** Project-local tools (the Temporal CLI virtualenv). */
export function toolsDir(env = process.env): string {
  return path.resolve(env.ETCDFLEET_TOOLS_DIR ?? path.join(REPO_ROOT, '.tools'));
}

export function stateDir(env = process.env): string {
  return path.resolve(env.ETCDFLEET_STATE_DIR ?? path.join(REPO_ROOT, '.data'));
}

export interface Config {
  stateDir: string;
  cacheDir: string;
  /** Root directories of local-provider hosts: <hostsDir>/<cluster>/<member>. */
  hostsDir: string;
  /** Artifact source used when a spec names none. */
  defaultArtifactSource: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  apiHost: string;
  apiPort: number;
}

export function loadConfig(env = process.env): Config {
  const state = stateDir(env);
  const mirror = localMirrorDir(env);
  return {
    stateDir: state,
    cacheDir: cacheDir(env),
    hostsDir: path.resolve(env.ETCDFLEET_HOSTS_DIR ?? path.join(state, 'hosts')),
    defaultArtifactSource: env.ETCDFLEET_ARTIFACT_SOURCE ?? (fs.existsSync(mirror) ? `file://${mirror}` : 'github'),
    temporalAddress: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_PORT ?? 7233}`,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.ETCDFLEET_TASK_QUEUE ?? 'etcdfleet',
    apiHost: env.HOST ?? '127.0.0.1',
    apiPort: Number(env.PORT ?? 8080),
  };
}

/** A secret from the environment, or generated once into the state dir (mode 0600) and reused. */
export function persistedSecret(dir: string, file: string, fromEnv: string | undefined, generate: () => string): string {
  if (fromEnv) return fromEnv;
  const p = path.join(dir, file);
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    fs.mkdirSync(dir, { recursive: true });
    try {
      fs.writeFileSync(p, generate() + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return fs.readFileSync(p, 'utf8').trim();
  }
}

export function apiToken(config: Pick<Config, 'stateDir'>, env = process.env): string {
  return persistedSecret(config.stateDir, 'api-token', env.ETCDFLEET_API_TOKEN, () => randomBytes(24).toString('base64url'));
}

/** Passphrase for CA keys stored encrypted (tls.caKeyCipher). */
export function caPassphrase(config: Pick<Config, 'stateDir'>, env = process.env): string {
  return persistedSecret(config.stateDir, 'ca-passphrase', env.ETCDFLEET_CA_PASSPHRASE, () => randomBytes(24).toString('base64url'));
}

/**
 * AES-256 key of the worker's private-key store (`<stateDir>/keys`): base64 of
 * 32 bytes from ETCDFLEET_KEYSTORE_KEY, or generated once into the state dir.
 */
export function keyStoreKey(config: Pick<Config, 'stateDir'>, env = process.env): Buffer {
  const b64 = persistedSecret(config.stateDir, 'keystore.key', env.ETCDFLEET_KEYSTORE_KEY, () => randomBytes(32).toString('base64'));
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32) throw new Error(`ETCDFLEET_KEYSTORE_KEY must be base64 of 32 bytes, got ${key.length} bytes`);
  return key;
}

/** Directory of the worker's private-key store. */
export function keyStoreDir(config: Pick<Config, 'stateDir'>, env = process.env): string {
  return path.resolve(env.ETCDFLEET_KEYSTORE_DIR ?? path.join(config.stateDir, 'keys'));
}

/**
 * Browser origins (the Temporal UI) allowed to call the codec endpoint without
 * the bearer token. The UI cannot hold our token, so by default only the dev
 * server's UI is allowed, and only while the API listens on loopback;
 * anything else must be configured explicitly.
 */
export function codecOrigins(env = process.env): string[] {
  if (env.ETCDFLEET_CODEC_ORIGINS !== undefined) {
    return env.ETCDFLEET_CODEC_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean);
  }
  const host = env.HOST ?? '127.0.0.1';
  const loopback = host === 'localhost' || host.startsWith('127.');
  const ui = env.TEMPORAL_UI_PORT ?? 8233;
  return loopback ? [`http://localhost:${ui}`, `http://127.0.0.1:${ui}`] : [];
}
