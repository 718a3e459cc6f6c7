import { readFileSync } from 'fs';
import { join } from 'path';
import { ValidationError, parseBody, parseClusterSpec } from '../../common/parse';
import { ClusterSpecInput } from '../../common/spec';
import { TaskservImport, artifactSourceFor, clusterNameFor, importTaskserv } from '../../common/taskserv';
import { rejection } from '../support/rejection';

const fixture = (name: string) => parseBody(readFileSync(join(__dirname, '../fixtures/taskserv', name), 'utf8'), 'application/yaml');

const paths = (e: ValidationError) => e.issues.map((i) => i.path);

/** One node's config on 127.0.10.<n>. */
const node = (n: number, extra: Record<string, unknown> = {}) => ({
  etcd_name: `etcd-${n}`,
  cli_ip: `127.0.10.${n}`,
  peer_ip: `127.0.10.${n}`,
  cli_port: 2379,
  peer_port: 2380,
  ...extra,
});

/** A three-node list as the taskserv writes it. */
const trio = (extra: (n: number) => Record<string, unknown> = () => ({})) =>
  [1, 2, 3].map((n) =>
    node(n, {
      cluster_list: ['etcd-1', 'etcd-2', 'etcd-3'],
      initial_peers: [1, 2, 3].map((k) => `etcd-${k}=https://127.0.10.${k}:2380`),
      version: 'v3.5.10',
      token: 'tok',
      ...extra(n),
    }),
  );

describe('fixtures', () => {
  test('single-node.yaml', () => {
    const r = importTaskserv(fixture('single-node.yaml'), { provider: 'local' });
    expect(r.name).toBe('single');
    expect(r.unsupported).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.spec).toEqual({
      name: 'single',
      provider: 'local',
      version: 'v3.5.10',
      members: [{ name: 'etcd-single', address: '127.0.10.1', commonName: 'etcd-single' }],
      ports: { client: 23790, peer: 23800 },
      paths: { dataDir: '/var/lib/etcd', confDir: '/etc/etcd', certsDir: '/etc/ssl/etcd' },
      tls: {
        enabled: true,
        leafKey: { algorithm: 'rsa', rsaBits: 2048 },
        caKey: { algorithm: 'rsa', rsaBits: 2048 },
        digest: 'sha256',
        caDays: 3650,
        certDays: 365,
        subject: { country: 'ES', commonName: 'single' },
        useLocalhost: false,
      },
      artifactSource: 'github',
      logging: { level: 'info', outputs: ['stderr'] },
      token: 'etcd-single-token',
    });
    // the import is a valid native spec
    expect(parseClusterSpec(r.spec).spec.members[0].address).toBe('127.0.10.1');
  });

  test('cluster-3.yaml (one document per node)', () => {
    const input = fixture('cluster-3.yaml');
    expect(Array.isArray(input) && input.length).toBe(3);
    const r = importTaskserv(input, { provider: 'local' });
    expect(r.name).toBe('prod-etcd');
    expect(r.spec.members).toEqual([
      { name: 'etcd-1', address: '127.0.10.11', hostname: 'etcd-prod-1', commonName: 'etcd-prod-1.company.com' },
      { name: 'etcd-2', address: '127.0.10.12', hostname: 'etcd-prod-2', commonName: 'etcd-prod-2.company.com' },
      { name: 'etcd-3', address: '127.0.10.13', hostname: 'etcd-prod-3', commonName: 'etcd-prod-3.company.com' },
    ]);
    expect(r.spec.ports).toEqual({ client: 2379, peer: 2380 });
    expect(r.spec.tls).toEqual({
      enabled: true,
      leafKey: { algorithm: 'ecdsa', curve: 'P-256' },
      caKey: { algorithm: 'ecdsa', curve: 'P-256' },
      digest: 'sha384',
      caDays: 3650,
      certDays: 730,
      subject: { country: 'ES', commonName: 'prod-etcd' },
      useLocalhost: false,
      caKeyCipher: 'aes-256-cbc',
    });
    expect(r.spec.tunables).toEqual({
      heartbeatInterval: 250,
      electionTimeout: 2500,
      snapshotCount: 50000,
      maxRequestBytes: 1572864,
      grpcKeepaliveInterval: '2h',
      grpcKeepaliveTimeout: '20s',
      quotaBackendBytes: 8 * 1024 ** 3,
      autoCompactionMode: 'periodic',
      autoCompactionRetention: '1h',
      maxSnapshots: 5,
      maxWals: 5,
    });
    expect(r.spec.backup).toEqual({ enabled: true, interval: '6h', retention: '7d', s3: { bucket: 'etcd-backups' }, encryption: true });
    expect(r.spec.token).toBe('prod-etcd-cluster');
    expect(r.spec.logging).toEqual({ level: 'warn', outputs: ['stderr'] });
    expect(r.unsupported).toEqual([]);
    expect(r.warnings).toEqual([]);
    const { spec, warnings } = parseClusterSpec(r.spec);
    expect(spec.members).toHaveLength(3);
    expect(warnings).toEqual([]);
  });
});

