// Everything derived from a spec about where a member lives and how it is
// reached. Pure: the workflow, the activities and the API agree on it.
import { ClusterSpec, MemberSpec, isHostname, isIPv4, memberPorts, srvPeerHost } from './spec';

export interface MemberTopology {
  name: string;
  address: string;
  scheme: 'http' | 'https';
  clientURL: string;
  peerURL: string;
  metricsURL: string;
  listenClientURLs: string[];
  listenPeerURLs: string[];
  listenMetricsURLs: string[];
  /** Paths as seen on the member's host (the local provider prefixes its root). */
  files: MemberFiles;
}

export interface MemberFiles {
  dataDir: string;
  confDir: string;
  certsDir: string;
  configFile: string;
  envFile: string;
  etcdctlScript: string;
  certShowScript: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  peerCert: string;
  peerKey: string;
  /** Admin client certificate used by etcdctl.sh and health checks. */
  clientCert: string;
  clientKey: string;
}

export function memberFiles(spec: ClusterSpec, m: MemberSpec): MemberFiles {
  const dataDir = m.paths?.dataDir ?? spec.paths.dataDir;
  const confDir = m.paths?.confDir ?? spec.paths.confDir;
  const certsDir = m.paths?.certsDir ?? spec.paths.certsDir;
  return {
    dataDir,
    confDir,
    certsDir,
    configFile: `${confDir}/config.yaml`,
    envFile: `${confDir}/env`,
    etcdctlScript: `${confDir}/etcdctl.sh`,
    certShowScript: `${confDir}/cert-show.sh`,
    caCert: `${certsDir}/ca.pem`,
    serverCert: `${certsDir}/etcd.pem`,
    serverKey: `${certsDir}/etcd-key.pem`,
    peerCert: `${certsDir}/peer.pem`,
    peerKey: `${certsDir}/peer-key.pem`,
    clientCert: `${certsDir}/admin.pem`,
    clientKey: `${certsDir}/admin-key.pem`,
  };
}

export function memberTopology(spec: ClusterSpec, m: MemberSpec): MemberTopology {
  const scheme = spec.tls.enabled ? 'https' : 'http';
  const p = memberPorts(spec, m);
  const listen = m.listenAddress ?? m.address;
  const listenClient = [`${scheme}://${listen}:${p.client}`];
  if (spec.tls.useLocalhost && listen !== '127.0.0.1' && listen !== '0.0.0.0') {
    listenClient.push(`${scheme}://127.0.0.1:${p.client}`);
  }
  // Under DNS SRV bootstrap etcd builds the initial cluster from the SRV
  // targets, so peers are advertised (and listed) by their DNS names.
  const srv = spec.dns?.discoverySrv;
  const peerHost = srv ? srvPeerHost(m, srv) : m.address;
  return {
    name: m.name,
    address: m.address,
    scheme,
    clientURL: `${scheme}://${m.address}:${p.client}`,
    peerURL: `${scheme}://${peerHost}:${p.peer}`,
    metricsURL: `http://${m.address}:${p.metrics}`,
    listenClientURLs: listenClient,
    listenPeerURLs: [`${scheme}://${listen}:${p.peer}`],
    listenMetricsURLs: [`http://${listen}:${p.metrics}`],
    files: memberFiles(spec, m),
  };
}

export function clusterTopology(spec: ClusterSpec): MemberTopology[] {
  return spec.members.map((m) => memberTopology(spec, m));
}

/** `name=peerURL,...` for etcd's initial-cluster. */
export function initialCluster(members: Pick<MemberTopology, 'name' | 'peerURL'>[]): string {
  return members.map((m) => `${m.name}=${m.peerURL}`).join(',');
}

export function clusterToken(spec: ClusterSpec): string {
  return spec.token ?? `etcd-${spec.name}`;
}

/** The common name of a member's server and peer certificates. */
export function memberCommonName(m: MemberSpec): string {
  return m.commonName ?? m.name;
}

/**
 * Subject alternative names for a member's server and peer certificates: the
 * member name, its host name and common name when they are DNS names, those
 * names under the cluster's DNS domain, its DNS SRV peer name and domain, its addresses, and the extra SANs of
 * the member and of the cluster.
 */
export function memberSans(spec: ClusterSpec, m: MemberSpec): { dns: string[]; ips: string[] } {
  const dns = new Set<string>([m.name]);
  const ips = new Set<string>();
  const add = (s: string) => (isIPv4(s) ? ips.add(s) : dns.add(s));
  add(m.address);
  if (m.listenAddress && m.listenAddress !== '0.0.0.0') add(m.listenAddress);
  if (m.hostname) dns.add(m.hostname);
  if (m.commonName && isHostname(m.commonName)) dns.add(m.commonName);
  if (spec.tls.useLocalhost) {
    ips.add('127.0.0.1');
    dns.add('localhost');
  }
  // On loopback the kernel picks 127.0.0.1 as the source of a member's peer
  // connections, and etcd checks the remote address against the peer
  // certificate's IP SANs: without it peers reject each other.
  if (spec.provider === 'local') ips.add('127.0.0.1');
  const domain = spec.dns?.domain;
  if (domain) {
    // A short host name gets its domain; a name already under the domain stays as it is.
    for (const n of [m.name, m.hostname]) {
      if (n && isHostname(`${n}.${domain}`) && !n.endsWith(`.${domain}`)) dns.add(`${n}.${domain}`);
    }
    dns.add(domain);
  }
  // etcd checks peers against the SRV domain (a SAN of theirs) and reaches them by their advertised DNS names.
  const srv = spec.dns?.discoverySrv;
  if (srv) dns.add(srvPeerHost(m, srv)).add(srv);
  m.sans?.forEach(add);
  spec.tls.extraSans.forEach(add);
  return { dns: [...dns], ips: [...ips] };
}
