// DNS SRV bootstrap (dns.discoverySrv): the spec's rules, the DNS-named peer
// URLs and SANs, and the etcd config of a bootstrapping and a joining member.
import { parseClusterSpec } from '../../common/parse';
import { ClusterSpec, ClusterSpecInput } from '../../common/spec';
import { clusterTopology, initialCluster, memberFiles, memberSans, memberTopology } from '../../common/topology';
import { etcdConfigObject } from '../../activities/etcd/config';
import { rejection } from '../support/rejection';

const input = (dns: ClusterSpecInput['dns'], over: Partial<ClusterSpecInput> = {}): ClusterSpecInput => ({
  name: 'dns',
  provider: 'ssh',
  members: [
    { name: 'etcd-1', address: '10.0.0.11' },
    { name: 'etcd-2', address: '10.0.0.12', hostname: 'node-2' },
    { name: 'etcd-3', address: '10.0.0.13', hostname: 'db3.other.example' },
  ],
  dns,
  ...over,
});
const spec = (dns: ClusterSpecInput['dns'], over: Partial<ClusterSpecInput> = {}): ClusterSpec => parseClusterSpec(input(dns, over)).spec;
const issues = (i: ClusterSpecInput) => rejection(() => parseClusterSpec(i)).issues.map((x) => x.path);

test('members advertise DNS peer names; clients keep the addresses', () => {
  const s = spec({ discoverySrv: 'etcd.example.com' });
  expect(clusterTopology(s).map((t) => t.peerURL)).toEqual([
    'https://etcd-1.etcd.example.com:2380',
    'https://node-2.etcd.example.com:2380',
    'https://db3.other.example:2380',
  ]);
  expect(clusterTopology(s).map((t) => t.clientURL)).toEqual([
    'https://10.0.0.11:2379',
    'https://10.0.0.12:2379',
    'https://10.0.0.13:2379',
  ]);
  // Listeners stay on addresses (etcd refuses names there).
  expect(memberTopology(s, s.members[0]).listenPeerURLs).toEqual(['https://10.0.0.11:2380']);
  expect(clusterTopology(spec(undefined))[0].peerURL).toBe('https://10.0.0.11:2380');
});

test('certificates carry the peer DNS name and the SRV domain', () => {
  const s = spec({ discoverySrv: 'etcd.example.com' });
  expect(memberSans(s, s.members[1]).dns).toEqual(expect.arrayContaining(['node-2.etcd.example.com', 'etcd.example.com']));
  expect(memberSans(s, s.members[1]).ips).toEqual(['10.0.0.12']);
});

test('a bootstrapping member uses discovery-srv; a joining one the static list', () => {
  const s = spec({ discoverySrv: 'etcd.example.com', srvName: 'prod' });
  const m = s.members[0];
  const base = { spec: s, member: m.name, initialCluster: initialCluster(clusterTopology(s)), files: memberFiles(s, m) };
  const boot = etcdConfigObject({ ...base, clusterState: 'new' });
  expect(boot).toMatchObject({
    'discovery-srv': 'etcd.example.com',
    'discovery-srv-name': 'prod',
    'initial-cluster': '',
    'initial-advertise-peer-urls': 'https://etcd-1.etcd.example.com:2380',
    'advertise-client-urls': 'https://10.0.0.11:2379',
  });
  const join = etcdConfigObject({ ...base, clusterState: 'existing' });
  expect(join['discovery-srv']).toBeUndefined();
  expect(join['initial-cluster']).toBe(
    'etcd-1=https://etcd-1.etcd.example.com:2380,etcd-2=https://node-2.etcd.example.com:2380,etcd-3=https://db3.other.example:2380',
  );
  expect(
    etcdConfigObject({ ...base, spec: spec({ discoverySrv: 'etcd.example.com' }), clusterState: 'new' })['discovery-srv-name'],
  ).toBeUndefined();
});

test('the rules: ssh only, a DNS domain, DNS-shaped member names, srvName with discoverySrv', () => {
  expect(
    issues(input({ discoverySrv: 'etcd.example.com' }, { provider: 'local', members: [{ name: 'a', address: '127.0.0.2' }] })),
  ).toEqual(['dns.discoverySrv']);
  expect(issues(input({ discoverySrv: '10.0.0.1' }))).toEqual(['dns.discoverySrv']);
  expect(issues(input({ srvName: 'prod' }))).toEqual(['dns.srvName']);
  expect(issues(input({ discoverySrv: 'e.example.com', srvName: 'no_underscores' }))).toEqual(['dns.srvName']);
  expect(issues(input({ discoverySrv: 'e.example.com' }, { members: [{ name: 'etcd_1', address: '10.0.0.11' }] }))).toEqual([
    'members[0].name',
  ]);
});