type Row = [label: string, config: Record<string, unknown>, get: (r: TaskservImport) => unknown, expected: unknown];
const spec = (r: TaskservImport) => r.spec as ClusterSpecInput & Record<string, any>;

describe('every field maps', () => {
  const rows: Row[] = [
    ['etcd_name', { etcd_name: 'alpha' }, (r) => spec(r).members![0].name, 'alpha'],
    ['cluster_name (made valid)', { cluster_name: 'Prod_Etcd' }, (r) => [r.name, r.spec.name], ['prod-etcd', 'prod-etcd']],
    ['name', { name: 'kv' }, (r) => r.name, 'kv'],
    ['version', { version: '3.6.4' }, (r) => r.spec.version, '3.6.4'],
    ['cli_ip + peer_ip', { cli_ip: '127.0.10.5', peer_ip: '127.0.10.5' }, (r) => r.spec.members![0].address, '127.0.10.5'],
    ['peer_ip alone', { cli_ip: undefined, peer_ip: '127.0.10.6' }, (r) => r.spec.members![0].address, '127.0.10.6'],
    ['cli_ip alone', { peer_ip: undefined, cli_ip: '127.0.10.7' }, (r) => r.spec.members![0].address, '127.0.10.7'],
    ['cli_port', { cli_port: 12379 }, (r) => r.spec.ports, { client: 12379, peer: 2380 }],
    ['peer_port (as a string)', { peer_port: '12380' }, (r) => r.spec.ports, { client: 2379, peer: 12380 }],
    [
      'listen_peers + listen_clients',
      { listen_peers: 'https://127.0.10.9:2380', listen_clients: ['127.0.10.9:2379'] },
      (r) => r.spec.members![0].listenAddress,
      '127.0.10.9',
    ],
    [
      'adv_listen_peers',
      { adv_listen_peers: 'https://127.0.10.8:2480', adv_listen_clients: 'https://127.0.10.8:2479' },
      (r) => [r.spec.members![0].address, r.spec.ports],
      ['127.0.10.8', { client: 2479, peer: 2480 }],
    ],
    ['adv_listen_clients port', { adv_listen_clients: 'https://127.0.10.1:2479' }, (r) => r.spec.ports!.client, 2479],
    [
      'ssl_sign ECC (CA follows)',
      { ssl_sign: 'ECC' },
      (r) => [r.spec.tls!.leafKey!.algorithm, r.spec.tls!.caKey!.algorithm],
      ['ecdsa', 'ecdsa'],
    ],
    [
      'ca_sign',
      { ssl_sign: 'ECC', ca_sign: 'RSA' },
      (r) => [r.spec.tls!.leafKey!.algorithm, r.spec.tls!.caKey!.algorithm],
      ['ecdsa', 'rsa'],
    ],
    ['long_sign', { ssl_sign: 'RSA', long_sign: 4096 }, (r) => [r.spec.tls!.leafKey!.rsaBits, r.spec.tls!.caKey!.rsaBits], [4096, 4096]],
    [
      'long_sign only for RSA keys',
      { ssl_sign: 'ECC', ca_sign: 'RSA', long_sign: 3072 },
      (r) => [r.spec.tls!.leafKey!.rsaBits, r.spec.tls!.caKey!.rsaBits],
      [undefined, 3072],
    ],
    [
      'ssl_curve secp384r1',
      { ssl_sign: 'ECC', ssl_curve: 'secp384r1' },
      (r) => [r.spec.tls!.leafKey!.curve, r.spec.tls!.caKey!.curve],
      ['P-384', 'P-384'],
    ],
    ['ssl_curve prime256v1', { ssl_sign: 'ECC', ssl_curve: 'prime256v1' }, (r) => r.spec.tls!.leafKey!.curve, 'P-256'],
    ['ssl_curve P-384', { ssl_sign: 'ECC', ssl_curve: 'P-384' }, (r) => r.spec.tls!.leafKey!.curve, 'P-384'],
    ['sign_sha 512', { sign_sha: 512 }, (r) => r.spec.tls!.digest, 'sha512'],
    ['sign_sha "SHA384"', { sign_sha: 'SHA384' }, (r) => r.spec.tls!.digest, 'sha384'],
    ['ca_sign_days', { ca_sign_days: 1460 }, (r) => r.spec.tls!.caDays, 1460],
    ['sign_days', { sign_days: 90 }, (r) => r.spec.tls!.certDays, 90],
    [
      'c (the CA subject, with the cluster name)',
      { c: 'es', cluster_name: 'prod' },
      (r) => r.spec.tls!.subject,
      { country: 'ES', commonName: 'prod' },
    ],
    ['cn (the member certificates)', { cn: 'etcd-1.example.com' }, (r) => r.spec.members![0].commonName, 'etcd-1.example.com'],
    ['hostname', { hostname: 'node-1' }, (r) => r.spec.members![0].hostname, 'node-1'],
    ['etcd_protocol http', { etcd_protocol: 'http' }, (r) => r.spec.tls!.enabled, false],
    ['etcd_protocol https', { etcd_protocol: 'HTTPS' }, (r) => r.spec.tls!.enabled, true],
    [
      'source_url upstream releases',
      { source_url: 'https://github.com/etcd-io/etcd/releases/download' },
      (r) => r.spec.artifactSource,
      'github',
    ],
    [
      'source_url mirror tarball',
      { source_url: 'https://mirror.example/etcd/v3.5.10/etcd-v3.5.10-linux-amd64.tar.gz' },
      (r) => r.spec.artifactSource,
      'https://mirror.example/etcd',
    ],
    ['source_url file mirror', { source_url: 'file:///srv/etcd-mirror' }, (r) => r.spec.artifactSource, 'file:///srv/etcd-mirror'],
    ['data_dir', { data_dir: '/data/etcd' }, (r) => r.spec.paths!.dataDir, '/data/etcd'],
    ['conf_path (a directory)', { conf_path: '/srv/etcd/conf' }, (r) => r.spec.paths!.confDir, '/srv/etcd/conf'],
    ['conf_path (the file)', { conf_path: '/etc/etcd/config.yaml' }, (r) => r.spec.paths!.confDir, '/etc/etcd'],
    ['certs_path', { certs_path: '/etc/etcd/pki' }, (r) => r.spec.paths!.certsDir, '/etc/etcd/pki'],
    ['log_level', { log_level: 'WARNING' }, (r) => r.spec.logging!.level, 'warn'],
    ['log_out', { log_out: 'stderr,/var/log/etcd.log' }, (r) => r.spec.logging!.outputs, ['stderr', '/var/log/etcd.log']],
    ['token', { token: 'secret-token' }, (r) => r.spec.token, 'secret-token'],
    ['use_localhost', { use_localhost: 'true' }, (r) => r.spec.tls!.useLocalhost, true],
    ['use_dns + domain_name', { use_dns: true, domain_name: 'etcd.example.com' }, (r) => r.spec.dns, { domain: 'etcd.example.com' }],
    ['domain_name without use_dns: false', { domain_name: 'etcd.example.com' }, (r) => r.spec.dns, { domain: 'etcd.example.com' }],
    [
      'use_dns false (the domain still names the certificates)',
      { use_dns: false, domain_name: 'etcd.example.com' },
      (r) => r.spec.dns,
      { domain: 'etcd.example.com' },
    ],
    [
      'discovery_srv',
      { discovery_srv: 'example.com' },
      (r) => [r.spec.dns, r.unsupported.map((u) => u.field)],
      [undefined, ['discovery_srv']],
    ],
    ['dns_discovery', { dns_discovery: true, domain_name: 'example.com' }, (r) => r.unsupported.map((u) => u.field), ['dns_discovery']],
    ['cipher', { cipher: '-aes128' }, (r) => r.spec.tls!.caKeyCipher, 'aes-128-cbc'],
    ['cipher aes-256-cbc', { cipher: 'aes-256-cbc' }, (r) => r.spec.tls!.caKeyCipher, 'aes-256-cbc'],
    [
      'performance',
      {
        performance: {
          heartbeat_interval: 150,
          election_timeout: 1500,
          snapshot_count: 10000,
          max_request_bytes: '2MB',
          max_txn_ops: 256,
          grpc_keepalive_interval: 7200,
          grpc_keepalive_timeout: '20s',
        },
      },
      (r) => r.spec.tunables,
      {
        heartbeatInterval: 150,
        electionTimeout: 1500,
        snapshotCount: 10000,
        maxRequestBytes: 2 * 1024 ** 2,
        maxTxnOps: 256,
        grpcKeepaliveInterval: '7200s',
        grpcKeepaliveTimeout: '20s',
      },
    ],
    [
      'storage',
      {
        storage: {
          quota_backend_bytes: '2GB',
          auto_compaction_mode: 'Revision',
          auto_compaction_retention: 1000,
          max_snapshots: 3,
          max_wals: 4,
        },
      },
      (r) => r.spec.tunables,
      { quotaBackendBytes: 2 * 1024 ** 3, autoCompactionMode: 'revision', autoCompactionRetention: '1000', maxSnapshots: 3, maxWals: 4 },
    ],
    [
      'security',
      { security: { enable_pprof: false, strict_reconfig_check: true, client_cert_auth: true, auto_tls: false } },
      (r) => [r.spec.tunables, r.unsupported],
      [{ enablePprof: false, strictReconfigCheck: true }, []],
    ],
    [
      'backup',
      { backup: { enabled: true, interval: '12h', retention: '14d', s3_bucket: 's3://backups/etcd/prod', encryption: 'aes256' } },
      (r) => r.spec.backup,
      { enabled: true, interval: '12h', retention: '14d', s3: { bucket: 'backups', prefix: 'etcd/prod' }, encryption: true },
    ],
    [
      'backup retention as a count',
      { backup: { retention: 10, s3_bucket: 'backups', s3_endpoint: 'http://127.0.0.1:8333', s3_region: 'eu-west-1' } },
      (r) => r.spec.backup,
      { enabled: true, keep: 10, s3: { bucket: 'backups', endpoint: 'http://127.0.0.1:8333', region: 'eu-west-1' } },
    ],
    [
      'backup disabled',
      { backup: { enabled: false, interval: '6h' } },
      (r) => [r.spec.backup, r.unsupported],
      [{ enabled: false, interval: '6h' }, []],
    ],
    [
      'kubernetes_integration',
      { kubernetes_integration: { compaction_interval: '1h', defrag_threshold: '30%', health_check_interval: 30 } },
      (r) => r.spec.maintenance,
      { compactionInterval: '1h', defragThresholdPercent: 30, healthCheckInterval: '30s' },
    ],
    [
      'kubernetes_integration defrag bytes',
      { kubernetes_integration: { defrag_threshold: '100MB' } },
      (r) => r.spec.maintenance,
      { defragThresholdBytes: 100 * 1024 ** 2 },
    ],
    [
      'kubernetes_integration disabled',
      { kubernetes_integration: { enabled: false, compaction_interval: '1h' } },
      (r) => r.spec.maintenance,
      undefined,
    ],
    [
      'null means unset',
      { version: null, token: null, performance: { heartbeat_interval: null } },
      (r) => [r.spec.version, r.spec.token, r.spec.tunables],
      [undefined, undefined, undefined],
    ],
  ];

  test.each(rows)('%s', (_label, config, get, expected) => {
    const input: Record<string, unknown> = { ...node(1), ...config };
    for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
    const r = importTaskserv(input, { provider: 'local' });
    expect(get(r)).toEqual(expected);
    expect(() => parseClusterSpec(r.spec)).not.toThrow();
  });

  test('backup and maintenance schedules map without being reported unsupported', () => {
    const r = importTaskserv({ ...node(1), backup: { interval: '6h' }, kubernetes_integration: { compaction_interval: '1h' } });
    expect(r.unsupported).toEqual([]);
    expect(r.spec.backup).toMatchObject({ interval: '6h' });
    expect(r.spec.maintenance).toMatchObject({ compactionInterval: '1h' });
    expect(r.warnings).toEqual([expect.stringMatching(/named "etcd" after its members/)]);
    expect(parseClusterSpec(r.spec).warnings).toEqual([]);
  });

  test('security settings etcdfleet fixes are reported when asked otherwise', () => {
    const r = importTaskserv({
      ...node(1),
      security: {
        client_cert_auth: false,
        peer_client_cert_auth: false,
        auto_tls: true,
        peer_auto_tls: true,
        cipher_suites: ['TLS_AES_128_GCM_SHA256'],
        tls_min_version: 'TLS1.3',
      },
    });
    expect(r.unsupported.map((u) => u.field)).toEqual([
      'security.client_cert_auth',
      'security.peer_client_cert_auth',
      'security.auto_tls',
      'security.peer_auto_tls',
      'security.cipher_suites',
      'security.tls_min_version',
    ]);
  });

  test('differing client/peer addresses and extra URLs are reported', () => {
    const r = importTaskserv({
      ...node(1),
      adv_listen_clients: 'https://127.0.10.50:2379',
      listen_clients: ['https://127.0.10.1:2379', 'https://127.0.10.60:2379'],
      listen_peers: 'https://127.0.10.1:2390',
    });
    expect(r.spec.members![0]).toEqual({ name: 'etcd-1', address: '127.0.10.1' });
    expect(r.unsupported.map((u) => u.field)).toEqual(['listen_clients[1]', 'adv_listen_clients', 'listen_peers']);
  });

  test('a 127.0.0.1 client URL is covered by use_localhost', () => {
    const r = importTaskserv({ ...node(1), use_localhost: true, listen_clients: 'https://127.0.10.1:2379,https://127.0.0.1:2379' });
    expect(r.unsupported).toEqual([]);
    expect(r.spec.tls!.useLocalhost).toBe(true);
  });

  test('long_sign/ssl_curve that do not apply are warned about', () => {
    const named = { ...node(1), cluster_name: 'c' };
    expect(importTaskserv({ ...named, ssl_sign: 'ECC', long_sign: 4096 }).warnings).toEqual(['long_sign: not used, no key is RSA']);
    expect(importTaskserv({ ...named, ssl_sign: 'RSA', ssl_curve: 'prime256v1' }).warnings).toEqual(['ssl_curve: not used, no key is ECC']);
  });
});

