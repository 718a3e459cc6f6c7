import YAML from 'yaml';
import { ClusterSpec, ClusterSpecInput } from '../../common/spec';
import { clusterTopology, initialCluster, memberFiles } from '../../common/topology';
import { configClusterState, durationToNanos, etcdConfigObject, renderEtcdConfig, withClusterState } from '../../activities/etcd/config';

// Keys each minor's config-file parser knows (json tags of embed.Config /
// configYAML in server/embed/config.go at v3.5.x and v3.6.x), limited to
// what the renderer may emit. An unknown key is silently ignored by etcd, so
// this list is what keeps a typo or a removed option from going unnoticed.
const COMMON_KEYS = [
  'name',
  'data-dir',
  'listen-client-urls',
  'advertise-client-urls',
  'listen-peer-urls',
  'initial-advertise-peer-urls',
  'listen-metrics-urls',
  'initial-cluster',
  'initial-cluster-token',
  'initial-cluster-state',
  'discovery-srv',
  'discovery-srv-name',
  'client-transport-security',
  'peer-transport-security',
  'heartbeat-interval',
  'election-timeout',
  'snapshot-count',
  'max-snapshots',
  'max-wals',
  'quota-backend-bytes',
  'max-request-bytes',
  'max-txn-ops',
  'grpc-keepalive-interval',
  'grpc-keepalive-timeout',
  'auto-compaction-mode',
  'auto-compaction-retention',
  'enable-pprof',
  'strict-reconfig-check',
  'log-level',
  'log-outputs',
];
const KEYS_35 = new Set([
  ...COMMON_KEYS,
  'logger',
  'enable-v2',
  'experimental-initial-corrupt-check',
  'experimental-compact-hash-check-enabled',
]);
const KEYS_36 = new Set([...COMMON_KEYS, 'feature-gates']);
const SECURITY_KEYS = new Set(['cert-file', 'key-file', 'trusted-ca-file', 'client-cert-auth', 'auto-tls']);

function spec(over: Partial<ClusterSpecInput> = {}): ClusterSpec {
  return ClusterSpec.parse({
    name: 'demo',
    version: 'v3.5.10',
    members: [
      { name: 'm1', address: '127.0.21.1' },
      { name: 'm2', address: '127.0.21.2' },
      { name: 'm3', address: '127.0.21.3', clientPort: 12379, paths: { dataDir: '/srv/etcd-m3' } },
    ],
    ...over,
  });
}

function render(s: ClusterSpec, member = 'm1', extra: Partial<Parameters<typeof renderEtcdConfig>[0]> = {}) {
  const m = s.members.find((x) => x.name === member)!;
  const input = {
    spec: s,
    member,
    initialCluster: initialCluster(clusterTopology(s)),
    clusterState: 'new' as const,
    files: memberFiles(s, m),
    ...extra,
  };
  const text = renderEtcdConfig(input);
  return { text, obj: YAML.parse(text) as Record<string, any>, direct: etcdConfigObject(input) };
}

