// The native cluster spec. Pure and deterministic: imported by the API, the
// workflows (for types and derived topology) and the activities.
import { z } from 'zod';
import { LogFilePath, MemberDirPath } from './paths';
import { GO_DURATION_RULE, RETENTION_RULE, durationSchema } from './duration';
import { DEFAULT_ETCD_VERSION, RELEASE_VERSION_RE, minorOf } from './release-version';
import { Address, isAddress, isHostname } from './hostnames';
import { DnsSpec } from './dns';
import { specRuleIssues, type LooseSpec } from './spec-rules';
import { whenever } from './salvage';
import { AuthSpec } from './auth';
import { RecoverySpec } from './recovery';

export { DEFAULT_ETCD_VERSION, minorOf, parseVersion } from './release-version';
export { isAddress, isHostname, isIPv4, isLoopbackV4 } from './hostnames';
export { DnsSpec, srvPeerHost } from './dns';

export const SUPPORTED_MINORS = ['3.5', '3.6'] as const;
export const MAX_MEMBERS = 9;

const CLUSTER_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
const MEMBER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const ABS_PATH_RE = /^\/[^\0\n\r]*$/;

export const EtcdVersion = z
  .string()
  .regex(RELEASE_VERSION_RE, 'must be an etcd release version like v3.5.10')
  .transform((v) => (v.startsWith('v') ? v : `v${v}`))
  .refine((v) => (SUPPORTED_MINORS as readonly string[]).includes(minorOf(v)), {
    message: `supported etcd minors: ${SUPPORTED_MINORS.join(', ')}`,
  });

const Port = z.number().int().min(1).max(65535);
const AbsPath = z
  .string()
  .regex(ABS_PATH_RE, 'must be an absolute path')
  .refine((s) => !s.split('/').includes('..'), 'must not contain ".." segments');

/** A certificate SAN: an IPv4 address or a DNS name (`*.` wildcards allowed). */
const SanName = z.string().refine((s) => isAddress(s.startsWith('*.') ? s.slice(2) : s), 'must be an IPv4 address or a DNS name');

export const MemberPaths = z.strictObject({
  dataDir: MemberDirPath.optional(),
  confDir: MemberDirPath.optional(),
  certsDir: MemberDirPath.optional(),
});

export const MemberSpec = z.strictObject({
  name: z.string().regex(MEMBER_NAME_RE, 'letters, digits, dot, dash, underscore; up to 63 chars'),
  /** Address other members and clients use (advertised URLs, certificate SANs). */
  address: Address.refine((s) => s !== '0.0.0.0', 'must be an address others can reach; bind all interfaces with listenAddress: 0.0.0.0'),
  /** Address etcd binds to; defaults to `address`. `0.0.0.0` binds all. */
  listenAddress: Address.optional(),
  clientPort: Port.optional(),
  peerPort: Port.optional(),
  metricsPort: Port.optional(),
  paths: MemberPaths.optional(),
  /** The member host's DNS name: a SAN of its certificates (with `<hostname>.<dns.domain>` when a domain is set). */
  hostname: z.string().refine(isHostname, 'must be a DNS name').optional(),
  /** Common name of the member's server and peer certificates (default: the member name); a DNS-shaped one is also a SAN. */
  commonName: z.string().min(1).max(64).optional(),
  /** Extra DNS names or IPs for this member's server and peer certificates only. */
  sans: z.array(SanName).max(32).optional(),
});

const KeySpec = z.strictObject({
  algorithm: z.enum(['rsa', 'ecdsa']).default('rsa'),
  rsaBits: z.literal([2048, 3072, 4096], { error: 'RSA key size must be 2048, 3072 or 4096 bits' }).default(2048),
  curve: z.enum(['P-256', 'P-384']).default('P-256'),
});

export const TlsSpec = z.strictObject({
  /** `false` runs plain http (taskserv etcd_protocol: http). */
  enabled: z.boolean().default(true),
  caKey: KeySpec.prefault({}),
  leafKey: KeySpec.prefault({}),
  digest: z.enum(['sha256', 'sha384', 'sha512']).default('sha256'),
  caDays: z.number().int().min(1).max(36500).default(3650),
  certDays: z.number().int().min(1).max(36500).default(365),
  subject: z
    .strictObject({
      country: z
        .string()
        .regex(/^[A-Za-z]{2}$/, 'a two-letter ISO 3166 country code')
        .optional(),
      organization: z.string().min(1).max(64).optional(),
      commonName: z.string().min(1).max(64).default('etcd'),
    })
    .prefault({}),
  /** Extra DNS names or IPs added to every member's server and peer certificate. */
  extraSans: z.array(SanName).max(64).default([]),
  /** Adds 127.0.0.1 and localhost to SANs and client listen URLs. */
  useLocalhost: z.boolean().default(false),
  /** Encrypts the stored CA private key (PKCS#8) with this cipher and the service's CA passphrase. */
  caKeyCipher: z.enum(['aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc']).optional(),
});