describe('input forms', () => {
  test('a list, one config per node', () => {
    const r = importTaskserv(trio());
    expect(r.spec.members!.map((m) => [m.name, m.address])).toEqual([
      ['etcd-1', '127.0.10.1'],
      ['etcd-2', '127.0.10.2'],
      ['etcd-3', '127.0.10.3'],
    ]);
    expect(r.name).toBe('etcd');
    expect(r.warnings).toEqual([expect.stringMatching(/named "etcd" after its members/)]);
  });

  test('one config with a cluster_list and initial_peers describes the whole cluster', () => {
    const r = importTaskserv({
      ...node(1),
      cluster_list: 'etcd-1,etcd-2,etcd-3',
      initial_peers: 'etcd-1=https://127.0.10.1:2380,etcd-2=https://127.0.10.2:2390,etcd-3=https://127.0.10.3:2380',
    });
    expect(r.spec.members).toEqual([
      { name: 'etcd-1', address: '127.0.10.1' },
      { name: 'etcd-2', address: '127.0.10.2', peerPort: 2390 },
      { name: 'etcd-3', address: '127.0.10.3' },
    ]);
  });

  test('cluster_list entries may carry the peer URL', () => {
    const r = importTaskserv({ ...node(1), cluster_list: ['etcd-1', 'etcd-2=https://127.0.10.2:2380'] });
    expect(r.spec.members!.map((m) => m.address)).toEqual(['127.0.10.1', '127.0.10.2']);
  });

  test('initial_peers alone gives the members, in its order', () => {
    const r = importTaskserv({
      ...node(2),
      initial_peers: ['etcd-1=https://127.0.10.1:2380', 'etcd-2=https://127.0.10.2:2380', 'etcd-3=https://127.0.10.3:2380'],
    });
    expect(r.spec.members!.map((m) => m.name)).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
  });

  test('wrapped as {etcd: ...} and {ETCD: [...]}', () => {
    expect(importTaskserv({ etcd: node(1) }).spec.members).toEqual([{ name: 'etcd-1', address: '127.0.10.1' }]);
    const r = importTaskserv({ ETCD: trio(), kind: 'taskserv' });
    expect(r.spec.members).toHaveLength(3);
    expect(r.unsupported).toEqual([{ field: 'kind', reason: expect.stringMatching(/ignored/) }]);
    const e = rejection(() => importTaskserv({ etcd: [node(1), { ...node(2), cli_port: 'x' }] }));
    expect(paths(e)).toEqual(['etcd[1].cli_port']);
  });

  test('multi-document YAML', () => {
    const yaml = trio()
      .map(
        (c) =>
          `---\n${Object.entries(c)
            .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
            .join('\n')}\n`,
      )
      .join('');
    expect(importTaskserv(parseBody(yaml)).spec.members).toHaveLength(3);
  });

  test('per-node ports and paths that differ become member overrides', () => {
    const r = importTaskserv(
      trio((n) => ({
        peer_ip: '127.0.10.1',
        cli_ip: '127.0.10.1',
        cli_port: 2379 + n * 100,
        peer_port: 2380 + n * 100,
        data_dir: n === 3 ? '/data/etcd-3' : '/var/lib/etcd',
        initial_peers: [1, 2, 3].map((k) => `etcd-${k}=https://127.0.10.1:${2380 + k * 100}`),
      })),
    );
    expect(r.spec.ports).toEqual({ client: 2479, peer: 2480 });
    expect(r.spec.paths).toEqual({ dataDir: '/var/lib/etcd' });
    expect(r.spec.members).toEqual([
      { name: 'etcd-1', address: '127.0.10.1' },
      { name: 'etcd-2', address: '127.0.10.1', clientPort: 2579, peerPort: 2580, metricsPort: 2581 },
      { name: 'etcd-3', address: '127.0.10.1', clientPort: 2679, peerPort: 2680, metricsPort: 2681, paths: { dataDir: '/data/etcd-3' } },
    ]);
    expect(r.warnings).toEqual(expect.arrayContaining(['etcd-2 shares 127.0.10.1 with another member: its metrics listen on port 2581']));
  });

  test('opts.name wins', () => {
    expect(importTaskserv({ ...node(1), cluster_name: 'x' }, { name: 'chosen' }).name).toBe('chosen');
    expect(paths(rejection(() => importTaskserv(node(1), { name: 'Not Valid' })))).toEqual(['name']);
  });

  test('derived cluster names', () => {
    expect(clusterNameFor(['etcd-1', 'etcd-2', 'etcd-3'])).toBe('etcd');
    expect(clusterNameFor(['infra0', 'infra1'])).toBe('infra');
    expect(clusterNameFor(['Node_A'])).toBe('node-a');
    expect(clusterNameFor(['1', '2'])).toBe('1');
    expect(clusterNameFor(['a', 'b'])).toBe('a');
    expect(clusterNameFor([`${'x'.repeat(60)}-1`])).toHaveLength(40);
  });

  test('artifact sources', () => {
    expect(artifactSourceFor('github').source).toBe('github');
    expect(artifactSourceFor('https://github.com/etcd-io/etcd/releases/download/v3.5.10/etcd-v3.5.10-linux-amd64.tar.gz').source).toBe(
      'github',
    );
    expect(artifactSourceFor('https://github.com/coreos/etcd/releases/download').source).toBe('github');
    expect(artifactSourceFor('http://mirror.example/etcd/{version}/etcd-{version}-linux-amd64.tar.gz')).toEqual({
      source: 'http://mirror.example/etcd',
      trimmed: true,
    });
    expect(artifactSourceFor('https://mirror.example/etcd/')).toEqual({ source: 'https://mirror.example/etcd', trimmed: false });
  });
});

