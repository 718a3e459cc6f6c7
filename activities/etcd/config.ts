// Renders the YAML file etcd reads with `--config-file`.
//
// etcd parses the file with a non-strict YAML→JSON decoder: an unknown or
// removed key is silently ignored, so a key that is wrong for the running
// minor would not fail loudly, it would just not take effect. That is why the
// key set is chosen per minor here instead of emitting a superset.
//
// Differences between 3.5 and 3.6 that matter for what we render
// (server/embed/config.go and server/etcdmain/config.go at v3.5.x / v3.6.x):
// - 3.6 removed `enable-v2` and `experimental-enable-v2v3` (the v2 store is
//   gone; `v2-deprecation` is still parsed but its value is ignored).
// - `experimental-initial-corrupt-check` / `experimental-compact-hash-check-enabled`
//   became the `InitialCorruptCheck` / `CompactHashCheck` feature gates in 3.6
//   (setting both the old flag and the gate is a startup error there).
// - 3.5 still accepts `logger` (only `zap` since 3.5); 3.6 keeps the key but
//   there is nothing to select, so it is not emitted.
// - Durations (grpc keepalive) are Go time.Duration fields decoded from JSON:
//   they must be integer nanoseconds, a string like "2h" is rejected.
// - URL lists are comma-separated strings, not YAML lists.
import YAML from 'yaml';
import { ClusterSpec, minorOf } from '../../common/spec';
import { GO_DURATION_RULE, parseDuration } from '../../common/duration';
import { MemberFiles, memberTopology, clusterToken } from '../../common/topology';

export type ClusterState = 'new' | 'existing';

export interface RenderEtcdConfigInput {
  spec: ClusterSpec;
  member: string;
  /** `name=peerURL,...` (common/topology initialCluster). */
  initialCluster: string;
  clusterState: ClusterState;
  /** Real paths of this member's files (for the local provider: under its root). */
  files: MemberFiles;
  /**
   * Where the process runs. Defaults to `spec.provider`. Under `local`, the
   * supervisor redirects stderr to the member's log file, so `default` (which
   * etcd would send to journald when it detects systemd) becomes `stderr`.
   */
  provider?: 'local' | 'ssh';
  /** Root directory prefixed to absolute log-output paths (local provider). */
  hostRoot?: string;
  /**
   * Corruption detection at startup and periodic compaction-hash checks
   * between leader and followers. Defaults to on: both are cheap compared to
   * serving silently diverged data.
   */
  corruptionChecks?: boolean;
}

/** "2h" → nanoseconds, the encoding etcd's config file expects for time.Duration (bounded like the spec field). */
export function durationToNanos(d: string): number {
  const r = parseDuration(d, GO_DURATION_RULE);
  if ('error' in r) throw new Error(`invalid duration "${d}": ${r.error}`);
  return r.ms * 1e6;
}

export function etcdMinor(version: string): '3.5' | '3.6' {
  const minor = minorOf(version);
  if (minor !== '3.5' && minor !== '3.6') throw new Error(`unsupported etcd version ${version}: expected 3.5.x or 3.6.x`);
  return minor;
}

