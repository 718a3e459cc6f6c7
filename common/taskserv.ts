// Import of the provisioning project's taskserv `ETCD` configs into a native
// cluster spec (POST /v1/imports/taskserv). Pure: no Node built-ins.
//
// Schema source: the taskserv's KCL schema (taskservs/etcd) could not be
// consulted when this was written, so `TaskservEtcd` below is reconstructed
// from the field list in DESIGN.md ("Taskserv ETCD config compatibility").
// Assumptions, each chosen to accept what the taskserv plausibly emits:
//   - One config per node (etcd_name, cli_ip/cli_port, peer_ip/peer_port,
//     listen_*/adv_listen_*) plus cluster-wide fields repeated on every node.
//     Configs may arrive bare, as a list (or multi-document YAML), or wrapped
//     as `{etcd: ...}` / `{ETCD: ...}` (KCL output keyed by the variable name).
//   - `null` means "not set" (KCL emits unset optional attributes as null).
//   - Scalars may be strings: ports "2379", booleans "true"/"yes", versions.
//   - cluster_list: member names, as a list or a comma/space separated string;
//     an entry may also be `name=peerURL` like initial_peers.
//   - initial_peers: etcd's initial-cluster entries `name=peerURL` (list or
//     comma-separated string). It supplies the address of members that have no
//     config of their own (the "one config with a cluster_list" form).
//   - listen_*/adv_listen_*: URL lists (`https://10.0.0.1:2379`, `10.0.0.1:2379`
//     or a bare host), comma-separated or as a list. adv_* win over cli_ip/peer_ip.
//   - ssl_sign/ca_sign: RSA or ECC (ECDSA, EC accepted). Without ca_sign the CA
//     key uses ssl_sign's algorithm. long_sign applies to RSA keys, ssl_curve to ECC keys.
//   - sign_sha: 256/384/512 or sha256/SHA-384 style.
//   - cipher: openssl style (`-aes256`, `aes-256-cbc`) → tls.caKeyCipher.
//   - conf_path may name the directory or the config file inside it.
//   - performance/storage/security: blocks of etcd settings in snake_case; each
//     block accepts every known key (which block a key lives in is not relied on).
//     Sizes may be "8GB" (binary units: 1 GB = 2^30, as etcd's docs use them).
//     Bare numbers for durations are seconds.
//   - backup: {enabled, interval, retention, s3_bucket, encryption} plus the
//     assumed s3_endpoint/s3_region/s3_prefix. A block without `enabled` is
//     enabled. A numeric retention is a count of backups to keep.
//   - kubernetes_integration: {enabled, compaction_interval, defrag_threshold,
//     health_check_interval}. defrag_threshold: "30%" or a number ≤ 100 is a
//     percentage of the database that is free space, a size or a larger number is bytes.
//   - cluster_name (or name) names the cluster; otherwise the name is derived
//     from the members' names (see clusterNameFor).
// Anything else is reported in `unsupported`, never silently dropped.
import { z } from 'zod';
import { Issue, ValidationError, isValidationError, joinPath, parseClusterSpec, zodIssues } from './parse';
import { MAX_MEMBERS, isAddress, isHostname, type ClusterSpecInput } from './spec';

// ---------------------------------------------------------------------------
// Schema

const isNumericString = (v: unknown): v is string => typeof v === 'string' && /^\s*-?\d+\s*$/.test(v);

/** A type error that says "required" when the field is missing. */
const expected = (what: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? 'required' : what) });

const Bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  if (/^(true|yes|on)$/i.test(v.trim())) return true;
  if (/^(false|no|off)$/i.test(v.trim())) return false;
  return v;
}, z.boolean(expected('must be true or false')));

const Int = z.preprocess((v) => (isNumericString(v) ? Number(v) : v), z.number(expected('must be an integer')).int('must be an integer'));

const Text = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string(expected('must be a string')).trim().min(1, 'must not be empty'));

/**
 * Longest list a config may carry (URLs, peers, log outputs): a cluster has at
 * most MAX_MEMBERS members, so anything much longer is a mistake or hostile,
 * and is refused before any per-entry work.
 */
const MAX_LIST = 4 * MAX_MEMBERS;
const tooLong = `at most ${MAX_LIST} entries`;

/** A list, or a comma-separated string (URLs, peers, log outputs). */
const List = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v),
  z.array(Text, { error: 'must be a list or a comma-separated string' }).min(1, 'must not be empty').max(MAX_LIST, tooLong),
);
/** Member names: a list, or a string separated by commas or spaces. */
const NameList = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v),
  z.array(Text, { error: 'must be a list or a comma- or space-separated string' }).min(1, 'must not be empty').max(MAX_LIST, tooLong),
);

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  if (!m || !(m[2].toLowerCase() in SIZE_UNITS)) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
}

const Size = z.preprocess((v) => parseSize(v) ?? v, z.number({ error: 'must be a byte count or a size like 8GB' }).int().min(0));

/** Durations stay strings for the native spec to check; bare numbers are seconds. */
const Dur = z.preprocess((v) => (typeof v === 'number' ? `${v}s` : v), z.string({ error: 'must be a duration like 30s, 5m or 6h' }).trim().min(1));

const PORT_MESSAGE = 'must be a port between 1 and 65535';
const Port = z.preprocess((v) => (isNumericString(v) ? Number(v) : v), z.number(expected(PORT_MESSAGE)).int(PORT_MESSAGE).min(1, PORT_MESSAGE).max(65535, PORT_MESSAGE));

/** An address field on its own: an IPv4 address or a DNS name, whichever field ends up being used. */
const Host = Text.refine(isAddress, 'must be an IPv4 address or a DNS name');

/** etcd settings; the same keys are accepted in performance, storage and security. */
const EtcdSettingsBlock = z.looseObject({
  heartbeat_interval: Int.optional(),
  election_timeout: Int.optional(),
  snapshot_count: Int.optional(),
  max_snapshots: Int.optional(),
  max_wals: Int.optional(),
  quota_backend_bytes: Size.optional(),
  max_request_bytes: Size.optional(),
  max_txn_ops: Int.optional(),
  grpc_keepalive_interval: Dur.optional(),
  grpc_keepalive_timeout: Dur.optional(),
  auto_compaction_mode: Text.optional(),
  auto_compaction_retention: Text.optional(),
  enable_pprof: Bool.optional(),
  strict_reconfig_check: Bool.optional(),
  client_cert_auth: Bool.optional(),
  peer_client_cert_auth: Bool.optional(),
  auto_tls: Bool.optional(),
  peer_auto_tls: Bool.optional(),
  cipher_suites: List.optional(),
  tls_min_version: Text.optional(),
  tls_max_version: Text.optional(),
});

const BackupBlock = z.looseObject({
  enabled: Bool.optional(),
  interval: Dur.optional(),
  retention: z.preprocess((v) => (isNumericString(v) ? Number(v) : v), z.union([z.number().int().min(1), z.string().trim().min(1)], { error: 'must be a duration like 30d or a number of backups' })).optional(),
  s3_bucket: Text.optional(),
  s3_endpoint: Text.optional(),
  s3_region: Text.optional(),
  s3_prefix: z.string().optional(),
  encryption: z.preprocess((v) => (typeof v === 'string' && !/^(true|yes|on|false|no|off)$/i.test(v.trim()) ? v.trim() !== '' && !/^none$/i.test(v.trim()) : v), Bool).optional(),
});

