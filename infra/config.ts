// Runtime configuration shared by the launcher, the worker and the API.
// Everything has an embedded default so `npm start` needs no settings.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { DEFAULT_S3_CREDENTIAL_ENVS, normalizeSource, type SpecPolicy } from '../common/policy';

/** The checkout (or image) root, from the sources under tsx and from dist/ once built. */
export const REPO_ROOT = ((up) => (path.basename(up) === 'dist' ? path.dirname(up) : up))(path.resolve(__dirname, '..'));

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
  /** ETCDFLEET_ACCEPT_PLAINTEXT_PAYLOADS=true: decode payloads that did not come through the codec (migration only). */
  acceptPlaintextPayloads: boolean;
  cacheDir: string;
  /** Root directories of local-provider hosts: <hostsDir>/<cluster>/<member>. */
  hostsDir: string;
  /** Artifact source used when a spec names none. */
  defaultArtifactSource: string;
  /**
   * Where the `github` source (upstream releases) is fetched from: GitHub's
   * release downloads, or a mirror in the upstream layout the operator vouches
   * for (ETCDFLEET_UPSTREAM_RELEASES). Embedded default: the bootstrap's local
   * mirror when it exists (it holds upstream releases built from the Go module
   * proxy, for machines without GitHub access), else GitHub.
   */
  upstreamReleases: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /**
   * ETCDFLEET_WORKER_MACHINE (default: the hostname): names this worker's machine. Every worker also
   * polls `<taskQueue>@<machine>` (machineQueue), where a local-provider cluster's operations run.
   */
  machine: string;
  /** ETCDFLEET_KEY_POOL (default 8, 0–64): keys of each kind the worker makes ahead, in memory only (activities/pki/keys.ts). */
  keyPool: number;
  apiHost: string;
  apiPort: number;
  /** What specs may reach (artifact sources, S3 endpoints and credentials, backup root): see specPolicy. */
  policy: SpecPolicy;
  /** The ssh host provider's settings (sshConfig). */
  ssh: SshConfig;
}

export interface SshConfig {
  /** ETCDFLEET_SSH_IDENTITY: path of the private key the worker logs in with (only the path is ever passed on). */
  identity?: string;
  /** ETCDFLEET_SSH_KNOWN_HOSTS: an OpenSSH known_hosts file pinning the hosts' keys. */
  knownHosts?: string;
  /** ETCDFLEET_SSH_ALLOWED_NETWORKS: CIDRs whose hosts a spec may pin with its own ssh.hostKeys; default none. */
  allowedNetworks: string[];
  /** Control sockets and the spec-given known_hosts files (<state>/ssh, 0700). */
  dir: string;
}

