// Taskserv import (see index.ts): the zod schema of one taskserv ETCD config
// and the value parsers its fields use.
import { z } from 'zod';
import { type ClusterSpecInput, isAddress, isHostname, MAX_MEMBERS } from '../spec';

// ---------------------------------------------------------------------------
// Schema

const isNumericString = (v: unknown): v is string => typeof v === 'string' && /^\s*-?\d+\s*$/.test(v);

/** A type error that says "required" when the field is missing. */
const expected = (what: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? 'required' : what) });

const Bool = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    if (/^(true|yes|on)$/i.test(v.trim())) return true;
    if (/^(false|no|off)$/i.test(v.trim())) return false;
    return v;
  },
  z.boolean(expected('must be true or false')),
);

const Int = z.preprocess((v) => (isNumericString(v) ? Number(v) : v), z.number(expected('must be an integer')).int('must be an integer'));

const Text = z.preprocess(
  (v) => (typeof v === 'number' ? String(v) : v),
  z.string(expected('must be a string')).trim().min(1, 'must not be empty'),
);

/**
 * Longest list a config may carry (URLs, peers, log outputs): a cluster has at
 * most MAX_MEMBERS members, so anything much longer is a mistake or hostile,
 * and is refused before any per-entry work.
 */
export const MAX_LIST = 4 * MAX_MEMBERS;
const tooLong = `at most ${MAX_LIST} entries`;

/** A list, or a comma-separated string (URLs, peers, log outputs). */
const List = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : v,
  z.array(Text, { error: 'must be a list or a comma-separated string' }).min(1, 'must not be empty').max(MAX_LIST, tooLong),
);
/** Member names: a list, or a string separated by commas or spaces. */
const NameList = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v),
  z.array(Text, { error: 'must be a list or a comma- or space-separated string' }).min(1, 'must not be empty').max(MAX_LIST, tooLong),
);

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  if (!m || !(m[2].toLowerCase() in SIZE_UNITS)) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
}

const Size = z.preprocess((v) => parseSize(v) ?? v, z.number({ error: 'must be a byte count or a size like 8GB' }).int().min(0));

/** Durations stay strings for the native spec to check; bare numbers are seconds. */
const Dur = z.preprocess(
  (v) => (typeof v === 'number' ? `${v}s` : v),
  z.string({ error: 'must be a duration like 30s, 5m or 6h' }).trim().min(1),
);

const PORT_MESSAGE = 'must be a port between 1 and 65535';
const Port = z.preprocess(
  (v) => (isNumericString(v) ? Number(v) : v),
  z.number(expected(PORT_MESSAGE)).int(PORT_MESSAGE).min(1, PORT_MESSAGE).max(65535, PORT_MESSAGE),
);

/** An address field on its own: an IPv4 address or a DNS name, whichever field ends up being used. */
const Host = Text.refine(isAddress, 'must be an IPv4 address or a DNS name');

/** etcd settings; the same keys are accepted in performance, storage and security. */
export const EtcdSettingsBlock = z.looseObject({
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

export const BackupBlock = z.looseObject({
  enabled: Bool.optional(),
  interval: Dur.optional(),
  retention: z
    .preprocess(
      (v) => (isNumericString(v) ? Number(v) : v),
      z.union([z.number().int().min(1), z.string().trim().min(1)], { error: 'must be a duration like 30d or a number of backups' }),
    )
    .optional(),
  s3_bucket: Text.optional(),
  s3_endpoint: Text.optional(),
  s3_region: Text.optional(),
  s3_prefix: z.string().optional(),
  encryption: z
    .preprocess(
      (v) => (typeof v === 'string' && !/^(true|yes|on|false|no|off)$/i.test(v.trim()) ? v.trim() !== '' && !/^none$/i.test(v.trim()) : v),
      Bool,
    )
    .optional(),
});

export const KubernetesIntegrationBlock = z.looseObject({
  enabled: Bool.optional(),
  compaction_interval: Dur.optional(),
  defrag_threshold: z
    .union([z.number().min(0), z.string().trim().min(1)], { error: 'must be a percentage like 30% or a size like 100MB' })
    .optional(),
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
  etcd_protocol: z
    .preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(['https', 'http'], { error: 'must be https or http' }))
    .optional(),
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
  provider?: 'local' | 'ssh';
  /** Cluster name chosen by the caller; wins over cluster_name/name and the derived name. */
  name?: string;
}