const KubernetesIntegrationBlock = z.looseObject({
  enabled: Bool.optional(),
  compaction_interval: Dur.optional(),
  defrag_threshold: z.union([z.number().min(0), z.string().trim().min(1)], { error: 'must be a percentage like 30% or a size like 100MB' }).optional(),
  health_check_interval: Dur.optional(),
});

/** One taskserv ETCD config (one node's view of the cluster). Unknown fields pass through and are reported. */
export const TaskservEtcd = z.looseObject({
  cluster_name: Text.optional(),
  name: Text.optional(),
  etcd_name: Text,
  version: Text.optional(),
  cluster_list: NameList.optional(),
  initial_peers: List.optional(),
  /** This node's host name: a DNS SAN of its certificates. */
  hostname: Text.refine(isHostname, 'must be a DNS name').optional(),
  cli_ip: Host.optional(),
  cli_port: Port.optional(),
  peer_ip: Host.optional(),
  peer_port: Port.optional(),
  listen_peers: List.optional(),
  listen_clients: List.optional(),
  adv_listen_peers: List.optional(),
  adv_listen_clients: List.optional(),
  ssl_sign: Text.optional(),
  ca_sign: Text.optional(),
  long_sign: Int.optional(),
  ssl_curve: Text.optional(),
  sign_sha: Text.optional(),
  ca_sign_days: Int.optional(),
  sign_days: Int.optional(),
  c: Text.optional(),
  cn: Text.optional(),
  etcd_protocol: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(['https', 'http'], { error: 'must be https or http' })).optional(),
  source_url: Text.optional(),
  data_dir: Text.optional(),
  conf_path: Text.optional(),
  certs_path: Text.optional(),
  log_level: Text.optional(),
  log_out: List.optional(),
  token: Text.optional(),
  use_localhost: Bool.optional(),
  use_dns: Bool.optional(),
  domain_name: Text.optional(),
  discovery_srv: Text.optional(),
  dns_discovery: Bool.optional(),
  cipher: Text.optional(),
  performance: EtcdSettingsBlock.optional(),
  storage: EtcdSettingsBlock.optional(),
  security: EtcdSettingsBlock.optional(),
  backup: BackupBlock.optional(),
  kubernetes_integration: KubernetesIntegrationBlock.optional(),
});
export type TaskservEtcd = z.output<typeof TaskservEtcd>;

export const TASKSERV_FIELDS = Object.keys(TaskservEtcd.shape) as (keyof TaskservEtcd)[];

// ---------------------------------------------------------------------------
// Result

export interface Unsupported {
  /** Path into the taskserv input, e.g. `[1].discovery_srv`. */
  field: string;
  reason: string;
}

export interface TaskservImport {
  /** A valid native spec (as input: only what the configs say; defaults left to the schema). */
  spec: ClusterSpecInput;
  name: string;
  unsupported: Unsupported[];
  /** Findings of the import itself. The spec's own warnings (even member count, ...) come from parseClusterSpec(spec). */
  warnings: string[];
}

export interface ImportOptions {
  provider?: 'local';
  /** Cluster name chosen by the caller; wins over cluster_name/name and the derived name. */
  name?: string;
}

// ---------------------------------------------------------------------------
// Input shapes

interface Located {
  /** undefined when the entry is not an object (reported in order with the others). */
  raw?: Record<string, unknown>;
  /** Rendered path of the config in the input: '', '[1]', 'etcd', '[0].ETCD'. */
  path: string;
}

const WRAPPER_KEYS = ['etcd', 'ETCD', 'Etcd'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function unwrapConfigs(input: unknown, path: string, unsupported: Unsupported[]): Located[] {
  if (Array.isArray(input)) {
    return input.flatMap((v, i) => unwrapConfigs(v, `${path}[${i}]`, unsupported));
  }
  if (!isPlainObject(input)) return [{ path }];
  const wrapper = WRAPPER_KEYS.find((k) => k in input);
  if (wrapper && !('etcd_name' in input) && (isPlainObject(input[wrapper]) || Array.isArray(input[wrapper]))) {
    for (const k of Object.keys(input)) {
      if (k !== wrapper) unsupported.push({ field: joinPath(path, k), reason: `ignored: only the "${wrapper}" config is imported` });
    }
    return unwrapConfigs(input[wrapper], joinPath(path, wrapper), unsupported);
  }
  return [{ raw: input, path }];
}

/** KCL emits unset optional attributes as null: treat them as absent. */
function stripNulls(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue;
    out[k] = isPlainObject(x) ? stripNulls(x) : x;
  }
  return out;
}

interface Cfg {
  c: TaskservEtcd;
  raw: Record<string, unknown>;
  path: string;
}

const f = (cfg: { path: string }, field: string) => joinPath(cfg.path, field);

/** Path of entry k of a list field: `initial_peers[1]` when the input was a list, else the field. */
function listEntryPath(cfg: Omit<Cfg, 'c'>, field: string, k: number): string {
  return Array.isArray(cfg.raw[field]) ? `${f(cfg, field)}[${k}]` : f(cfg, field);
}

// ---------------------------------------------------------------------------
// Small value mappers

interface Endpoint {
  scheme?: string;
  host: string;
  port?: number;
}

export function parseEndpoint(s: string): Endpoint | undefined {
  const m = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\[[^\]]*\]|[^:/\s[\]]+)(?::(\d{1,5}))?\/?$/i.exec(s.trim());
  if (!m) return undefined;
  return { scheme: m[1]?.toLowerCase(), host: m[2], port: m[3] !== undefined ? Number(m[3]) : undefined };
}

const BIND_ALL = new Set(['0.0.0.0', '::', '[::]']);
const isConcrete = (host: string) => !BIND_ALL.has(host);
const isLocalhost = (host: string) => host === '127.0.0.1' || host === 'localhost';

function keyAlgorithm(v: string): string {
  const s = v.trim().toLowerCase();
  if (s === 'rsa') return 'rsa';
  if (s === 'ecc' || s === 'ecdsa' || s === 'ec') return 'ecdsa';
  return s; // the native spec rejects it, and the error points back here
}

function curveName(v: string): string {
  const s = v.trim().toLowerCase();
  if (s === 'prime256v1' || s === 'secp256r1' || s === 'p-256' || s === 'p256') return 'P-256';
  if (s === 'secp384r1' || s === 'p-384' || s === 'p384') return 'P-384';
  return v;
}

function digestName(v: string): string {
  const m = /^(?:sha)?-?(256|384|512)$/i.exec(v.trim());
  return m ? `sha${m[1]}` : v;
}

function cipherName(v: string): string {
  const m = /^-?aes-?(128|192|256)(?:-cbc)?$/i.exec(v.trim());
  return m ? `aes-${m[1]}-cbc` : v;
}

function logLevel(v: string): string {
  const s = v.trim().toLowerCase();
  return s === 'warning' ? 'warn' : s;
}

const GITHUB_RELEASES_RE = /^https?:\/\/(www\.)?github\.com\/(etcd-io|coreos)\/etcd(\/|$)/i;