export function sshConfig(env: NodeJS.ProcessEnv, stateDir: string): SshConfig {
  const abs = (name: string) => {
    const v = env[name];
    if (!v) return undefined;
    if (!path.isAbsolute(v)) throw new Error(`${name} must be an absolute path, not ${v}`);
    return v;
  };
  return {
    identity: abs('ETCDFLEET_SSH_IDENTITY'),
    knownHosts: abs('ETCDFLEET_SSH_KNOWN_HOSTS'),
    allowedNetworks: (env.ETCDFLEET_SSH_ALLOWED_NETWORKS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    dir: path.join(stateDir, 'ssh'),
  };
}

export const UPSTREAM_RELEASES = 'https://github.com/etcd-io/etcd/releases/download';

export function loadConfig(env = process.env): Config {
  const state = stateDir(env);
  const mirror = localMirrorDir(env);
  const defaultArtifactSource = env.ETCDFLEET_ARTIFACT_SOURCE ?? (fs.existsSync(mirror) ? `file://${mirror}` : 'github');
  return {
    stateDir: state,
    acceptPlaintextPayloads: env.ETCDFLEET_ACCEPT_PLAINTEXT_PAYLOADS === 'true',
    cacheDir: cacheDir(env),
    hostsDir: path.resolve(env.ETCDFLEET_HOSTS_DIR ?? path.join(state, 'hosts')),
    defaultArtifactSource,
    upstreamReleases: env.ETCDFLEET_UPSTREAM_RELEASES ?? (fs.existsSync(mirror) ? `file://${mirror}` : UPSTREAM_RELEASES),
    policy: specPolicy(env, { stateDir: state, mirror, defaultArtifactSource }),
    ssh: sshConfig(env, state),
    temporalAddress: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_PORT ?? 7233}`,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.ETCDFLEET_TASK_QUEUE ?? 'etcdfleet',
    machine: env.ETCDFLEET_WORKER_MACHINE || os.hostname(),
    keyPool: keyPoolSize(env.ETCDFLEET_KEY_POOL),
    apiHost: env.HOST ?? '127.0.0.1',
    apiPort: Number(env.PORT ?? 8080),
  };
}

function keyPoolSize(value: string | undefined): number {
  if (value === undefined || value === '') return 8;
  if (!/^\d+$/.test(value) || Number(value) > 64) throw new Error(`ETCDFLEET_KEY_POOL must be a whole number from 0 to 64, not ${value}`);
  return Number(value);
}

/** The task queue of this worker's machine: local-provider members live there, so their operations run there. */
export function machineQueue(config: Pick<Config, 'taskQueue' | 'machine'>): string {
  return `${config.taskQueue}@${config.machine}`;
}

/** Shortest secret (token, passphrase, capability) the service starts with. */
export const MIN_SECRET_LENGTH = 16;

/** A secret the service cannot run with: the message names where it came from and what to do. */
export class SecretError extends Error {
  override name = 'SecretError';
}

export interface SecretRule {
  /** The environment variable that overrides the file, named in messages. */
  env: string;
  /** Checks the value; returns what is wrong with it, or undefined. Default: at least MIN_SECRET_LENGTH characters. */
  check?: (value: string) => string | undefined;
}

const longEnough = (v: string) =>
  v === '' ? 'is empty' : v.length < MIN_SECRET_LENGTH ? `is ${v.length} characters, shorter than ${MIN_SECRET_LENGTH}` : undefined;

/**
 * A secret from the environment, or generated once into the state dir (mode
 * 0600) and reused. An empty environment variable counts as unset (compose
 * passes `${VAR:-}`); an empty or too-short value from either place is refused,
 * so an empty `api-token` file can never mean "no authentication".
 */
export function persistedSecret(dir: string, file: string, fromEnv: string | undefined, generate: () => string, rule?: SecretRule): string {
  const p = path.join(dir, file);
  const value = fromEnv ? fromEnv : readOrCreate(dir, p, generate);
  const wrong = (rule?.check ?? longEnough)(value);
  if (wrong) {
    const where = fromEnv ? `${rule?.env ?? 'the environment variable'}` : p;
    const fix = fromEnv
      ? `set ${rule?.env ?? 'it'} to a proper value`
      : `delete ${p} to have a new one generated, or set ${rule?.env ?? 'the environment variable'}`;
    throw new SecretError(`${where} ${wrong}: ${fix}`);
  }
  return value;
}

function readOrCreate(dir: string, p: string, generate: () => string): string {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(dir, { recursive: true });
    // Written aside and linked into place: a process starting at the same time (several workers
    // sharing a state dir) sees no file or the whole one, never an empty one.
    const tmp = `${p}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, generate() + '\n', { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(tmp, p);
    } catch (err2) {
      // Another process created it first: use theirs.
      if ((err2 as NodeJS.ErrnoException).code !== 'EEXIST') throw err2;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return fs.readFileSync(p, 'utf8').trim();
  }
}

/** Checks a base64 key of exactly `bytes` bytes (codec and backup keys). */
export function base64KeyOf(bytes: number): (v: string) => string | undefined {
  return (v) => {
    if (v === '') return 'is empty';
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v) || v.length % 4 !== 0)
      return `is not base64 (expected ${bytes} random bytes, e.g. openssl rand -base64 ${bytes})`;
    const n = Buffer.from(v, 'base64').length;
    return n === bytes ? undefined : `decodes to ${n} bytes, not ${bytes} (e.g. openssl rand -base64 ${bytes})`;
  };
}

export function apiToken(config: Pick<Config, 'stateDir'>, env = process.env): string {
  return persistedSecret(config.stateDir, 'api-token', env.ETCDFLEET_API_TOKEN, () => randomBytes(24).toString('base64url'), {
    env: 'ETCDFLEET_API_TOKEN',
  });
}

/** Passphrase for CA keys stored encrypted (tls.caKeyCipher). */
export function caPassphrase(config: Pick<Config, 'stateDir'>, env = process.env): string {
  return persistedSecret(config.stateDir, 'ca-passphrase', env.ETCDFLEET_CA_PASSPHRASE, () => randomBytes(24).toString('base64url'), {
    env: 'ETCDFLEET_CA_PASSPHRASE',
  });
}

/**
 * AES-256 key of the worker's private-key store (`<stateDir>/keys`): base64 of
 * 32 bytes from ETCDFLEET_KEYSTORE_KEY, or generated once into the state dir.
 */
export function keyStoreKey(config: Pick<Config, 'stateDir'>, env = process.env): Buffer {
  const b64 = persistedSecret(config.stateDir, 'keystore.key', env.ETCDFLEET_KEYSTORE_KEY, () => randomBytes(32).toString('base64'), {
    env: 'ETCDFLEET_KEYSTORE_KEY',
    check: base64KeyOf(32),
  });
  return Buffer.from(b64, 'base64');
}

/** Directory of the worker's private-key store. */
export function keyStoreDir(config: Pick<Config, 'stateDir'>, env = process.env): string {
  return path.resolve(env.ETCDFLEET_KEYSTORE_DIR ?? path.join(config.stateDir, 'keys'));
}