describe('renderEtcdConfig', () => {
  test('3.5: identity, URLs, cluster bootstrap and 3.5-only keys', () => {
    const { text, obj, direct } = render(spec());
    expect(obj).toEqual(direct);
    expect(text.startsWith('# etcd v3.5.10 config for member m1 of cluster demo.')).toBe(true);
    expect(obj).toMatchObject({
      name: 'm1',
      'data-dir': '/var/lib/etcd',
      'listen-client-urls': 'https://127.0.21.1:2379',
      'advertise-client-urls': 'https://127.0.21.1:2379',
      'listen-peer-urls': 'https://127.0.21.1:2380',
      'initial-advertise-peer-urls': 'https://127.0.21.1:2380',
      'listen-metrics-urls': 'http://127.0.21.1:2381',
      'initial-cluster': 'm1=https://127.0.21.1:2380,m2=https://127.0.21.2:2380,m3=https://127.0.21.3:2380',
      'initial-cluster-token': 'etcd-demo',
      'initial-cluster-state': 'new',
      logger: 'zap',
      'enable-v2': false,
      'experimental-initial-corrupt-check': true,
      'experimental-compact-hash-check-enabled': true,
      'log-level': 'info',
    });
    expect(obj['feature-gates']).toBeUndefined();
    for (const k of Object.keys(obj)) expect(KEYS_35).toContain(k);
  });

  test('3.6: no v2 store or logger keys, corruption checks as feature gates', () => {
    const { obj } = render(spec({ version: 'v3.6.5' }));
    expect(obj['feature-gates']).toBe('InitialCorruptCheck=true,CompactHashCheck=true');
    for (const k of ['enable-v2', 'logger', 'experimental-initial-corrupt-check', 'experimental-compact-hash-check-enabled']) {
      expect(obj[k]).toBeUndefined();
    }
    expect(Object.keys(obj).filter((k) => k.startsWith('experimental-'))).toEqual([]);
    for (const k of Object.keys(obj)) expect(KEYS_36).toContain(k);
  });

  test('corruption checks can be turned off on both minors', () => {
    expect(render(spec(), 'm1', { corruptionChecks: false }).obj['experimental-initial-corrupt-check']).toBeUndefined();
    expect(render(spec({ version: '3.6.5' }), 'm1', { corruptionChecks: false }).obj['feature-gates']).toBeUndefined();
  });

  test('TLS on: client and peer transport security with mutual auth', () => {
    const { obj } = render(spec());
    expect(obj['client-transport-security']).toEqual({
      'cert-file': '/etc/ssl/etcd/etcd.pem',
      'key-file': '/etc/ssl/etcd/etcd-key.pem',
      'trusted-ca-file': '/etc/ssl/etcd/ca.pem',
      'client-cert-auth': true,
      'auto-tls': false,
    });
    expect(obj['peer-transport-security']).toEqual({
      'cert-file': '/etc/ssl/etcd/peer.pem',
      'key-file': '/etc/ssl/etcd/peer-key.pem',
      'trusted-ca-file': '/etc/ssl/etcd/ca.pem',
      'client-cert-auth': true,
      'auto-tls': false,
    });
    for (const k of Object.keys(obj['client-transport-security'])) expect(SECURITY_KEYS).toContain(k);
  });

  test('TLS off: plain http and no security blocks', () => {
    const { obj } = render(spec({ tls: { enabled: false } }));
    expect(obj['client-transport-security']).toBeUndefined();
    expect(obj['peer-transport-security']).toBeUndefined();
    expect(obj['listen-client-urls']).toBe('http://127.0.21.1:2379');
    expect(obj['initial-cluster']).toContain('m2=http://127.0.21.2:2380');
    expect(obj['listen-metrics-urls']).toBe('http://127.0.21.1:2381');
  });

  test('per-member ports, paths and localhost listener', () => {
    const s = spec({
      tls: { useLocalhost: true },
      members: [
        { name: 'm1', address: '127.0.21.1', clientPort: 10379 },
        { name: 'm2', address: '127.0.21.2', clientPort: 11379 },
        { name: 'm3', address: '127.0.21.3', clientPort: 12379, paths: { dataDir: '/srv/etcd-m3' } },
      ],
    });
    const { obj } = render(s, 'm3');
    expect(obj['data-dir']).toBe('/srv/etcd-m3');
    expect(obj['listen-client-urls']).toBe('https://127.0.21.3:12379,https://127.0.0.1:12379');
    expect(obj['advertise-client-urls']).toBe('https://127.0.21.3:12379');
  });

  test('real (root-prefixed) paths are used as given', () => {
    const s = spec();
    const files = memberFiles(s, s.members[0]);
    const real = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, `/hosts/demo/m1${v}`])) as unknown as typeof files;
    const { obj } = render(s, 'm1', { files: real });
    expect(obj['data-dir']).toBe('/hosts/demo/m1/var/lib/etcd');
    expect(obj['client-transport-security']['cert-file']).toBe('/hosts/demo/m1/etc/ssl/etcd/etcd.pem');
  });

  test('tunables map to etcd keys; durations become nanoseconds, retention stays a string', () => {
    const { obj } = render(
      spec({
        tunables: {
          heartbeatInterval: 50,
          electionTimeout: 500,
          snapshotCount: 5000,
          maxSnapshots: 3,
          maxWals: 4,
          quotaBackendBytes: 8 * 1024 ** 3,
          maxRequestBytes: 2 * 1024 ** 2,
          maxTxnOps: 256,
          grpcKeepaliveInterval: '2h',
          grpcKeepaliveTimeout: '20s',
          autoCompactionMode: 'periodic',
          autoCompactionRetention: '1',
          enablePprof: true,
          strictReconfigCheck: false,
        },
      }),
    );
    expect(obj).toMatchObject({
      'heartbeat-interval': 50,
      'election-timeout': 500,
      'snapshot-count': 5000,
      'max-snapshots': 3,
      'max-wals': 4,
      'quota-backend-bytes': 8589934592,
      'max-request-bytes': 2097152,
      'max-txn-ops': 256,
      'grpc-keepalive-interval': 7_200_000_000_000,
      'grpc-keepalive-timeout': 20_000_000_000,
      'auto-compaction-mode': 'periodic',
      'auto-compaction-retention': '1',
      'enable-pprof': true,
      'strict-reconfig-check': false,
    });
    expect(typeof obj['auto-compaction-retention']).toBe('string');
  });

  test('unset tunables are left to etcd defaults', () => {
    const { obj } = render(spec());
    for (const k of [
      'heartbeat-interval',
      'election-timeout',
      'snapshot-count',
      'quota-backend-bytes',
      'grpc-keepalive-interval',
      'auto-compaction-mode',
      'enable-pprof',
    ]) {
      expect(obj[k]).toBeUndefined();
    }
  });

  test('revision compaction without retention defaults mode-wise', () => {
    const { obj } = render(spec({ tunables: { autoCompactionMode: 'revision', autoCompactionRetention: '1000' } }));
    expect(obj['auto-compaction-mode']).toBe('revision');
    expect(obj['auto-compaction-retention']).toBe('1000');
  });

  test('log outputs: default is stderr under the local provider, files are rooted', () => {
    const s = spec({ logging: { level: 'warn', outputs: ['default', '/var/log/etcd-extra.log'] } });
    expect(render(s, 'm1', { provider: 'local', hostRoot: '/hosts/demo/m1' }).obj['log-outputs']).toEqual([
      'stderr',
      '/hosts/demo/m1/var/log/etcd-extra.log',
    ]);
    expect(render(s, 'm1', { provider: 'ssh' }).obj['log-outputs']).toEqual(['default', '/var/log/etcd-extra.log']);
    expect(render(s).obj['log-level']).toBe('warn');
  });

  test('custom token and existing state', () => {
    const { obj } = render(spec({ token: 'tok-1' }), 'm2', { clusterState: 'existing' });
    expect(obj['initial-cluster-token']).toBe('tok-1');
    expect(obj['initial-cluster-state']).toBe('existing');
  });

  test('unknown member and unsupported minor are rejected', () => {
    const s0 = spec();
    const input = { spec: s0, member: 'nope', initialCluster: '', clusterState: 'new' as const, files: memberFiles(s0, s0.members[0]) };
    expect(() => renderEtcdConfig(input)).toThrow(/member "nope" is not in cluster "demo"/);
    const s = spec();
    expect(() => render({ ...s, version: 'v3.4.30' })).toThrow(/unsupported etcd version/);
  });

  test('withClusterState flips only that line', () => {
    const { text } = render(spec());
    const flipped = withClusterState(text, 'existing');
    expect(configClusterState(text)).toBe('new');
    expect(configClusterState(flipped)).toBe('existing');
    expect(flipped.replace('initial-cluster-state: existing', 'initial-cluster-state: new')).toBe(text);
    expect(withClusterState(flipped, 'existing')).toBe(flipped);
  });

  test('durationToNanos', () => {
    expect(durationToNanos('500ms')).toBe(500_000_000);
    expect(durationToNanos('5m')).toBe(300_000_000_000);
    expect(() => durationToNanos('5d')).toThrow(/invalid duration/);
  });
});