/**
 * source_url → artifactSource: the upstream GitHub releases (any URL of the
 * etcd-io/etcd or coreos/etcd repository) is `github`; anything else is a
 * mirror base URL, cut before the first versioned or templated path segment.
 */
export function artifactSourceFor(url: string): { source: string; trimmed: boolean } {
  const u = url.trim();
  if (u.toLowerCase() === 'github' || GITHUB_RELEASES_RE.test(u)) return { source: 'github', trimmed: false };
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)(\/.*)?$/i.exec(u);
  if (!m) return { source: u, trimmed: false };
  const segments = (m[2] ?? '').split('/').filter(Boolean);
  const cut = segments.findIndex((s) => /v?\d+\.\d+\.\d+/.test(s) || /[{}$%]/.test(s) || /\.(tar\.gz|tgz|zip)$/i.test(s));
  const kept = cut === -1 ? segments : segments.slice(0, cut);
  const source = `${m[1]}${kept.length ? `/${kept.join('/')}` : ''}`;
  return { source, trimmed: cut !== -1 };
}

const CLUSTER_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

function sanitizeClusterName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
}

/**
 * The cluster name when no cluster_name/name is given: the members' common
 * name prefix without trailing digits and separators (etcd-1, etcd-2 → etcd;
 * infra0..2 → infra), else the first member's name, else "etcd"; always made
 * a valid cluster name (lowercase, digits, dashes, ≤ 40 chars).
 */
export function clusterNameFor(memberNames: string[]): string {
  let prefix = memberNames[0] ?? '';
  for (const n of memberNames.slice(1)) {
    let i = 0;
    while (i < prefix.length && i < n.length && prefix[i] === n[i]) i++;
    prefix = prefix.slice(0, i);
  }
  const stem = sanitizeClusterName(prefix.replace(/[-_.\d]+$/, ''));
  if (stem) return stem;
  return sanitizeClusterName(memberNames[0] ?? '') || 'etcd';
}

// ---------------------------------------------------------------------------
// The import

/**
 * Fields that describe the cluster, not one node: every config that sets one
 * must agree. Per node, and free to differ: etcd_name, hostname, cn, the
 * addresses and ports, the paths, and `name` (the taskserv's own name for the
 * config; it names the cluster only when every config agrees on it).
 */
const CLUSTER_WIDE = [
  'cluster_name',
  'version',
  'token',
  'cluster_list',
  'initial_peers',
  'etcd_protocol',
  'ssl_sign',
  'ca_sign',
  'long_sign',
  'ssl_curve',
  'sign_sha',
  'ca_sign_days',
  'sign_days',
  'c',
  'cipher',
  'source_url',
  'log_level',
  'log_out',
  'use_localhost',
  'use_dns',
  'domain_name',
  'discovery_srv',
  'dns_discovery',
  'performance',
  'storage',
  'security',
  'backup',
  'kubernetes_integration',
] as const satisfies readonly (keyof TaskservEtcd)[];

