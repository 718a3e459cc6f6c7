// Taskserv configs as users have them: one per node, each naming its node
// (hostname, cn, addresses); every address-bearing field checked on its own;
// cluster-level fields that must agree.
import YAML from 'yaml';
import { parseBody, parseClusterSpec } from '../../common/parse';
import { importTaskserv } from '../../common/taskserv';
import { memberCommonName, memberSans } from '../../common/topology';
import { rejection } from '../support/rejection';

/** Node n of a production cluster, written the way the taskserv README writes it. */
const prodNode = (n: number, extra: Record<string, unknown> = {}) => ({
  name: 'etcd',
  etcd_name: `etcd-prod-${n}`,
  hostname: `etcd-prod-${n}`,
  cluster_name: 'etcd-prod',
  version: 'v3.5.10',
  cli_ip: `127.0.20.${n}`,
  cli_port: 2379,
  peer_ip: `127.0.20.${n}`,
  peer_port: 2380,
  listen_clients: `https://127.0.20.${n}:2379,https://127.0.0.1:2379`,
  listen_peers: `https://127.0.20.${n}:2380`,
  adv_listen_clients: `https://127.0.20.${n}:2379`,
  adv_listen_peers: `https://127.0.20.${n}:2380`,
  cluster_list: 'etcd-prod-1,etcd-prod-2,etcd-prod-3',
  initial_peers: [1, 2, 3].map((k) => `etcd-prod-${k}=https://127.0.20.${k}:2380`).join(','),
  token: 'etcd-prod-cluster',
  etcd_protocol: 'https',
  ssl_sign: 'ECC',
  ssl_curve: 'prime256v1',
  sign_sha: 384,
  ca_sign_days: 3650,
  sign_days: 365,
  c: 'US',
  cn: `etcd-prod-${n}.company.com`,
  domain_name: 'company.com',
  performance: { heartbeat_interval: 100, election_timeout: 1000 },
  ...extra,
});
const prod = (extra: (n: number) => Record<string, unknown> = () => ({})) => [1, 2, 3].map((n) => prodNode(n, extra(n)));

describe('per-node configs import as they are', () => {
  const asDocuments = prod()
    .map((d) => YAML.stringify(d))
    .join('---\n');

  test.each([
    ['three YAML documents', () => parseBody(asDocuments, 'application/yaml')],
    ['a YAML list', () => parseBody(YAML.stringify(prod()), 'application/yaml')],
    ['a JSON list', () => parseBody(JSON.stringify(prod()), 'application/json')],
    ['wrapped as etcd:', () => ({ etcd: prod() })],
  ])('%s', (_label, input) => {
    const r = importTaskserv(input());
    expect(r.name).toBe('etcd-prod');
    expect(r.spec.members).toEqual(
      [1, 2, 3].map((n) => ({
        name: `etcd-prod-${n}`,
        address: `127.0.20.${n}`,
        hostname: `etcd-prod-${n}`,
        commonName: `etcd-prod-${n}.company.com`,
      })),
    );
    // The CA is the cluster's: its subject comes from cluster_name and c.
    expect(r.spec.tls!.subject).toEqual({ country: 'US', commonName: 'etcd-prod' });
    // The second client URL (127.0.0.1) is what the local provider cannot honour on one machine.
    expect(r.unsupported.map((u) => u.field)).toEqual(
      [1, 2, 3].map((_, i) => ((input() as any).etcd ? `etcd[${i}].listen_clients` : `[${i}].listen_clients`)),
    );
    const { spec } = parseClusterSpec(r.spec);
    const m = spec.members[1];
    expect(memberCommonName(m)).toBe('etcd-prod-2.company.com');
    expect(memberSans(spec, m).dns).toEqual(expect.arrayContaining(['etcd-prod-2', 'etcd-prod-2.company.com', 'etcd-prod-2']));
    expect(memberSans(spec, m).ips).toEqual(expect.arrayContaining(['127.0.20.2']));
  });

  test('a single config with a cluster_list names only its own node', () => {
    const r = importTaskserv(prodNode(1));
    expect(r.spec.members!.map((m) => [m.name, m.commonName])).toEqual([
      ['etcd-prod-1', 'etcd-prod-1.company.com'],
      ['etcd-prod-2', undefined],
      ['etcd-prod-3', undefined],
    ]);
  });

  test('different taskserv names do not refuse the configs', () => {
    const r = importTaskserv(prod((n) => ({ name: `etcd-${n}`, cluster_name: undefined })));
    expect(r.name).toBe('etcd-prod');
    expect(r.warnings.join('\n')).toMatch(/different taskservs/);
  });
});