/** etcd's own time.Duration settings (grpc keepalive): 1ms to 24h. */
const GoDuration = durationSchema(GO_DURATION_RULE);

export const Tunables = z.strictObject({
  heartbeatInterval: z.number().int().min(10).max(10_000).optional(),
  electionTimeout: z.number().int().min(50).max(50_000).optional(),
  snapshotCount: z.number().int().min(1).optional(),
  maxSnapshots: z.number().int().min(0).optional(),
  maxWals: z.number().int().min(0).optional(),
  quotaBackendBytes: z.number().int().min(0).optional(),
  maxRequestBytes: z.number().int().min(1).optional(),
  maxTxnOps: z.number().int().min(1).optional(),
  grpcKeepaliveInterval: GoDuration.optional(),
  grpcKeepaliveTimeout: GoDuration.optional(),
  autoCompactionMode: z.enum(['periodic', 'revision']).optional(),
  autoCompactionRetention: z.string().min(1).optional(),
  enablePprof: z.boolean().optional(),
  strictReconfigCheck: z.boolean().optional(),
});

export const LoggingSpec = z.strictObject({
  level: z.enum(['debug', 'info', 'warn', 'error', 'panic', 'fatal']).default('info'),
  /** etcd log-outputs: default, stderr, stdout or absolute file paths. */
  outputs: z
    .array(z.union([z.enum(['default', 'stderr', 'stdout']), LogFilePath]))
    .min(1)
    .default(['default']),
});

export const PathsSpec = z.strictObject({
  dataDir: MemberDirPath.default('/var/lib/etcd'),
  confDir: MemberDirPath.default('/etc/etcd'),
  certsDir: MemberDirPath.default('/etc/ssl/etcd'),
});