function comparable(field: string, v: unknown): string {
  if (field === 'cluster_list') return JSON.stringify([...(v as string[]).map((e) => e.split('=')[0])].sort());
  if (field === 'initial_peers') return JSON.stringify([...(v as string[])].sort());
  return stableJson(v);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

interface Peer {
  name: string;
  url: Endpoint;
  text: string;
  path: string;
}

type Provenance = Map<string, string>;

interface MemberDraft {
  name: string;
  address: string;
  listenAddress?: string;
  clientPort?: number;
  peerPort: number;
  paths?: { dataDir?: string; confDir?: string; certsDir?: string };
  prov: Record<string, string>;
}

const TUNABLE_KEYS: Record<string, string> = {
  heartbeat_interval: 'heartbeatInterval',
  election_timeout: 'electionTimeout',
  snapshot_count: 'snapshotCount',
  max_snapshots: 'maxSnapshots',
  max_wals: 'maxWals',
  quota_backend_bytes: 'quotaBackendBytes',
  max_request_bytes: 'maxRequestBytes',
  max_txn_ops: 'maxTxnOps',
  grpc_keepalive_interval: 'grpcKeepaliveInterval',
  grpc_keepalive_timeout: 'grpcKeepaliveTimeout',
  auto_compaction_mode: 'autoCompactionMode',
  auto_compaction_retention: 'autoCompactionRetention',
  enable_pprof: 'enablePprof',
  strict_reconfig_check: 'strictReconfigCheck',
};

/** Settings etcdfleet fixes itself: value → reason when the value asks for something else. */
const FIXED_SETTINGS: Record<string, (v: unknown) => string | undefined> = {
  client_cert_auth: (v) => (v === false ? 'etcdfleet always requires client certificates (client-cert-auth is on)' : undefined),
  peer_client_cert_auth: (v) => (v === false ? 'etcdfleet always requires peer certificates (peer-client-cert-auth is on)' : undefined),
  auto_tls: (v) => (v === true ? 'etcdfleet issues member certificates from its own CA; auto-TLS is not used' : undefined),
  peer_auto_tls: (v) => (v === true ? 'etcdfleet issues peer certificates from its own CA; peer auto-TLS is not used' : undefined),
  cipher_suites: () => 'TLS cipher suites are not configurable yet; etcd defaults are used',
  tls_min_version: () => 'the TLS minimum version is not configurable yet; etcd defaults are used',
  tls_max_version: () => 'the TLS maximum version is not configurable yet; etcd defaults are used',
};

const DEFAULT_CLIENT_PORT = 2379;
const DEFAULT_PEER_PORT = 2380;

/**
 * Maps taskserv ETCD configs to a native cluster spec. Throws ValidationError
 * (400) with paths into the taskserv input when the configs are malformed or
 * inconsistent, or when the mapped spec is invalid (e.g. non-loopback
 * addresses with the local provider).
 */
export function importTaskserv(input: unknown, opts: ImportOptions = {}): TaskservImport {
  const issues: Issue[] = [];
  const unsupported: Unsupported[] = [];
  const warnings: string[] = [];

  const located = unwrapConfigs(input, '', unsupported);
  if (located.length === 0) issues.push({ path: '', message: 'no taskserv ETCD config found' });
  if (located.length > MAX_LIST) throw new ValidationError([{ path: '', message: `${located.length} configs: a cluster has at most ${MAX_MEMBERS} members` }]);

  // The protocol URLs are checked against: the first one given (a disagreement is reported below).
  const given = located.map((l) => l.raw?.etcd_protocol).find((p): p is string => typeof p === 'string' && /^\s*https?\s*$/i.test(p));
  const protocol = given?.trim().toLowerCase() ?? 'https';
  const cfgs: Cfg[] = [];
  for (const l of located) {
    if (!l.raw) {
      issues.push({ path: l.path, message: 'expected a taskserv ETCD config (an object with etcd_name, ...)' });
      continue;
    }
    const raw = stripNulls(l.raw);
    const r = TaskservEtcd.safeParse(raw);
    if (!r.success) issues.push(...zodIssues(r.error, l.path));
    else cfgs.push({ c: r.data, raw, path: l.path });
    checkAddresses({ raw, path: l.path }, protocol, issues);
  }
  if (issues.length) throw new ValidationError(issues);

  reportUnknownFields(cfgs, unsupported);
  checkAgreement(cfgs, issues);
  const names = new Map<string, Cfg>();
  for (const cfg of cfgs) {
    const prev = names.get(cfg.c.etcd_name);
    if (prev) issues.push({ path: f(cfg, 'etcd_name'), message: `duplicate etcd_name "${cfg.c.etcd_name}" (also ${f(prev, 'etcd_name')})` });
    else names.set(cfg.c.etcd_name, cfg);
  }
  if (issues.length) throw new ValidationError(issues);

  /** The first config (in input order) that sets a cluster-wide field. */
  const first = <K extends keyof TaskservEtcd>(k: K): { v: NonNullable<TaskservEtcd[K]>; cfg: Cfg } | undefined => {
    const cfg = cfgs.find((x) => x.c[k] !== undefined);
    return cfg ? { v: cfg.c[k] as NonNullable<TaskservEtcd[K]>, cfg } : undefined;
  };

  const useLocalhost = first('use_localhost')?.v ?? false;

  // Membership: cluster_list, else initial_peers, else the configs themselves.
  const peers = collectPeers(first('initial_peers')?.cfg, issues);
  const clusterList = first('cluster_list');
  const peerByName = new Map(peers.map((p) => [p.name, p]));
  let memberNames: string[];
  if (clusterList) {
    const listed = new Set<string>();
    clusterList.v.forEach((entry, k) => {
      const name = entry.split('=')[0].trim();
      const at = listEntryPath(clusterList.cfg, 'cluster_list', k);
      if (listed.has(name)) issues.push({ path: at, message: `"${name}" is listed twice` });
      else listed.add(name);
      if (entry.includes('=') && !peerByName.has(name)) {
        const p = parsePeer(entry, at);
        peers.push(p);
        peerByName.set(name, p);
      }
    });
    memberNames = [...listed];
    for (const p of peers) {
      if (!listed.has(p.name)) issues.push({ path: p.path, message: `"${p.name}" is not in cluster_list (${memberNames.join(', ')})` });
    }
  } else if (peers.length) {
    memberNames = peers.map((p) => p.name);
  } else {
    memberNames = cfgs.map((x) => x.c.etcd_name);
  }
  const known = new Set(memberNames);
  for (const cfg of cfgs) {
    if (!known.has(cfg.c.etcd_name)) {
      const list = clusterList ? 'cluster_list' : 'initial_peers';
      issues.push({ path: f(cfg, 'etcd_name'), message: `"${cfg.c.etcd_name}" is not in ${list} (${memberNames.join(', ')})` });
    }
  }
  if (issues.length) throw new ValidationError(issues);

  // Members.
  const drafts: MemberDraft[] = [];
  for (const name of memberNames) {
    const cfg = names.get(name);
    const peer = peerByName.get(name);
    if (cfg) {
      const d = memberFromConfig(cfg, protocol, useLocalhost, issues, unsupported);
      if (!d) continue;
      if (peer && (peer.url.host !== d.address || (peer.url.port ?? DEFAULT_PEER_PORT) !== d.peerPort)) {
        issues.push({
          path: peer.path,
          message: `lists ${name} at ${peer.text.split('=').slice(1).join('=')}, but ${name}'s own config (${cfg.path || 'the input'}) advertises ${protocol}://${d.address}:${d.peerPort}`,
        });
      }
      drafts.push(d);
    } else if (peer) {
      drafts.push({ name, address: peer.url.host, peerPort: peer.url.port ?? DEFAULT_PEER_PORT, prov: { address: peer.path, peerPort: peer.path, name: peer.path } });
    } else {
      issues.push({ path: clusterList ? f(clusterList.cfg, 'cluster_list') : '', message: `member "${name}" has no config of its own and no initial_peers entry, so its address is unknown` });
    }
  }
  if (issues.length) throw new ValidationError(issues);

  const prov: Provenance = new Map();
  const spec: ClusterSpecInput = { name: '', members: [] };

  // Name.
  const taskservNames = new Set(cfgs.flatMap((x) => (x.c.name !== undefined ? [x.c.name] : [])));
  const named = first('cluster_name') ?? (taskservNames.size === 1 ? first('name') : undefined);
  if (!first('cluster_name') && taskservNames.size > 1) warnings.push(`the configs name different taskservs (${[...taskservNames].join(', ')}), so none of them names the cluster`);
  let name: string;
  if (opts.name !== undefined) {
    name = opts.name;
    prov.set('name', 'name');
  }
  else if (named) {
    name = sanitizeClusterName(named.v) || clusterNameFor(memberNames);
    prov.set('name', f(named.cfg, named.cfg.c.cluster_name !== undefined ? 'cluster_name' : 'name'));
    if (name !== named.v) warnings.push(`cluster name "${named.v}" became "${name}" (lowercase letters, digits and dashes, up to 40 characters)`);
  } else {
    name = clusterNameFor(memberNames);
    warnings.push(`no cluster_name given: the cluster is named "${name}" after its members`);
  }
  spec.name = name;
  if (opts.provider) spec.provider = opts.provider;

  const version = first('version');
  if (version) {
    spec.version = version.v;
    prov.set('version', f(version.cfg, 'version'));
  }

  // Ports: the first config's become the cluster's; members that differ override.
  const portCfg = cfgs[0];
  const portDraft = drafts.find((d) => d.name === portCfg.c.etcd_name)!;
  const clusterClient = portDraft.clientPort ?? DEFAULT_CLIENT_PORT;
  const clusterPeer = portDraft.peerPort;
  spec.ports = { client: clusterClient, peer: clusterPeer };
  prov.set('ports.client', portDraft.prov.clientPort);
  prov.set('ports.peer', portDraft.prov.peerPort);

  // Paths: likewise.
  const pathFields = [
    ['data_dir', 'dataDir'],
    ['conf_path', 'confDir'],
    ['certs_path', 'certsDir'],
  ] as const;
  const clusterPaths: Record<string, string> = {};
  for (const [field, key] of pathFields) {
    const src = first(field);
    if (!src) continue;
    clusterPaths[key] = field === 'conf_path' ? confDir(src.v, f(src.cfg, field), warnings) : src.v;
    prov.set(`paths.${key}`, f(src.cfg, field));
  }
  if (Object.keys(clusterPaths).length) spec.paths = clusterPaths;

  spec.members = drafts.map((d, i) => {
    const m: NonNullable<ClusterSpecInput['members']>[number] = { name: d.name, address: d.address };
    const at = (k: string) => `members.${i}.${k}`;
    prov.set(at('name'), d.prov.name);
    prov.set(at('address'), d.prov.address);
    if (d.listenAddress !== undefined) {
      m.listenAddress = d.listenAddress;
      prov.set(at('listenAddress'), d.prov.listenAddress);
    }
    if (d.clientPort !== undefined && d.clientPort !== clusterClient) {
      m.clientPort = d.clientPort;
      prov.set(at('clientPort'), d.prov.clientPort);
    }
    if (d.peerPort !== clusterPeer) {
      m.peerPort = d.peerPort;
      prov.set(at('peerPort'), d.prov.peerPort);
    }
    // The taskserv has no metrics port. Members sharing a host each need their own:
    // etcd's convention (2379/2380/2381) puts it next to the peer port.
    // (A shared peer port is a clash of its own; the spec validation reports that one.)
    const host = d.listenAddress ?? d.address;
    const sameHost = drafts.slice(0, i).filter((o) => (o.listenAddress ?? o.address) === host);
    if (sameHost.length && !sameHost.some((o) => o.peerPort === d.peerPort)) {
      m.metricsPort = d.peerPort + 1;
      prov.set(at('metricsPort'), d.prov.peerPort);
      warnings.push(`${d.name} shares ${host} with another member: its metrics listen on port ${d.peerPort + 1}`);
    }
    const cfg = names.get(d.name);
    if (cfg) {
      // The node's own names: its certificates' common name and DNS SANs.
      if (cfg.c.hostname !== undefined) {
        m.hostname = cfg.c.hostname;
        prov.set(at('hostname'), f(cfg, 'hostname'));
      }
      if (cfg.c.cn !== undefined) {
        m.commonName = cfg.c.cn;
        prov.set(at('commonName'), f(cfg, 'cn'));
      }
      const paths: Record<string, string> = {};
      for (const [field, key] of pathFields) {
        const v = cfg.c[field];
        if (v === undefined) continue;
        const dir = field === 'conf_path' ? confDir(v, f(cfg, field), []) : v;
        if (dir !== clusterPaths[key]) {
          paths[key] = dir;
          prov.set(at(`paths.${key}`), f(cfg, field));
        }
      }
      if (Object.keys(paths).length) m.paths = paths;
    }
    return m;
  });

  mapTls(first, spec, prov, warnings);
  // The CA is the cluster's: its subject is the cluster name (CN <name>-ca) and c.
  spec.tls = { ...spec.tls, subject: { ...spec.tls?.subject, commonName: name } };
  prov.set('tls.subject.commonName', prov.get('name')!);
  if (useLocalhost && (opts.provider ?? 'local') === 'local') localhostOnOneMachine(spec, first('use_localhost')!.cfg, unsupported);
  mapArtifacts(first, spec, prov, warnings);
  mapLogging(first, spec, prov);
  const token = first('token');
  if (token) {
    spec.token = token.v;
    prov.set('token', f(token.cfg, 'token'));
  }
  mapDns(first, spec, prov, unsupported, warnings);
  mapTunables(cfgs, spec, prov, issues, unsupported);
  mapBackup(first, spec, prov, unsupported);
  mapMaintenance(first, spec, prov, unsupported, warnings);
  if (issues.length) throw new ValidationError(issues);

  // The mapped spec must be valid; its own warnings come from parseClusterSpec where it is submitted.
  try {
    parseClusterSpec(spec);
  } catch (e) {
    if (isValidationError(e)) throw remap(e, prov);
    throw e;
  }
  return { spec, name, unsupported, warnings };
}

function reportUnknownFields(cfgs: Cfg[], unsupported: Unsupported[]): void {
  const known = new Set<string>(TASKSERV_FIELDS as string[]);
  const blockKnown: Record<string, Set<string>> = {
    performance: new Set(Object.keys(EtcdSettingsBlock.shape)),
    storage: new Set(Object.keys(EtcdSettingsBlock.shape)),
    security: new Set(Object.keys(EtcdSettingsBlock.shape)),
    backup: new Set(Object.keys(BackupBlock.shape)),
    kubernetes_integration: new Set(Object.keys(KubernetesIntegrationBlock.shape)),
  };
  for (const cfg of cfgs) {
    for (const k of Object.keys(cfg.raw)) {
      if (!known.has(k)) unsupported.push({ field: f(cfg, k), reason: 'unknown field: not part of the taskserv ETCD schema etcdfleet maps; ignored' });
    }
    for (const [block, keys] of Object.entries(blockKnown)) {
      const b = cfg.raw[block];
      if (!isPlainObject(b)) continue;
      for (const k of Object.keys(b)) {
        if (!keys.has(k)) unsupported.push({ field: joinPath(f(cfg, block), k), reason: `unknown ${block} setting: ignored` });
      }
    }
  }
}

function checkAgreement(cfgs: Cfg[], issues: Issue[]): void {
  for (const field of CLUSTER_WIDE) {
    const setters = cfgs.filter((x) => x.c[field] !== undefined);
    if (setters.length < 2) continue;
    const ref = setters[0];
    const want = comparable(field, ref.c[field]);
    for (const other of setters.slice(1)) {
      if (comparable(field, other.c[field]) !== want) {
        issues.push({
          path: f(other, field),
          message: `differs from ${f(ref, field)}: ${field} describes the whole cluster, so every node's config must agree (${short(other.raw[field])} vs ${short(ref.raw[field])})`,
        });
      }
    }
  }
}

function short(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : stableJson(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const URL_FIELDS = ['listen_peers', 'listen_clients', 'adv_listen_peers', 'adv_listen_clients'] as const;
const PEER_FORMAT = 'a name=peerURL entry (like etcd-1=https://10.0.0.1:2380)';

/** What is wrong with one URL or host:port entry, if anything. */
function endpointProblem(text: string, protocol: string): string | undefined {
  const e = parseEndpoint(text);
  if (!e) return `"${text}" is not a URL or host:port`;
  if (e.scheme && e.scheme !== protocol) return `${e.scheme}:// in "${text}" does not match etcd_protocol ${protocol}`;
  if (!isAddress(e.host) && !BIND_ALL.has(e.host)) return `"${e.host}" in "${text}" is not an IPv4 address or a DNS name`;
  if (e.port !== undefined && (e.port < 1 || e.port > 65535)) return `port ${e.port} in "${text}" is not between 1 and 65535`;
  return undefined;
}

function peerProblem(entry: string, protocol: string): string | undefined {
  const eq = entry.indexOf('=');
  if (eq <= 0 || !entry.slice(0, eq).trim()) return `"${entry}" is not ${PEER_FORMAT}`;
  return endpointProblem(entry.slice(eq + 1), protocol);
}

/**
 * Every address-bearing list entry of one config, checked on its own: a
 * malformed host, a port out of range or a scheme other than etcd_protocol is
 * an issue even where another field would win. (cli_ip, peer_ip and the ports
 * are checked by the schema.)
 */
function checkAddresses(cfg: Omit<Cfg, 'c'>, protocol: string, issues: Issue[]): void {
  const check = (field: string, separator: RegExp, problemOf: (entry: string) => string | undefined) => {
    rawList(cfg.raw[field], separator).forEach((entry, k) => {
      const problem = problemOf(entry);
      if (problem) issues.push({ path: listEntryPath(cfg, field, k), message: problem });
    });
  };
  for (const field of URL_FIELDS) check(field, /,/, (e) => endpointProblem(e, protocol));
  check('initial_peers', /,/, (e) => peerProblem(e, protocol));
  check('cluster_list', /[\s,]+/, (e) => (e.includes('=') ? peerProblem(e, protocol) : undefined));
}

/**
 * The string entries of a list field as given (a list, or a separated
 * string), read from the raw config so that a config whose other fields
 * fail the schema still gets its addresses checked in the same answer.
 * Entries of the wrong type are the schema's to report.
 */
function rawList(v: unknown, separator: RegExp): string[] {
  if (typeof v === 'string') return v.split(separator).map((x) => x.trim()).filter(Boolean);
  if (Array.isArray(v) && v.length <= MAX_LIST) return v.map((x) => (typeof x === 'string' ? x.trim() : ''));
  return [];
}

/** A `name=peerURL` entry that checkAddresses accepted. */
function parsePeer(entry: string, path: string): Peer {
  const eq = entry.indexOf('=');
  return { name: entry.slice(0, eq).trim(), url: parseEndpoint(entry.slice(eq + 1))!, text: entry, path };
}

function collectPeers(cfg: Cfg | undefined, issues: Issue[]): Peer[] {
  if (!cfg?.c.initial_peers) return [];
  const peers = new Map<string, Peer>();
  cfg.c.initial_peers.forEach((entry, k) => {
    const p = parsePeer(entry, listEntryPath(cfg, 'initial_peers', k));
    if (peers.has(p.name)) issues.push({ path: p.path, message: `"${p.name}" is listed twice` });
    else peers.set(p.name, p);
  });
  return [...peers.values()];
}

interface Source {
  host?: string;
  port?: number;
  hostField?: string;
  portField?: string;
}

/** The first URL of a list field (checkAddresses accepted them all); the rest are reported. */
function urlField(cfg: Cfg, field: (typeof URL_FIELDS)[number], useLocalhost: boolean, unsupported: Unsupported[]): Source | undefined {
  const list = cfg.c[field];
  if (!list) return undefined;
  const [main, ...rest] = list.map((text) => parseEndpoint(text)!);
  rest.forEach((e, k) => {
    if (useLocalhost && field.endsWith('clients') && isLocalhost(e.host)) return; // use_localhost provides it
    unsupported.push({ field: listEntryPath(cfg, field, k + 1), reason: `one URL per member: ${list[0]} is used, ${list[k + 1]} is not${isLocalhost(e.host) ? ' (use_localhost adds 127.0.0.1 to the client URLs)' : ''}` });
  });
  const at = listEntryPath(cfg, field, 0);
  return { host: main.host, port: main.port, hostField: at, portField: main.port !== undefined ? at : undefined };
}

function memberFromConfig(cfg: Cfg, protocol: string, useLocalhost: boolean, issues: Issue[], unsupported: Unsupported[]): MemberDraft | undefined {
  const c = cfg.c;
  const ipField = (primary: 'peer_ip' | 'cli_ip') => {
    const other = primary === 'peer_ip' ? 'cli_ip' : 'peer_ip';
    if (c[primary] !== undefined) return { host: c[primary], hostField: f(cfg, primary) };
    if (c[other] !== undefined) return { host: c[other], hostField: f(cfg, other) };
    return { host: undefined, hostField: undefined };
  };
  const plain = (kind: 'peer' | 'cli'): Source => {
    const portKey = kind === 'peer' ? 'peer_port' : 'cli_port';
    return {
      ...ipField(kind === 'peer' ? 'peer_ip' : 'cli_ip'),
      port: c[portKey] ?? (kind === 'peer' ? DEFAULT_PEER_PORT : DEFAULT_CLIENT_PORT),
      portField: c[portKey] !== undefined ? f(cfg, portKey) : undefined,
    };
  };
  const withDefaults = (s: Source | undefined, base: Source): Source =>
    s ? { host: s.host, hostField: s.hostField, port: s.port ?? base.port, portField: s.port !== undefined ? s.portField : base.portField } : base;

  const peerBase = plain('peer');
  const cliBase = plain('cli');
  const advPeer = withDefaults(urlField(cfg, 'adv_listen_peers', useLocalhost, unsupported), peerBase);
  const advClient = withDefaults(urlField(cfg, 'adv_listen_clients', useLocalhost, unsupported), cliBase);
  const listenPeer = withDefaults(urlField(cfg, 'listen_peers', useLocalhost, unsupported), peerBase);
  const listenClient = withDefaults(urlField(cfg, 'listen_clients', useLocalhost, unsupported), cliBase);

  if (advPeer.host === undefined) {
    issues.push({ path: f(cfg, 'peer_ip'), message: `required: the address of member "${c.etcd_name}" (peer_ip, cli_ip or adv_listen_peers)` });
    return undefined;
  }
  const adv = isConcrete(advPeer.host) ? advPeer : advClient.host !== undefined && isConcrete(advClient.host) ? advClient : undefined;
  if (!adv) {
    issues.push({
      path: advPeer.hostField ?? f(cfg, 'peer_ip'),
      message: `${advPeer.host} binds all interfaces but cannot be advertised to other members: set adv_listen_peers (or peer_ip) to the member's address`,
    });
    return undefined;
  }
  const address = adv.host!;
  const prov: Record<string, string> = { name: f(cfg, 'etcd_name'), address: adv.hostField! };

  if (advClient.host !== undefined && isConcrete(advClient.host) && advClient.host !== address) {
    unsupported.push({
      field: advClient.hostField!,
      reason: `one address per member: clients are told to use ${address} (the peer address), not ${advClient.host}`,
    });
  }

  // Bind address: one per member for clients and peers.
  let bind = listenPeer.host ?? address;
  let bindField = listenPeer.hostField;
  const lc = listenClient.host ?? address;
  if (lc !== bind) {
    if (!isConcrete(lc) || !isConcrete(bind)) {
      if (isConcrete(bind)) {
        bind = lc;
        bindField = listenClient.hostField;
      }
      unsupported.push({
        field: (isConcrete(lc) ? listenClient.hostField : listenPeer.hostField) ?? f(cfg, 'listen_clients'),
        reason: `one listen address per member: client and peer URLs both bind ${bind}`,
      });
    } else if (!(useLocalhost && isLocalhost(lc))) {
      unsupported.push({
        field: listenClient.hostField ?? f(cfg, 'listen_clients'),
        reason: `one listen address per member: client and peer URLs both bind ${bind}, not ${lc}`,
      });
    }
  }

  const clientPort = advClient.port ?? DEFAULT_CLIENT_PORT;
  const peerPort = advPeer.port ?? DEFAULT_PEER_PORT;
  prov.clientPort = advClient.portField ?? advClient.hostField ?? f(cfg, 'cli_port');
  prov.peerPort = advPeer.portField ?? advPeer.hostField ?? f(cfg, 'peer_port');
  if (listenClient.port !== undefined && listenClient.port !== clientPort) {
    unsupported.push({ field: listenClient.portField ?? f(cfg, 'listen_clients'), reason: `members listen on the port they advertise: clients use ${clientPort}, not ${listenClient.port}` });
  }
  if (listenPeer.port !== undefined && listenPeer.port !== peerPort) {
    unsupported.push({ field: listenPeer.portField ?? f(cfg, 'listen_peers'), reason: `members listen on the port they advertise: peers use ${peerPort}, not ${listenPeer.port}` });
  }

  const d: MemberDraft = { name: c.etcd_name, address, clientPort, peerPort, prov };
  if (bind !== address) {
    d.listenAddress = bind;
    prov.listenAddress = bindField ?? listenClient.hostField ?? adv.hostField!;
  }
  return d;
}

/**
 * use_localhost on the local provider: every member runs on this one machine,
 * so members that share a client port cannot all listen on 127.0.0.1 as well
 * (on separate servers they can). Then the extra listener is left out and
 * said so, rather than refusing configs written for separate servers.
 */
function localhostOnOneMachine(spec: ClusterSpecInput, cfg: Cfg, unsupported: Unsupported[]): void {
  const ports = new Map<number, string[]>();
  for (const m of spec.members ?? []) {
    const listen = m.listenAddress ?? m.address;
    if (listen === '127.0.0.1' || listen === '0.0.0.0') continue;
    const port = m.clientPort ?? spec.ports?.client ?? DEFAULT_CLIENT_PORT;
    ports.set(port, [...(ports.get(port) ?? []), m.name]);
  }
  const shared = [...ports.entries()].filter(([, names]) => names.length > 1);
  if (!shared.length) return;
  spec.tls = { ...spec.tls, useLocalhost: false };
  const [port, names] = shared[0];
  unsupported.push({
    field: f(cfg, 'use_localhost'),
    reason: `the local provider runs every member on this machine, where ${names.join(', ')} cannot all listen on 127.0.0.1:${port}: members listen on their own addresses only (their certificates still carry 127.0.0.1)`,
  });
}

function confDir(v: string, path: string, warnings: string[]): string {
  const m = /^(.*)\/([^/]+\.(ya?ml|conf|json|env))$/i.exec(v);
  if (!m) return v;
  if (m[2] !== 'config.yaml') warnings.push(`${path}: etcdfleet writes the etcd config as config.yaml in ${m[1] || '/'}, not ${m[2]}`);
  return m[1] || '/';
}

type First = <K extends keyof TaskservEtcd>(k: K) => { v: NonNullable<TaskservEtcd[K]>; cfg: Cfg } | undefined;

function mapTls(first: First, spec: ClusterSpecInput, prov: Provenance, warnings: string[]): void {
  const tls: NonNullable<ClusterSpecInput['tls']> = {};
  const protocol = first('etcd_protocol');
  if (protocol) {
    tls.enabled = protocol.v === 'https';
    prov.set('tls.enabled', f(protocol.cfg, 'etcd_protocol'));
  }
  const ssl = first('ssl_sign');
  const ca = first('ca_sign') ?? ssl;
  const caField = first('ca_sign') ? 'ca_sign' : 'ssl_sign';
  const leafKey: Record<string, unknown> = {};
  const caKey: Record<string, unknown> = {};
  if (ssl) {
    leafKey.algorithm = keyAlgorithm(ssl.v);
    prov.set('tls.leafKey.algorithm', f(ssl.cfg, 'ssl_sign'));
  }
  if (ca) {
    caKey.algorithm = keyAlgorithm(ca.v);
    prov.set('tls.caKey.algorithm', f(ca.cfg, caField));
  }
  const keys = [
    ['leafKey', leafKey],
    ['caKey', caKey],
  ] as const;
  const longSign = first('long_sign');
  if (longSign) {
    const rsa = keys.filter(([, k]) => (k.algorithm ?? 'rsa') === 'rsa');
    for (const [n, k] of rsa) {
      k.rsaBits = longSign.v;
      prov.set(`tls.${n}.rsaBits`, f(longSign.cfg, 'long_sign'));
    }
    if (!rsa.length) warnings.push(`${f(longSign.cfg, 'long_sign')}: not used, no key is RSA`);
  }
  const curve = first('ssl_curve');
  if (curve) {
    const ec = keys.filter(([, k]) => k.algorithm === 'ecdsa');
    for (const [n, k] of ec) {
      k.curve = curveName(curve.v);
      prov.set(`tls.${n}.curve`, f(curve.cfg, 'ssl_curve'));
    }
    if (!ec.length) warnings.push(`${f(curve.cfg, 'ssl_curve')}: not used, no key is ECC`);
  }
  if (Object.keys(leafKey).length) tls.leafKey = leafKey as typeof tls.leafKey;
  if (Object.keys(caKey).length) tls.caKey = caKey as typeof tls.caKey;

  const sha = first('sign_sha');
  if (sha) {
    tls.digest = digestName(sha.v) as typeof tls.digest;
    prov.set('tls.digest', f(sha.cfg, 'sign_sha'));
  }
  const caDays = first('ca_sign_days');
  if (caDays) {
    tls.caDays = caDays.v;
    prov.set('tls.caDays', f(caDays.cfg, 'ca_sign_days'));
  }
  const days = first('sign_days');
  if (days) {
    tls.certDays = days.v;
    prov.set('tls.certDays', f(days.cfg, 'sign_days'));
  }
  const country = first('c');
  if (country) {
    tls.subject = { country: country.v.toUpperCase() };
    prov.set('tls.subject.country', f(country.cfg, 'c'));
  }
  const localhost = first('use_localhost');
  if (localhost) {
    tls.useLocalhost = localhost.v;
    prov.set('tls.useLocalhost', f(localhost.cfg, 'use_localhost'));
  }
  const cipher = first('cipher');
  if (cipher) {
    tls.caKeyCipher = cipherName(cipher.v) as typeof tls.caKeyCipher;
    prov.set('tls.caKeyCipher', f(cipher.cfg, 'cipher'));
  }
  if (Object.keys(tls).length) spec.tls = tls;
}

function mapArtifacts(first: First, spec: ClusterSpecInput, prov: Provenance, warnings: string[]): void {
  const src = first('source_url');
  if (!src) return;
  const { source, trimmed } = artifactSourceFor(src.v);
  spec.artifactSource = source;
  prov.set('artifactSource', f(src.cfg, 'source_url'));
  if (trimmed) warnings.push(`${f(src.cfg, 'source_url')}: using ${source} as the mirror base (releases are fetched from <base>/<version>/etcd-<version>-linux-amd64.tar.gz)`);
}

function mapLogging(first: First, spec: ClusterSpecInput, prov: Provenance): void {
  const level = first('log_level');
  const out = first('log_out');
  if (!level && !out) return;
  const logging: NonNullable<ClusterSpecInput['logging']> = {};
  if (level) {
    logging.level = logLevel(level.v) as typeof logging.level;
    prov.set('logging.level', f(level.cfg, 'log_level'));
  }
  if (out) {
    logging.outputs = out.v;
    prov.set('logging.outputs', f(out.cfg, 'log_out'));
  }
  spec.logging = logging;
}

function mapDns(first: First, spec: ClusterSpecInput, prov: Provenance, unsupported: Unsupported[], warnings: string[]): void {
  const useDns = first('use_dns');
  const domain = first('domain_name');
  if (domain) {
    // Certificates carry <etcd_name>.<domain> and <hostname>.<domain> whether or not DNS is used to reach members.
    spec.dns = { domain: domain.v };
    prov.set('dns.domain', f(domain.cfg, 'domain_name'));
  } else if (useDns?.v) {
    warnings.push(`${f(useDns.cfg, 'use_dns')}: no domain_name is set, so no DNS names are added`);
  }
  const srv = first('discovery_srv');
  const dnsDiscovery = first('dns_discovery');
  if (dnsDiscovery?.v === false) {
    if (srv) warnings.push(`${f(srv.cfg, 'discovery_srv')}: not used because dns_discovery is false`);
    return;
  }
  const reason = 'DNS SRV bootstrap is not available yet: members bootstrap from the static member list';
  if (srv) unsupported.push({ field: f(srv.cfg, 'discovery_srv'), reason });
  else if (dnsDiscovery?.v) unsupported.push({ field: f(dnsDiscovery.cfg, 'dns_discovery'), reason });
}

function mapTunables(cfgs: Cfg[], spec: ClusterSpecInput, prov: Provenance, issues: Issue[], unsupported: Unsupported[]): void {
  // checkAgreement made every config agree on the blocks; the first config that has a block speaks for all.
  const tunables: Record<string, unknown> = {};
  const seen = new Map<string, { value: unknown; path: string }>();
  for (const block of ['performance', 'storage', 'security'] as const) {
    const cfg = cfgs.find((x) => x.c[block] !== undefined);
    const b = cfg?.c[block] as Record<string, unknown> | undefined;
    if (!cfg || !b) continue;
    for (const [k, v] of Object.entries(b)) {
      if (v === undefined) continue;
      const path = joinPath(f(cfg, block), k);
      const prev = seen.get(k);
      if (prev && stableJson(prev.value) !== stableJson(v)) {
        issues.push({ path, message: `conflicts with ${prev.path} (${short(v)} vs ${short(prev.value)})` });
        continue;
      }
      seen.set(k, { value: v, path });
      const native = TUNABLE_KEYS[k];
      if (native) {
        tunables[native] = k === 'auto_compaction_retention' ? String(v) : k === 'auto_compaction_mode' ? String(v).toLowerCase() : v;
        prov.set(`tunables.${native}`, path);
      } else if (FIXED_SETTINGS[k]) {
        const reason = FIXED_SETTINGS[k](v);
        if (reason) unsupported.push({ field: path, reason });
      }
    }
  }
  if (Object.keys(tunables).length) spec.tunables = tunables as ClusterSpecInput['tunables'];
}

function mapBackup(first: First, spec: ClusterSpecInput, prov: Provenance, unsupported: Unsupported[]): void {
  const src = first('backup');
  if (!src) return;
  const b = src.v;
  const at = (k: string) => joinPath(f(src.cfg, 'backup'), k);
  const backup: NonNullable<ClusterSpecInput['backup']> = { enabled: b.enabled ?? true };
  prov.set('backup', f(src.cfg, 'backup'));
  prov.set('backup.enabled', b.enabled !== undefined ? at('enabled') : f(src.cfg, 'backup'));
  if (b.interval !== undefined) {
    backup.interval = b.interval;
    prov.set('backup.interval', at('interval'));
  }
  if (typeof b.retention === 'number') {
    backup.keep = b.retention;
    prov.set('backup.keep', at('retention'));
  } else if (b.retention !== undefined) {
    backup.retention = b.retention;
    prov.set('backup.retention', at('retention'));
  }
  if (b.s3_bucket !== undefined) {
    // s3_bucket may be "bucket" or "s3://bucket/prefix".
    const m = /^(?:s3:\/\/)?([^/]+)(?:\/(.*))?$/.exec(b.s3_bucket);
    const s3: NonNullable<NonNullable<ClusterSpecInput['backup']>['s3']> = { bucket: m ? m[1] : b.s3_bucket };
    prov.set('backup.s3', at('s3_bucket'));
    prov.set('backup.s3.bucket', at('s3_bucket'));
    const prefix = b.s3_prefix ?? (m?.[2] ? m[2] : undefined);
    if (prefix !== undefined) {
      s3.prefix = prefix;
      prov.set('backup.s3.prefix', b.s3_prefix !== undefined ? at('s3_prefix') : at('s3_bucket'));
    }
    if (b.s3_endpoint !== undefined) {
      s3.endpoint = b.s3_endpoint;
      prov.set('backup.s3.endpoint', at('s3_endpoint'));
    }
    if (b.s3_region !== undefined) {
      s3.region = b.s3_region;
      prov.set('backup.s3.region', at('s3_region'));
    }
    backup.s3 = s3;
  } else {
    for (const k of ['s3_endpoint', 's3_region', 's3_prefix'] as const) {
      if (b[k] !== undefined) unsupported.push({ field: at(k), reason: 'ignored without s3_bucket: backups go to the service’s default store' });
    }
  }
  if (b.encryption !== undefined) {
    backup.encryption = b.encryption;
    prov.set('backup.encryption', at('encryption'));
  }
  spec.backup = backup;
}

function mapMaintenance(first: First, spec: ClusterSpecInput, prov: Provenance, unsupported: Unsupported[], warnings: string[]): void {
  const src = first('kubernetes_integration');
  if (!src) return;
  const k = src.v;
  const base = f(src.cfg, 'kubernetes_integration');
  const at = (x: string) => joinPath(base, x);
  if (k.enabled === false) {
    warnings.push(`${base}: disabled, so no compaction, defragmentation or health-check schedule is stored`);
    return;
  }
  const m: NonNullable<ClusterSpecInput['maintenance']> = {};
  prov.set('maintenance', base);
  if (k.compaction_interval !== undefined) {
    m.compactionInterval = k.compaction_interval;
    prov.set('maintenance.compactionInterval', at('compaction_interval'));
  }
  if (k.health_check_interval !== undefined) {
    m.healthCheckInterval = k.health_check_interval;
    prov.set('maintenance.healthCheckInterval', at('health_check_interval'));
  }
  if (k.defrag_threshold !== undefined) {
    const t = k.defrag_threshold;
    const pct = typeof t === 'string' ? /^(\d+(?:\.\d+)?)\s*%$/.exec(t) : null;
    if (pct) {
      m.defragThresholdPercent = Number(pct[1]);
      prov.set('maintenance.defragThresholdPercent', at('defrag_threshold'));
    } else if (typeof t === 'number' && t <= 100) {
      m.defragThresholdPercent = t;
      prov.set('maintenance.defragThresholdPercent', at('defrag_threshold'));
    } else {
      const bytes = parseSize(t);
      // An unreadable value is passed on as-is so the spec validation names the field.
      m.defragThresholdBytes = (bytes ?? t) as number;
      prov.set('maintenance.defragThresholdBytes', at('defrag_threshold'));
    }
  }
  spec.maintenance = m;
}

/** Re-addresses native spec issues to the taskserv fields they came from. */
function remap(err: ValidationError, prov: Provenance): ValidationError {
  const out: Issue[] = [];
  const seen = new Set<string>();
  for (const issue of err.issues) {
    const dotted = issue.path.replace(/\[(\d+)\]/g, '.$1');
    let path: string | undefined = prov.get(dotted);
    let message = issue.message;
    if (path === undefined) {
      // The closest mapped ancestor (e.g. backup.s3 for backup.s3.bucket).
      const parts = dotted.split('.');
      for (let n = parts.length - 1; n > 0 && path === undefined; n--) path = prov.get(parts.slice(0, n).join('.'));
      message = `${issue.path}: ${issue.message}`;
      if (path === undefined) {
        path = '';
        message = `in the spec derived from the configs, ${issue.path || 'the spec'}: ${issue.message}`;
      }
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return new ValidationError(out, err.status);
}