describe('member certificate names', () => {
  const spec = (member: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    parseClusterSpec({ name: 'c', members: [{ name: 'etcd-1', address: '127.0.20.1', ...member }], ...extra }).spec;

  test('hostname, a DNS-shaped common name and the domain become SANs', () => {
    const s = spec({ hostname: 'node-1', commonName: 'etcd-1.company.com' }, { dns: { domain: 'company.com' } });
    expect(memberCommonName(s.members[0])).toBe('etcd-1.company.com');
    expect(memberSans(s, s.members[0]).dns.sort()).toEqual(
      ['company.com', 'etcd-1', 'etcd-1.company.com', 'node-1', 'node-1.company.com'].sort(),
    );
  });

  test('a common name that is not a DNS name is the subject only; the member name is the default', () => {
    const s = spec({ commonName: 'etcd node 1', sans: ['10.0.0.1', 'api.internal'] });
    expect(memberCommonName(s.members[0])).toBe('etcd node 1');
    expect(memberSans(s, s.members[0])).toEqual({ dns: ['etcd-1', 'api.internal'], ips: ['127.0.20.1', '127.0.0.1', '10.0.0.1'] });
    expect(memberCommonName(spec({}).members[0])).toBe('etcd-1');
  });

  test.each([
    ['hostname', { hostname: '10.0.0.1' }],
    ['hostname', { hostname: 'bad_name' }],
    ['commonName', { commonName: 'x'.repeat(65) }],
    ['sans.0', { sans: ['not a name'] }],
  ])('members.0.%s is checked', (field, member) => {
    const e = rejection(() => spec(member));
    expect(e.issues.map((i) => i.path)).toEqual([`members[0].${field.replace(/\.(\d+)$/, '[$1]')}`]);
  });
});

describe('every address-bearing field is checked on its own', () => {
  // Each row breaks one field of node 2 while another field would win (adv_listen_* override cli_ip/peer_ip).
  const rows: [string, Record<string, unknown>, string][] = [
    ['cli_ip not an IP', { cli_ip: 'not-an-ip!' }, '[1].cli_ip'],
    ['cli_ip out of range', { cli_ip: '10.0.0.300' }, '[1].cli_ip'],
    ['peer_ip a URL', { peer_ip: 'https://127.0.20.2' }, '[1].peer_ip'],
    ['cli_port 0', { cli_port: 0 }, '[1].cli_port'],
    ['peer_port 70000', { peer_port: 70000 }, '[1].peer_port'],
    ['cli_port not a number', { cli_port: 'http' }, '[1].cli_port'],
    ['listen_clients second URL malformed', { listen_clients: 'https://127.0.20.2:2379,https://127.0.0.1:99999' }, '[1].listen_clients'],
    ['listen_clients scheme', { listen_clients: 'http://127.0.20.2:2379' }, '[1].listen_clients'],
    ['listen_peers host', { listen_peers: 'https://bad_host:2380' }, '[1].listen_peers'],
    ['listen_peers not a URL', { listen_peers: 'https://' }, '[1].listen_peers'],
    ['adv_listen_clients port', { adv_listen_clients: 'https://127.0.20.2:0' }, '[1].adv_listen_clients'],
    ['adv_listen_peers scheme', { adv_listen_peers: ['ftp://127.0.20.2:2380'] }, '[1].adv_listen_peers[0]'],
  ];
  test.each(rows)('%s', (_label, broken, path) => {
    const e = rejection(() => importTaskserv(prod((n) => (n === 2 ? broken : {}))));
    expect(e.status).toBe(400);
    expect(e.issues.map((i) => i.path)).toEqual([path]);
  });

  test.each([
    [
      'initial_peers host',
      {
        initial_peers: ['etcd-prod-1=https://127.0.20.1:2380', 'etcd-prod-2=https://256.0.0.1:2380', 'etcd-prod-3=https://127.0.20.3:2380'],
      },
      '[0].initial_peers[1]',
    ],
    [
      'initial_peers port',
      {
        initial_peers: [
          'etcd-prod-1=https://127.0.20.1:2380',
          'etcd-prod-2=https://127.0.20.2:65536',
          'etcd-prod-3=https://127.0.20.3:2380',
        ],
      },
      '[0].initial_peers[1]',
    ],
    [
      'initial_peers scheme',
      { initial_peers: 'etcd-prod-1=http://127.0.20.1:2380,etcd-prod-2=https://127.0.20.2:2380,etcd-prod-3=https://127.0.20.3:2380' },
      '[0].initial_peers',
    ],
    [
      'initial_peers entry',
      { initial_peers: ['=https://127.0.20.1:2380', 'etcd-prod-2=https://127.0.20.2:2380', 'etcd-prod-3=https://127.0.20.3:2380'] },
      '[0].initial_peers[0]',
    ],
    ['cluster_list peer URL', { cluster_list: ['etcd-prod-1', 'etcd-prod-2=https://127.0.20.2:x', 'etcd-prod-3'] }, '[0].cluster_list[1]'],
  ])('%s (on every node alike)', (_label, broken, path) => {
    const e = rejection(() => importTaskserv(prod(() => broken)));
    // Every node's copy is checked; the first one is enough to name here.
    expect(e.issues.map((i) => i.path)).toContain(path);
    expect(e.issues.map((i) => i.path)).toContain(path.replace('[0]', '[2]'));
  });

  test('all malformed fields are reported in one answer', () => {
    const e = rejection(() =>
      importTaskserv(
        prod((n) => (n === 1 ? { cli_ip: 'x!' } : n === 3 ? { peer_port: -1, listen_peers: 'https://127.0.20.3:123456' } : {})),
      ),
    );
    expect(e.issues.map((i) => i.path)).toEqual(['[0].cli_ip', '[2].peer_port', '[2].listen_peers']);
  });
});

describe('cluster-level fields must agree across node configs', () => {
  // [field, what nodes 1 and 2 say (undefined: as prodNode has it), what node 3 says]
  const rows: [string, unknown, unknown][] = [
    ['version', undefined, 'v3.5.9'],
    ['token', undefined, 'other-token'],
    ['cluster_list', undefined, 'etcd-prod-1,etcd-prod-2'],
    [
      'initial_peers',
      undefined,
      'etcd-prod-1=https://127.0.20.1:2380,etcd-prod-2=https://127.0.20.2:2380,etcd-prod-3=https://127.0.20.9:2380',
    ],
    ['ssl_sign', undefined, 'RSA'],
    ['ca_sign', 'ECC', 'RSA'],
    ['long_sign', 2048, 4096],
    ['ssl_curve', undefined, 'secp384r1'],
    ['sign_sha', undefined, 256],
    ['ca_sign_days', undefined, 365],
    ['sign_days', undefined, 90],
    ['etcd_protocol', undefined, 'http'],
    ['performance', undefined, { heartbeat_interval: 200, election_timeout: 2000 }],
    ['storage', { quota_backend_bytes: '8GB' }, { quota_backend_bytes: '4GB' }],
    ['security', { client_cert_auth: true }, { client_cert_auth: true, peer_client_cert_auth: true }],
    ['backup', { interval: '6h' }, { interval: '1h' }],
    ['kubernetes_integration', { compaction_interval: '1h' }, { compaction_interval: '5m' }],
  ];
  test.each(rows)('%s', (field, base, other) => {
    const e = rejection(() => importTaskserv(prod((n) => (n === 3 ? { [field]: other } : base === undefined ? {} : { [field]: base }))));
    expect(e.status).toBe(400);
    const issue = e.issues.find((i) => i.path === `[2].${field}`);
    expect(issue?.message).toContain(`[0].${field}`);
  });

  test('cn and hostname may differ (they name the node)', () => {
    expect(() => importTaskserv(prod())).not.toThrow();
  });
});

describe('hostile sizes are refused before per-entry work', () => {
  /** Milliseconds of `fn`. */
  const timed = (fn: () => void) => {
    const t = performance.now();
    fn();
    return performance.now() - t;
  };
  /** A bound relative to importing the three production configs in the same run (a loaded machine slows both). */
  const budget = () => {
    const normal = Math.min(...[0, 1, 2].map(() => timed(() => importTaskserv([prodNode(1), prodNode(2), prodNode(3)]))));
    return 20 * normal + 300;
  };

  test('a cluster_list of 20,000 names', () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `n${i}`).join(',');
    const limit = budget();
    const t = performance.now();
    const e = rejection(() => importTaskserv({ ...prodNode(1), cluster_list: names, initial_peers: undefined }));
    expect(performance.now() - t).toBeLessThan(limit);
    expect(e.issues.map((i) => i.path)).toEqual(['cluster_list']);
  });

  test('2,000 configs', () => {
    const limit = budget();
    const t = performance.now();
    const e = rejection(() => importTaskserv(Array.from({ length: 2000 }, (_, i) => prodNode(i))));
    expect(performance.now() - t).toBeLessThan(limit);
    expect(e.issues[0].message).toMatch(/at most 9 members/);
  });
});