/** A public host key as an OpenSSH known_hosts line: plain host patterns, a key type and the key; no markers, no hashed names. */
const HOST_KEY_LINE_RE = /^[^\s@|#][^\s]*\s+(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)\s+[A-Za-z0-9+/]+={0,3}( [^\n\r]*)?$/;

export const SshSpec = z.strictObject({
  /** Login user; anyone but root runs the provider's commands through `sudo -n`. */
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a POSIX user name')
    .default('root'),
  port: Port.default(22),
  /**
   * Public host keys (known_hosts lines, e.g. `10.0.0.11 ssh-ed25519 AAAA…`),
   * added to the worker's ETCDFLEET_SSH_KNOWN_HOSTS. They only count for hosts
   * in the operator's ETCDFLEET_SSH_ALLOWED_NETWORKS (default none).
   */
  hostKeys: z.array(z.string().max(16384).regex(HOST_KEY_LINE_RE, 'a known_hosts line: host key-type key')).max(64).optional(),
});

/** Intervals (schedules, health checks): 1s to 365d (common/duration.ts). */
const Duration = durationSchema();
/** How long backups are kept: an age, not a timer, so up to ten years. */
const Retention = durationSchema(RETENTION_RULE);

export const BackupSpec = z.strictObject({
  /** Scheduled backups (a Temporal Schedule every `interval`); on-demand backups work either way. */
  enabled: z.boolean().default(false),
  interval: Duration.default('6h'),
  /** Backups older than this are deleted after each successful backup. */
  retention: Retention.default('30d'),
  /** Keep at most this many backups (newest first), whatever their age. */
  keep: z.number().int().min(1).optional(),
  /** Directory target under the service's backup root (ETCDFLEET_BACKUP_ROOT, also the default); ignored when `s3` is set. */
  dir: AbsPath.optional(),
  s3: z
    .strictObject({
      bucket: z.string().min(3),
      prefix: z.string().default(''),
      endpoint: z.string().url().optional(),
      region: z.string().default('us-east-1'),
      forcePathStyle: z.boolean().default(true),
      /** Names of the worker's environment variables holding the credentials (never the secrets themselves). */
      accessKeyIdEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .default('AWS_ACCESS_KEY_ID'),
      secretAccessKeyEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .default('AWS_SECRET_ACCESS_KEY'),
    })
    .optional(),
  /** AES-256-GCM client-side encryption with the service's backup key (ETCDFLEET_BACKUP_KEY). */
  encryption: z.boolean().default(false),
  /**
   * Continuous backups: after each full backup, every change is recorded (an etcd watch, written as
   * chunks every few seconds) for point-in-time restores (`toRevision`/`toTime`).
   */
  continuous: z.boolean().optional(),
  /** Restore drill: restore the latest backup into a throwaway etcd on the worker's machine this often. */
  drillInterval: Duration.optional(),
});

export const MaintenanceSpec = z.strictObject({
  /** Compact every interval to the revision observed one interval earlier. */
  compactionInterval: Duration.optional(),
  /** Instead of the revision one interval ago, keep the last N revisions. */
  compactionRetainRevisions: z.number().int().min(1).optional(),
  defragThresholdBytes: z.number().int().min(0).optional(),
  defragThresholdPercent: z.number().min(0).max(100).optional(),
  /** How often the defrag check runs (default 1h when a threshold is set). */
  defragCheckInterval: Duration.optional(),
  healthCheckInterval: Duration.optional(),
});

export const ClusterSpec = z
  .strictObject({
    name: z.string().regex(CLUSTER_NAME_RE, 'lowercase letters, digits and dashes, 1-40 chars'),
    version: EtcdVersion.default(DEFAULT_ETCD_VERSION),
    provider: z.enum(['local', 'ssh']).default('local'),
    /** How the ssh provider logs in (provider ssh only). */
    ssh: SshSpec.optional(),
    members: z.array(MemberSpec).min(1).max(MAX_MEMBERS, `at most ${MAX_MEMBERS} members`),
    ports: z
      .strictObject({
        client: Port.default(2379),
        peer: Port.default(2380),
        metrics: Port.default(2381),
      })
      .prefault({}),
    tls: TlsSpec.prefault({}),
    /** `github` (upstream releases) or a mirror base URL (file://, http://, https://) in the upstream layout. Defaults to the service's configured source. */
    artifactSource: z
      .string()
      .refine((s) => s === 'github' || /^(file|https?):\/\//.test(s), 'github or a file://, http:// or https:// URL')
      .optional(),
    tunables: Tunables.prefault({}),
    logging: LoggingSpec.prefault({}),
    /** initial-cluster-token; defaults to `etcd-<name>`. */
    token: z.string().min(1).max(128).optional(),
    paths: PathsSpec.prefault({}),
    dns: DnsSpec.optional(),
    backup: BackupSpec.optional(),
    maintenance: MaintenanceSpec.optional(),
    /** etcd users and roles (common/auth.ts): desired state; operations apply it, passwords are never stored. */
    auth: AuthSpec.optional(),
    /** Quorum-loss recovery: grace period and approval (common/recovery.ts). */
    recovery: RecoverySpec.optional(),
  })
  // Cross-field rules (common/spec-rules.ts), run on what parsed even when fields failed: one answer lists both.
  .superRefine(...whenever<LooseSpec>(specRuleIssues));

/** What the user sends (defaults optional). */
export type ClusterSpecInput = z.input<typeof ClusterSpec>;
/** The normalized spec, every default filled in. */
export type ClusterSpec = z.output<typeof ClusterSpec>;
export type MemberSpec = z.output<typeof MemberSpec>;
export type TlsSpec = z.output<typeof TlsSpec>;
export type Tunables = z.output<typeof Tunables>;
export type SshSpec = z.output<typeof SshSpec>;

export function memberPorts(spec: Pick<ClusterSpec, 'ports'>, m: MemberSpec) {
  return {
    client: m.clientPort ?? spec.ports.client,
    peer: m.peerPort ?? spec.ports.peer,
    metrics: m.metricsPort ?? spec.ports.metrics,
  };
}

/** Non-fatal findings returned with a 202 (e.g. an even member count). */
export function specWarnings(spec: ClusterSpec): string[] {
  const w: string[] = [];
  if (spec.members.length % 2 === 0) {
    w.push(`${spec.members.length} members is an even count: it tolerates no more failures than ${spec.members.length - 1} members`);
  }
  if (!spec.tls.enabled) w.push('TLS is disabled: client and peer traffic is plaintext and unauthenticated');
  return w;
}