describe('unknown fields are reported, not rejected or dropped silently', () => {
  test('top level and inside blocks', () => {
    const r = importTaskserv([
      { ...node(1), ssl_mode: 'cfssl', performance: { experimental_x: 1 }, backup: { enabled: false, schedule: 'cron' } },
      { ...node(2), ssl_mode: 'cfssl', performance: { experimental_x: 1 }, backup: { enabled: false, schedule: 'cron' } },
    ]);
    expect(r.unsupported).toEqual([
      { field: '[0].ssl_mode', reason: expect.stringMatching(/^unknown field/) },
      { field: '[0].performance.experimental_x', reason: 'unknown performance setting: ignored' },
      { field: '[0].backup.schedule', reason: 'unknown backup setting: ignored' },
      { field: '[1].ssl_mode', reason: expect.stringMatching(/^unknown field/) },
      { field: '[1].performance.experimental_x', reason: 'unknown performance setting: ignored' },
      { field: '[1].backup.schedule', reason: 'unknown backup setting: ignored' },
    ]);
  });
});

describe('inconsistent input is a 400 with paths into the taskserv input', () => {
  const reject = (input: unknown) => {
    const e = rejection(() => importTaskserv(input, { provider: 'local' }));
    expect(e.status).toBe(400);
    return e;
  };

  test('etcd_name not in cluster_list', () => {
    const e = reject(trio((n) => (n === 2 ? { etcd_name: 'etcd-x' } : {})));
    expect(e.issues).toEqual([{ path: '[1].etcd_name', message: '"etcd-x" is not in cluster_list (etcd-1, etcd-2, etcd-3)' }]);
  });

  test('etcd_name not in initial_peers (without a cluster_list)', () => {
    const e = reject({ ...node(4), initial_peers: ['etcd-1=https://127.0.10.1:2380'] });
    expect(paths(e)).toEqual(['etcd_name']);
  });

  test('nodes disagreeing on cluster_list', () => {
    const e = reject(trio((n) => (n === 3 ? { cluster_list: ['etcd-1', 'etcd-2', 'etcd-4'] } : {})));
    expect(paths(e)).toEqual(['[2].cluster_list']);
    expect(e.issues[0].message).toMatch(/^differs from \[0\]\.cluster_list/);
  });

  test('cluster_list order alone is not a disagreement', () => {
    expect(importTaskserv(trio((n) => (n === 2 ? { cluster_list: 'etcd-3 etcd-1 etcd-2' } : {}))).spec.members).toHaveLength(3);
  });

  test('nodes disagreeing on version and token', () => {
    const e = reject(trio((n) => (n === 2 ? { version: 'v3.5.11' } : n === 3 ? { token: 'other' } : {})));
    expect(paths(e)).toEqual(['[1].version', '[2].token']);
  });

  test('nodes disagreeing on other cluster-wide settings', () => {
    const e = reject(trio((n) => (n === 3 ? { ssl_sign: 'ECC', performance: { heartbeat_interval: 200 } } : { ssl_sign: 'RSA' })));
    expect(paths(e)).toEqual(['[2].ssl_sign']);
  });

  test('duplicate etcd_name', () => {
    const e = reject([node(1), node(2), { ...node(3), etcd_name: 'etcd-1' }]);
    expect(e.issues).toEqual([{ path: '[2].etcd_name', message: 'duplicate etcd_name "etcd-1" (also [0].etcd_name)' }]);
  });

  test('initial_peers disagreeing with a node’s own address', () => {
    const e = reject(trio((n) => (n === 2 ? { peer_ip: '127.0.10.22', cli_ip: '127.0.10.22' } : {})));
    expect(e.issues).toEqual([
      {
        path: '[0].initial_peers[1]',
        message: expect.stringMatching(
          /^lists etcd-2 at https:\/\/127\.0\.10\.2:2380, but etcd-2's own config \(\[1\]\) advertises https:\/\/127\.0\.10\.22:2380/,
        ),
      },
    ]);
  });

  test('a member with no config and no initial_peers entry', () => {
    const e = reject({ ...node(1), cluster_list: ['etcd-1', 'etcd-2'] });
    expect(e.issues).toEqual([
      { path: 'cluster_list', message: 'member "etcd-2" has no config of its own and no initial_peers entry, so its address is unknown' },
    ]);
  });

  test('initial_peers naming a member outside cluster_list', () => {
    const e = reject({
      ...node(1),
      cluster_list: ['etcd-1'],
      initial_peers: ['etcd-1=https://127.0.10.1:2380', 'etcd-9=https://127.0.10.9:2380'],
    });
    expect(paths(e)).toEqual(['initial_peers[1]']);
  });

  test('malformed initial_peers entries and duplicates', () => {
    expect(paths(reject({ ...node(1), initial_peers: 'etcd-1' }))).toEqual(['initial_peers']);
    expect(paths(reject({ ...node(1), initial_peers: ['etcd-1=https://127.0.10.1:2380', 'etcd-1=https://127.0.10.1:2380'] }))).toEqual([
      'initial_peers[1]',
    ]);
    expect(paths(reject({ ...node(1), cluster_list: ['etcd-1', 'etcd-1'] }))).toEqual(['cluster_list[1]']);
  });

  test('URL schemes that contradict etcd_protocol', () => {
    expect(paths(reject({ ...node(1), etcd_protocol: 'https', adv_listen_peers: 'http://127.0.10.1:2380' }))).toEqual(['adv_listen_peers']);
    expect(paths(reject({ ...node(1), etcd_protocol: 'http', initial_peers: ['etcd-1=https://127.0.10.1:2380'] }))).toEqual([
      'initial_peers[0]',
    ]);
    expect(paths(reject({ ...node(1), listen_clients: 'not a url' }))).toEqual(['listen_clients']);
    expect(paths(reject({ ...node(1), listen_clients: ['https://127.0.10.1:2379', 'ftp://x'] }))).toEqual(['listen_clients[1]']);
  });

  test('0.0.0.0 cannot be the advertised address', () => {
    const e = reject({ ...node(1), peer_ip: '0.0.0.0', cli_ip: '0.0.0.0' });
    expect(paths(e)).toEqual(['peer_ip']);
  });

  test('no address at all', () => {
    expect(reject({ etcd_name: 'x' }).issues).toEqual([
      { path: 'peer_ip', message: 'required: the address of member "x" (peer_ip, cli_ip or adv_listen_peers)' },
    ]);
  });

  test('the same setting twice in different blocks with different values', () => {
    expect(paths(reject({ ...node(1), performance: { quota_backend_bytes: '2GB' }, storage: { quota_backend_bytes: '8GB' } }))).toEqual([
      'storage.quota_backend_bytes',
    ]);
  });

  test('wrong types name the field', () => {
    const e = reject([
      node(1),
      { ...node(2), cli_port: 'http', use_localhost: 'maybe', performance: { heartbeat_interval: 'fast' } },
      { cli_ip: '127.0.10.3' },
      'etcd-4',
    ]);
    expect(paths(e)).toEqual(['[1].cli_port', '[1].use_localhost', '[1].performance.heartbeat_interval', '[2].etcd_name', '[3]']);
    expect(e.issues[4].message).toMatch(/^expected a taskserv ETCD config/);
    expect(e.issues[3].message).toBe('required');
  });

  test('nothing to import', () => {
    expect(reject([]).issues).toEqual([{ path: '', message: 'no taskserv ETCD config found' }]);
    expect(paths(reject('etcd'))).toEqual(['']);
  });
});

