// Taskserv import (see index.ts): mapping of the cluster-wide blocks (TLS,
// artifacts, logging, DNS, tunables, backup, maintenance) onto the native spec.
import { type Issue, joinPath } from '../parse';
import type { ClusterSpecInput } from '../spec';
import { parseSize, TaskservEtcd, type Unsupported } from './schema';
import { type Cfg, type First, f, type Provenance, short, stableJson } from './configs';

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

export function mapTls(first: First, spec: ClusterSpecInput, prov: Provenance, warnings: string[]): void {
  const tls: NonNullable<ClusterSpecInput['tls']> = {};
  /** Maps one field that sets one tls key, recording where it came from. */
  const set = <K extends keyof TaskservEtcd>(field: K, key: string, apply: (v: NonNullable<TaskservEtcd[K]>) => void) => {
    const src = first(field);
    if (!src) return;
    apply(src.v);
    prov.set(`tls.${key}`, f(src.cfg, field));
  };
  set('etcd_protocol', 'enabled', (v) => (tls.enabled = v === 'https'));
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

  set('sign_sha', 'digest', (v) => (tls.digest = digestName(v) as typeof tls.digest));
  set('ca_sign_days', 'caDays', (v) => (tls.caDays = v));
  set('sign_days', 'certDays', (v) => (tls.certDays = v));
  set('c', 'subject.country', (v) => (tls.subject = { country: v.toUpperCase() }));
  set('use_localhost', 'useLocalhost', (v) => (tls.useLocalhost = v));
  set('cipher', 'caKeyCipher', (v) => (tls.caKeyCipher = cipherName(v) as typeof tls.caKeyCipher));
  if (Object.keys(tls).length) spec.tls = tls;
}

export function mapArtifacts(first: First, spec: ClusterSpecInput, prov: Provenance, warnings: string[]): void {
  const src = first('source_url');
  if (!src) return;
  const { source, trimmed } = artifactSourceFor(src.v);
  spec.artifactSource = source;
  prov.set('artifactSource', f(src.cfg, 'source_url'));
  if (trimmed)
    warnings.push(
      `${f(src.cfg, 'source_url')}: using ${source} as the mirror base (releases are fetched from <base>/<version>/etcd-<version>-linux-amd64.tar.gz)`,
    );
}

export function mapLogging(first: First, spec: ClusterSpecInput, prov: Provenance): void {
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

export function mapDns(first: First, spec: ClusterSpecInput, prov: Provenance, unsupported: Unsupported[], warnings: string[]): void {
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
  if (!srv && !dnsDiscovery?.v) return;
  const field = srv ? f(srv.cfg, 'discovery_srv') : f(dnsDiscovery!.cfg, 'dns_discovery');
  if (spec.provider !== 'ssh') {
    const reason = 'DNS SRV bootstrap needs the ssh provider (?provider=ssh); here members bootstrap from the static member list';
    unsupported.push({ field, reason });
    return;
  }
  // Members bootstrap from the SRV records of this domain and advertise <hostname or etcd_name>.<domain>.
  const srvDomain = srv?.v ?? domain?.v;
  if (!srvDomain) {
    unsupported.push({
      field,
      reason: 'no discovery_srv or domain_name names the SRV domain: members bootstrap from the static member list',
    });
    return;
  }
  spec.dns = { ...spec.dns, discoverySrv: srvDomain };
  prov.set('dns.discoverySrv', srv ? field : f(domain!.cfg, 'domain_name'));
}

export function mapTunables(cfgs: Cfg[], spec: ClusterSpecInput, prov: Provenance, issues: Issue[], unsupported: Unsupported[]): void {
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

export function mapBackup(first: First, spec: ClusterSpecInput, prov: Provenance, unsupported: Unsupported[]): void {
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
      if (b[k] !== undefined)
        unsupported.push({ field: at(k), reason: 'ignored without s3_bucket: backups go to the service’s default store' });
    }
  }
  if (b.encryption !== undefined) {
    backup.encryption = b.encryption;
    prov.set('backup.encryption', at('encryption'));
  }
  spec.backup = backup;
}

export function mapMaintenance(
  first: First,
  spec: ClusterSpecInput,
  prov: Provenance,
  unsupported: Unsupported[],
  warnings: string[],
): void {
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
