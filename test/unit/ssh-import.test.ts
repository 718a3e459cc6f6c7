// The taskserv import with `?provider=ssh`: the README's production example
// on its real (non-loopback) addresses becomes a valid ssh spec.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBody, parseClusterSpec } from '../../common/parse';
import { importTaskserv } from '../../common/taskserv';
import { clusterTopology } from '../../common/topology';

const production = () =>
  parseBody(
    readFileSync(join(__dirname, '../fixtures/taskserv/readme/production.yaml'), 'utf8').replace(/127\.0\.86\.(\d)/g, '10.0.1.1$1'),
    'application/yaml',
  );

test('the production example on real addresses imports as an ssh spec', () => {
  const r = importTaskserv(production(), { provider: 'ssh' });
  expect(r.spec.provider).toBe('ssh');
  expect(r.spec.members?.map((m) => m.address)).toEqual(['10.0.1.11', '10.0.1.12', '10.0.1.13']);
  const { spec } = parseClusterSpec(r.spec);
  expect(spec.provider).toBe('ssh');
  expect(spec.paths).toEqual({ dataDir: '/var/lib/etcd', confDir: '/etc/etcd', certsDir: '/etc/ssl/etcd' });
});

test('the local provider still refuses those addresses', () => {
  expect(() => importTaskserv(production(), { provider: 'local' })).toThrow();
});

test('on ssh, the 127.0.0.1 client URL beside the node address turns on useLocalhost', () => {
  const r = importTaskserv(production(), { provider: 'ssh' });
  expect(r.unsupported.map((u) => u.field)).not.toContain('[0].listen_clients');
  expect(r.unsupported.filter((u) => u.field.includes('listen_clients'))).toEqual([]);
  expect(r.spec.tls?.useLocalhost).toBe(true);
  // On the local provider (members share one machine) it stays reported.
  const local = parseBody(readFileSync(join(__dirname, '../fixtures/taskserv/readme/production.yaml'), 'utf8'), 'application/yaml');
  expect(importTaskserv(local).unsupported.map((u) => u.field)).toEqual(['[0].listen_clients', '[1].listen_clients', '[2].listen_clients']);
});

const dnsExample = () =>
  parseBody(
    readFileSync(join(__dirname, '../fixtures/taskserv/readme/dns-discovery.yaml'), 'utf8').replace(/127\.0\.89\.(\d)/g, '10.0.2.1$1'),
    'application/yaml',
  ) as Record<string, unknown>[];

test('the DNS discovery example on ssh bootstraps from the SRV records of discovery_srv', () => {
  const r = importTaskserv(dnsExample(), { provider: 'ssh' });
  expect(r.unsupported).toEqual([]);
  expect(r.spec.dns).toEqual({ domain: 'etcd.example.internal', discoverySrv: 'etcd.example.internal' });
  const { spec } = parseClusterSpec(r.spec);
  expect(clusterTopology(spec).map((t) => t.peerURL)).toEqual([
    'https://etcd-1.etcd.example.internal:2380',
    'https://etcd-2.etcd.example.internal:2380',
    'https://etcd-3.etcd.example.internal:2380',
  ]);
});

test('dns_discovery alone takes the SRV domain from domain_name; without one it stays unsupported', () => {
  const strip = (cfgs: Record<string, unknown>[], ...keys: string[]) =>
    cfgs.map((c) => Object.fromEntries(Object.entries(c).filter(([k]) => !keys.includes(k))));
  const r = importTaskserv(strip(dnsExample(), 'discovery_srv'), { provider: 'ssh' });
  expect(r.spec.dns?.discoverySrv).toBe('etcd.example.internal');
  const none = importTaskserv(strip(dnsExample(), 'discovery_srv', 'domain_name'), { provider: 'ssh' });
  expect(none.spec.dns).toBeUndefined();
  expect(none.unsupported.map((u) => u.field)).toEqual(['[0].dns_discovery']);
  const off = importTaskserv(
    dnsExample().map((c) => ({ ...c, dns_discovery: false })),
    { provider: 'ssh' },
  );
  expect(off.spec.dns).toEqual({ domain: 'etcd.example.internal' });
  expect(off.warnings).toContain('[0].discovery_srv: not used because dns_discovery is false');
});

test('on the local provider discovery_srv stays unsupported and points at ?provider=ssh', () => {
  const r = importTaskserv(
    parseBody(readFileSync(join(__dirname, '../fixtures/taskserv/readme/dns-discovery.yaml'), 'utf8'), 'application/yaml'),
  );
  expect(r.unsupported).toEqual([{ field: '[0].discovery_srv', reason: expect.stringMatching(/provider=ssh/) }]);
  expect(r.spec.dns).toEqual({ domain: 'etcd.example.internal' });
});