describe('native validation errors point back at taskserv fields', () => {
  const reject = (input: unknown) => rejection(() => importTaskserv(input, { provider: 'local' }));

  test('non-loopback addresses with the local provider', () => {
    const e = reject([node(1), { ...node(2), cli_ip: '10.0.0.2', peer_ip: '10.0.0.2' }]);
    expect(e.issues).toEqual([{ path: '[1].peer_ip', message: expect.stringContaining('127.0.0.0/8') }]);
    const e2 = reject({ ...node(1), adv_listen_peers: 'https://192.168.1.10:2380' });
    expect(e2.issues).toEqual([{ path: 'adv_listen_peers', message: expect.stringContaining('127.0.0.0/8') }]);
    const e3 = reject({ ...node(1), listen_peers: 'https://0.0.0.0:2380', listen_clients: 'https://0.0.0.0:2379' });
    expect(e3.issues).toEqual([{ path: 'listen_peers', message: expect.stringContaining('127.0.0.0/8') }]);
    // a member only known from initial_peers
    const e4 = reject({ ...node(1), initial_peers: ['etcd-1=https://127.0.10.1:2380', 'etcd-2=https://10.1.1.1:2380'] });
    expect(paths(e4)).toEqual(['initial_peers[1]']);
  });

  test('two nodes on one address:port', () => {
    const e = reject([node(1), { ...node(2), cli_ip: '127.0.10.1', peer_ip: '127.0.10.1' }]);
    expect(paths(e)).toEqual(['[1].peer_ip']);
  });

  test('certificate settings', () => {
    const e = reject({ ...node(1), ssl_sign: 'RSA', long_sign: 1024, sign_sha: 1, ca_sign_days: 0, c: 'ESP' });
    expect(paths(e).sort()).toEqual(['c', 'ca_sign_days', 'long_sign', 'sign_sha']);
    expect(e.issues.find((i) => i.path === 'long_sign')!.message).toBe('RSA key size must be 2048, 3072 or 4096 bits');
    expect(paths(reject({ ...node(1), ssl_sign: 'ECC', ssl_curve: 'secp521r1' }))).toEqual(['ssl_curve']);
    expect(paths(reject({ ...node(1), ssl_sign: 'DSA' }))).toEqual(['ssl_sign']);
    expect(paths(reject({ ...node(1), cipher: 'des3' }))).toEqual(['cipher']);
  });

  test('version, names, tunables, logging, paths, schedules', () => {
    expect(paths(reject({ ...node(1), version: '3.4.27' }))).toEqual(['version']);
    expect(paths(reject({ ...node(1), etcd_name: 'bad name!' }))).toEqual(['etcd_name']);
    expect(paths(reject({ ...node(1), performance: { heartbeat_interval: 500, election_timeout: 1000 } }))).toEqual([
      'performance.election_timeout',
    ]);
    expect(paths(reject({ ...node(1), storage: { auto_compaction_mode: 'sometimes' } }))).toEqual(['storage.auto_compaction_mode']);
    expect(paths(reject({ ...node(1), log_level: 'chatty' }))).toEqual(['log_level']);
    expect(paths(reject({ ...node(1), data_dir: 'relative/dir' }))).toEqual(['data_dir']);
    expect(paths(reject({ ...node(1), source_url: 'ftp://mirror.example/etcd' }))).toEqual(['source_url']);
    expect(paths(reject({ ...node(1), backup: { interval: 'daily' } }))).toEqual(['backup.interval']);
    expect(paths(reject({ ...node(1), kubernetes_integration: { health_check_interval: 'often' } }))).toEqual([
      'kubernetes_integration.health_check_interval',
    ]);
    expect(paths(reject({ ...node(1), kubernetes_integration: { defrag_threshold: 'lots' } }))).toEqual([
      'kubernetes_integration.defrag_threshold',
    ]);
  });

  test('more than 9 members', () => {
    const names = Array.from({ length: 10 }, (_, i) => `etcd-${i + 1}`);
    const e = reject({ ...node(1), cluster_list: names, initial_peers: names.map((n, i) => `${n}=https://127.0.10.${i + 1}:2380`) });
    expect(e.issues).toEqual([{ path: '', message: 'in the spec derived from the configs, members: at most 9 members' }]);
  });
});