/** Builds the config as a plain object (keys exactly as etcd names them). */
export function etcdConfigObject(input: RenderEtcdConfigInput): Record<string, unknown> {
  const { spec, files } = input;
  const m = spec.members.find((x) => x.name === input.member);
  if (!m) throw new Error(`member "${input.member}" is not in cluster "${spec.name}"`);
  const minor = etcdMinor(spec.version);
  const topo = memberTopology(spec, m);
  const provider = input.provider ?? spec.provider;
  const t = spec.tunables;

  const c: Record<string, unknown> = {
    name: m.name,
    'data-dir': files.dataDir,
    'listen-client-urls': topo.listenClientURLs.join(','),
    'advertise-client-urls': topo.clientURL,
    'listen-peer-urls': topo.listenPeerURLs.join(','),
    'initial-advertise-peer-urls': topo.peerURL,
    'listen-metrics-urls': topo.listenMetricsURLs.join(','),
    'initial-cluster': input.initialCluster,
    'initial-cluster-token': clusterToken(spec),
    'initial-cluster-state': input.clusterState,
  };

  const srv = spec.dns?.discoverySrv;
  if (srv && input.clusterState === 'new') {
    // DNS SRV bootstrap: etcd builds the initial cluster from the SRV records
    // (one bootstrap source only, so initial-cluster is emptied). A member
    // joining later is added with the static list (state existing).
    c['initial-cluster'] = '';
    c['discovery-srv'] = srv;
    if (spec.dns?.srvName) c['discovery-srv-name'] = spec.dns.srvName;
  }

  if (spec.tls.enabled) {
    c['client-transport-security'] = {
      'cert-file': files.serverCert,
      'key-file': files.serverKey,
      'trusted-ca-file': files.caCert,
      'client-cert-auth': true,
      'auto-tls': false,
    };
    c['peer-transport-security'] = {
      'cert-file': files.peerCert,
      'key-file': files.peerKey,
      'trusted-ca-file': files.caCert,
      'client-cert-auth': true,
      'auto-tls': false,
    };
  }

  const set = (key: string, v: unknown) => {
    if (v !== undefined) c[key] = v;
  };
  set('heartbeat-interval', t.heartbeatInterval);
  set('election-timeout', t.electionTimeout);
  set('snapshot-count', t.snapshotCount);
  set('max-snapshots', t.maxSnapshots);
  set('max-wals', t.maxWals);
  set('quota-backend-bytes', t.quotaBackendBytes);
  set('max-request-bytes', t.maxRequestBytes);
  set('max-txn-ops', t.maxTxnOps);
  if (t.grpcKeepaliveInterval) c['grpc-keepalive-interval'] = durationToNanos(t.grpcKeepaliveInterval);
  if (t.grpcKeepaliveTimeout) c['grpc-keepalive-timeout'] = durationToNanos(t.grpcKeepaliveTimeout);
  if (t.autoCompactionMode || t.autoCompactionRetention) {
    c['auto-compaction-mode'] = t.autoCompactionMode ?? 'periodic';
    // A string field in etcd: "1" (hours or revisions, by mode) or "30m".
    c['auto-compaction-retention'] = String(t.autoCompactionRetention ?? '0');
  }
  set('enable-pprof', t.enablePprof);
  set('strict-reconfig-check', t.strictReconfigCheck);

  c['log-level'] = spec.logging.level;
  c['log-outputs'] = spec.logging.outputs.map((o) => {
    if (o === 'default') return provider === 'local' ? 'stderr' : 'default';
    if (o.startsWith('/') && input.hostRoot) return joinUnder(input.hostRoot, o);
    return o;
  });

  const checks = input.corruptionChecks ?? true;
  if (minor === '3.5') {
    c['logger'] = 'zap';
    c['enable-v2'] = false;
    if (checks) {
      c['experimental-initial-corrupt-check'] = true;
      c['experimental-compact-hash-check-enabled'] = true;
    }
  } else if (checks) {
    c['feature-gates'] = 'InitialCorruptCheck=true,CompactHashCheck=true';
  }
  return c;
}

export function renderEtcdConfig(input: RenderEtcdConfigInput): string {
  const header =
    `# etcd ${input.spec.version} config for member ${input.member} of cluster ${input.spec.name}.\n` +
    `# Written by etcdfleet; local edits are overwritten on the next reconcile.\n`;
  return header + YAML.stringify(etcdConfigObject(input), { lineWidth: 0 });
}

/** Reads `initial-cluster-state` back from a rendered config (undefined when absent). */
export function configClusterState(yamlText: string): ClusterState | undefined {
  const doc = YAML.parse(yamlText) as Record<string, unknown> | null;
  const s = doc?.['initial-cluster-state'];
  return s === 'new' || s === 'existing' ? s : undefined;
}

/** Replaces `initial-cluster-state` in a rendered config, keeping everything else byte for byte. */
export function withClusterState(yamlText: string, state: ClusterState): string {
  const re = /^initial-cluster-state:.*$/m;
  if (re.test(yamlText)) return yamlText.replace(re, `initial-cluster-state: ${state}`);
  return `${yamlText.replace(/\n?$/, '\n')}initial-cluster-state: ${state}\n`;
}

function joinUnder(root: string, p: string): string {
  return `${root.replace(/\/+$/, '')}/${p.replace(/^\/+/, '')}`;
}