/**
 * The unguessable path segment of the codec URL handed to the Temporal UI
 * (`/codec/<capability>/decode`): knowing the URL is the UI's authorisation,
 * since a browser UI cannot hold our bearer token and an Origin header can be
 * forged by any script. 32 random bytes, generated once into the state dir.
 */
export function codecCapability(config: Pick<Config, 'stateDir'>, env = process.env): string {
  return persistedSecret(config.stateDir, 'codec-capability', env.ETCDFLEET_CODEC_CAPABILITY, () => randomBytes(32).toString('base64url'), {
    env: 'ETCDFLEET_CODEC_CAPABILITY',
    check: (v) =>
      longEnough(v) ??
      (/^[A-Za-z0-9_-]+$/.test(v) ? undefined : 'may only contain letters, digits, "-" and "_" (it is a URL path segment)'),
  });
}

/**
 * Browser origins (the Temporal UI) whose pages may read the codec endpoint's
 * answers (CORS). This is not authorisation (any script can send any Origin):
 * the UI is authorised by the capability URL, tools by the bearer token. By
 * default the dev server's UI while the API listens on loopback.
 */
export function codecOrigins(env = process.env): string[] {
  if (env.ETCDFLEET_CODEC_ORIGINS !== undefined) {
    return env.ETCDFLEET_CODEC_ORIGINS.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  const host = env.HOST ?? '127.0.0.1';
  const loopback = host === 'localhost' || host.startsWith('127.');
  const ui = env.TEMPORAL_UI_PORT ?? 8233;
  return loopback ? [`http://localhost:${ui}`, `http://127.0.0.1:${ui}`] : [];
}

/** ETCDFLEET_API_TOKENS_FILE: YAML list of named API tokens with roles (api/access.ts), re-read on change. */
export function apiTokensFile(env = process.env): string | undefined {
  return env.ETCDFLEET_API_TOKENS_FILE || undefined;
}

/** ETCDFLEET_METRICS_REQUIRE_TOKEN=true: /metrics needs the bearer token like /v1 (Prometheus: `authorization` in the scrape config). */
export function metricsRequireToken(env = process.env): boolean {
  return env.ETCDFLEET_METRICS_REQUIRE_TOKEN === 'true';
}

// ------------------------------------------------------------ spec policy

/** Variables a spec may never name as S3 credentials, whatever the allowlist says: the service's own secrets. */
const SERVICE_SECRET_ENVS = [
  'ETCDFLEET_API_TOKEN',
  'ETCDFLEET_CODEC_KEY',
  'ETCDFLEET_CODEC_CAPABILITY',
  'ETCDFLEET_CA_PASSPHRASE',
  'ETCDFLEET_BACKUP_KEY',
  'ETCDFLEET_KEYSTORE_KEY',
];

const list = (v: string | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/**
 * The operator's allowlists (the same in the API, which refuses a spec with a
 * 403, and in the worker, which refuses it again where the value is used):
 * - ETCDFLEET_ARTIFACT_SOURCES: comma-separated `github` and mirror URLs;
 *   default `github` and the bootstrap's local mirror. The default source
 *   (ETCDFLEET_ARTIFACT_SOURCE) is always allowed.
 * - ETCDFLEET_S3_ENDPOINTS: custom S3 endpoints a spec may name; default none
 *   (AWS's own endpoints, chosen by region).
 * - ETCDFLEET_S3_CREDENTIAL_ENVS: the worker's environment variables a spec may
 *   name as S3 credentials; default AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY.
 *   The service's own secrets are refused here.
 * - ETCDFLEET_BACKUP_ROOT: every backup.dir lies under it; default <state>/backups.
 */
export function specPolicy(env: NodeJS.ProcessEnv, at: { stateDir: string; mirror: string; defaultArtifactSource: string }): SpecPolicy {
  const sources = list(env.ETCDFLEET_ARTIFACT_SOURCES) ?? ['github', `file://${at.mirror}`];
  const creds = list(env.ETCDFLEET_S3_CREDENTIAL_ENVS) ?? [...DEFAULT_S3_CREDENTIAL_ENVS];
  const secret = creds.find((c) => SERVICE_SECRET_ENVS.includes(c));
  if (secret) throw new Error(`ETCDFLEET_S3_CREDENTIAL_ENVS must not list ${secret}: it holds a secret of the service itself`);
  const root = env.ETCDFLEET_BACKUP_ROOT ?? path.join(at.stateDir, 'backups');
  if (!path.isAbsolute(root)) throw new Error(`ETCDFLEET_BACKUP_ROOT must be an absolute path, not ${root}`);
  return {
    artifactSources: [...new Set([...sources, at.defaultArtifactSource].map(normalizeSource))],
    s3Endpoints: list(env.ETCDFLEET_S3_ENDPOINTS) ?? [],
    s3CredentialEnvs: creds,
    backupRoot: path.resolve(root),
  };
}
