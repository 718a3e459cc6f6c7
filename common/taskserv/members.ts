// Taskserv import (see index.ts): membership (initial_peers, cluster_list),
// per-node member drafts (addresses, ports), paths and the cluster name.
import { type Issue, ValidationError } from '../parse';
import type { ClusterSpecInput } from '../spec';
import type { Unsupported } from './schema';
import {
  type Cfg,
  type Endpoint,
  type First,
  f,
  isConcrete,
  isLocalhost,
  listEntryPath,
  parseEndpoint,
  type Provenance,
  URL_FIELDS,
} from './configs';

interface Peer {
  name: string;
  url: Endpoint;
  text: string;
  path: string;
}

interface MemberDraft {
  name: string;
  address: string;
  listenAddress?: string;
  clientPort?: number;
  peerPort: number;
  paths?: { dataDir?: string; confDir?: string; certsDir?: string };
  prov: Record<string, string>;
}

const DEFAULT_CLIENT_PORT = 2379;
const DEFAULT_PEER_PORT = 2380;

/** A `name=peerURL` entry that checkAddresses accepted. */
function parsePeer(entry: string, path: string): Peer {
  const eq = entry.indexOf('=');
  return { name: entry.slice(0, eq).trim(), url: parseEndpoint(entry.slice(eq + 1))!, text: entry, path };
}

function collectPeers(cfg: Cfg | undefined, issues: Issue[]): Peer[] {
  if (!cfg?.c.initial_peers) return [];
  const peers = new Map<string, Peer>();
  cfg.c.initial_peers.forEach((entry, k) => {
    const p = parsePeer(entry, listEntryPath(cfg, 'initial_peers', k));
    if (peers.has(p.name)) issues.push({ path: p.path, message: `"${p.name}" is listed twice` });
    else peers.set(p.name, p);
  });
  return [...peers.values()];
}

interface Source {
  host?: string;
  port?: number;
  hostField?: string;
  portField?: string;
}

/** The first URL of a list field (checkAddresses accepted them all); the rest are reported. */
function urlField(cfg: Cfg, field: (typeof URL_FIELDS)[number], useLocalhost: boolean, unsupported: Unsupported[]): Source | undefined {
  const list = cfg.c[field];
  if (!list) return undefined;
  const [main, ...rest] = list.map((text) => parseEndpoint(text)!);
  rest.forEach((e, k) => {
    if (useLocalhost && field.endsWith('clients') && isLocalhost(e.host)) return; // use_localhost provides it
    unsupported.push({
      field: listEntryPath(cfg, field, k + 1),
      reason: `one URL per member: ${list[0]} is used, ${list[k + 1]} is not${isLocalhost(e.host) ? ' (use_localhost adds 127.0.0.1 to the client URLs)' : ''}`,
    });
  });
  const at = listEntryPath(cfg, field, 0);
  return { host: main.host, port: main.port, hostField: at, portField: main.port !== undefined ? at : undefined };
}

function memberFromConfig(
  cfg: Cfg,
  protocol: string,
  useLocalhost: boolean,
  issues: Issue[],
  unsupported: Unsupported[],
): MemberDraft | undefined {
  const c = cfg.c;
  const ipField = (primary: 'peer_ip' | 'cli_ip') => {
    const other = primary === 'peer_ip' ? 'cli_ip' : 'peer_ip';
    if (c[primary] !== undefined) return { host: c[primary], hostField: f(cfg, primary) };
    if (c[other] !== undefined) return { host: c[other], hostField: f(cfg, other) };
    return { host: undefined, hostField: undefined };
  };
  const plain = (kind: 'peer' | 'cli'): Source => {
    const portKey = kind === 'peer' ? 'peer_port' : 'cli_port';
    return {
      ...ipField(kind === 'peer' ? 'peer_ip' : 'cli_ip'),
      port: c[portKey] ?? (kind === 'peer' ? DEFAULT_PEER_PORT : DEFAULT_CLIENT_PORT),
      portField: c[portKey] !== undefined ? f(cfg, portKey) : undefined,
    };
  };
  const withDefaults = (s: Source | undefined, base: Source): Source =>
    s
      ? { host: s.host, hostField: s.hostField, port: s.port ?? base.port, portField: s.port !== undefined ? s.portField : base.portField }
      : base;

  const peerBase = plain('peer');
  const cliBase = plain('cli');
  const advPeer = withDefaults(urlField(cfg, 'adv_listen_peers', useLocalhost, unsupported), peerBase);
  const advClient = withDefaults(urlField(cfg, 'adv_listen_clients', useLocalhost, unsupported), cliBase);
  const listenPeer = withDefaults(urlField(cfg, 'listen_peers', useLocalhost, unsupported), peerBase);
  const listenClient = withDefaults(urlField(cfg, 'listen_clients', useLocalhost, unsupported), cliBase);

  if (advPeer.host === undefined) {
    issues.push({
      path: f(cfg, 'peer_ip'),
      message: `required: the address of member "${c.etcd_name}" (peer_ip, cli_ip or adv_listen_peers)`,
    });
    return undefined;
  }
  const adv = isConcrete(advPeer.host) ? advPeer : advClient.host !== undefined && isConcrete(advClient.host) ? advClient : undefined;
  if (!adv) {
    issues.push({
      path: advPeer.hostField ?? f(cfg, 'peer_ip'),
      message: `${advPeer.host} binds all interfaces but cannot be advertised to other members: set adv_listen_peers (or peer_ip) to the member's address`,
    });
    return undefined;
  }
  const address = adv.host!;
  const prov: Record<string, string> = { name: f(cfg, 'etcd_name'), address: adv.hostField! };

  if (advClient.host !== undefined && isConcrete(advClient.host) && advClient.host !== address) {
    unsupported.push({
      field: advClient.hostField!,
      reason: `one address per member: clients are told to use ${address} (the peer address), not ${advClient.host}`,
    });
  }

  // Bind address: one per member for clients and peers.
  let bind = listenPeer.host ?? address;
  let bindField = listenPeer.hostField;
  const lc = listenClient.host ?? address;
  if (lc !== bind) {
    if (!isConcrete(lc) || !isConcrete(bind)) {
      if (isConcrete(bind)) {
        bind = lc;
        bindField = listenClient.hostField;
      }
      unsupported.push({
        field: (isConcrete(lc) ? listenClient.hostField : listenPeer.hostField) ?? f(cfg, 'listen_clients'),
        reason: `one listen address per member: client and peer URLs both bind ${bind}`,
      });
    } else if (!(useLocalhost && isLocalhost(lc))) {
      unsupported.push({
        field: listenClient.hostField ?? f(cfg, 'listen_clients'),
        reason: `one listen address per member: client and peer URLs both bind ${bind}, not ${lc}`,
      });
    }
  }

  const clientPort = advClient.port ?? DEFAULT_CLIENT_PORT;
  const peerPort = advPeer.port ?? DEFAULT_PEER_PORT;
  prov.clientPort = advClient.portField ?? advClient.hostField ?? f(cfg, 'cli_port');
  prov.peerPort = advPeer.portField ?? advPeer.hostField ?? f(cfg, 'peer_port');
  if (listenClient.port !== undefined && listenClient.port !== clientPort) {
    unsupported.push({
      field: listenClient.portField ?? f(cfg, 'listen_clients'),
      reason: `members listen on the port they advertise: clients use ${clientPort}, not ${listenClient.port}`,
    });
  }
  if (listenPeer.port !== undefined && listenPeer.port !== peerPort) {
    unsupported.push({
      field: listenPeer.portField ?? f(cfg, 'listen_peers'),
      reason: `members listen on the port they advertise: peers use ${peerPort}, not ${listenPeer.port}`,
    });
  }

  const d: MemberDraft = { name: c.etcd_name, address, clientPort, peerPort, prov };
  if (bind !== address) {
    d.listenAddress = bind;
    prov.listenAddress = bindField ?? listenClient.hostField ?? adv.hostField!;
  }
  return d;
}

/**
 * use_localhost on the local provider: every member runs on this one machine,
 * so members that share a client port cannot all listen on 127.0.0.1 as well
 * (on separate servers they can). Then the extra listener is left out and
 * said so, rather than refusing configs written for separate servers.
 */
export function localhostOnOneMachine(spec: ClusterSpecInput, cfg: Cfg, unsupported: Unsupported[]): void {
  const ports = new Map<number, string[]>();
  for (const m of spec.members ?? []) {
    const listen = m.listenAddress ?? m.address;
    if (listen === '127.0.0.1' || listen === '0.0.0.0') continue;
    const port = m.clientPort ?? spec.ports?.client ?? DEFAULT_CLIENT_PORT;
    ports.set(port, [...(ports.get(port) ?? []), m.name]);
  }
  const shared = [...ports.entries()].filter(([, names]) => names.length > 1);
  if (!shared.length) return;
  spec.tls = { ...spec.tls, useLocalhost: false };
  const [port, names] = shared[0];
  unsupported.push({
    field: f(cfg, 'use_localhost'),
    reason: `the local provider runs every member on this machine, where ${names.join(', ')} cannot all listen on 127.0.0.1:${port}: members listen on their own addresses only (their certificates still carry 127.0.0.1)`,
  });
}

function confDir(v: string, path: string, warnings: string[]): string {
  const m = /^(.*)\/([^/]+\.(ya?ml|conf|json|env))$/i.exec(v);
  if (!m) return v;
  if (m[2] !== 'config.yaml') warnings.push(`${path}: etcdfleet writes the etcd config as config.yaml in ${m[1] || '/'}, not ${m[2]}`);
  return m[1] || '/';
}

/** The members' names and the peer entries that give addresses. */
export interface Membership {
  memberNames: string[];
  peerByName: Map<string, Peer>;
  clusterList?: { v: string[]; cfg: Cfg };
}

/** Membership: cluster_list, else initial_peers, else the configs themselves (throws on conflicts). */
export function resolveMembership(cfgs: Cfg[], first: First, issues: Issue[]): Membership {
  const peers = collectPeers(first('initial_peers')?.cfg, issues);
  const clusterList = first('cluster_list');
  const peerByName = new Map(peers.map((p) => [p.name, p]));
  let memberNames: string[];
  if (clusterList) {
    const listed = new Set<string>();
    clusterList.v.forEach((entry, k) => {
      const name = entry.split('=')[0].trim();
      const at = listEntryPath(clusterList.cfg, 'cluster_list', k);
      if (listed.has(name)) issues.push({ path: at, message: `"${name}" is listed twice` });
      else listed.add(name);
      if (entry.includes('=') && !peerByName.has(name)) {
        const p = parsePeer(entry, at);
        peers.push(p);
        peerByName.set(name, p);
      }
    });
    memberNames = [...listed];
    for (const p of peers) {
      if (!listed.has(p.name)) issues.push({ path: p.path, message: `"${p.name}" is not in cluster_list (${memberNames.join(', ')})` });
    }
  } else if (peers.length) {
    memberNames = peers.map((p) => p.name);
  } else {
    memberNames = cfgs.map((x) => x.c.etcd_name);
  }
  const known = new Set(memberNames);
  for (const cfg of cfgs) {
    if (!known.has(cfg.c.etcd_name)) {
      const list = clusterList ? 'cluster_list' : 'initial_peers';
      issues.push({ path: f(cfg, 'etcd_name'), message: `"${cfg.c.etcd_name}" is not in ${list} (${memberNames.join(', ')})` });
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return { memberNames, peerByName, clusterList };
}

/** One draft per member: from its own config, else from its initial_peers entry (throws when neither gives an address). */
export function draftMembers(
  { memberNames, peerByName, clusterList }: Membership,
  names: Map<string, Cfg>,
  protocol: string,
  useLocalhost: boolean,
  issues: Issue[],
  unsupported: Unsupported[],
): MemberDraft[] {
  const drafts: MemberDraft[] = [];
  for (const name of memberNames) {
    const cfg = names.get(name);
    const peer = peerByName.get(name);
    if (cfg) {
      const d = memberFromConfig(cfg, protocol, useLocalhost, issues, unsupported);
      if (!d) continue;
      if (peer && (peer.url.host !== d.address || (peer.url.port ?? DEFAULT_PEER_PORT) !== d.peerPort)) {
        issues.push({
          path: peer.path,
          message: `lists ${name} at ${peer.text.split('=').slice(1).join('=')}, but ${name}'s own config (${cfg.path || 'the input'}) advertises ${protocol}://${d.address}:${d.peerPort}`,
        });
      }
      drafts.push(d);
    } else if (peer) {
      drafts.push({
        name,
        address: peer.url.host,
        peerPort: peer.url.port ?? DEFAULT_PEER_PORT,
        prov: { address: peer.path, peerPort: peer.path, name: peer.path },
      });
    } else {
      issues.push({
        path: clusterList ? f(clusterList.cfg, 'cluster_list') : '',
        message: `member "${name}" has no config of its own and no initial_peers entry, so its address is unknown`,
      });
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return drafts;
}

/**
 * spec.ports, spec.paths and spec.members from the drafts: the first config's
 * ports and paths become the cluster's, members that differ override them.
 */
export function mapMembers(
  cfgs: Cfg[],
  names: Map<string, Cfg>,
  drafts: MemberDraft[],
  first: First,
  spec: ClusterSpecInput,
  prov: Provenance,
  warnings: string[],
): void {
  // Ports: the first config's become the cluster's; members that differ override.
  const portCfg = cfgs[0];
  const portDraft = drafts.find((d) => d.name === portCfg.c.etcd_name)!;
  const clusterClient = portDraft.clientPort ?? DEFAULT_CLIENT_PORT;
  const clusterPeer = portDraft.peerPort;
  spec.ports = { client: clusterClient, peer: clusterPeer };
  prov.set('ports.client', portDraft.prov.clientPort);
  prov.set('ports.peer', portDraft.prov.peerPort);

  // Paths: likewise.
  const pathFields = [
    ['data_dir', 'dataDir'],
    ['conf_path', 'confDir'],
    ['certs_path', 'certsDir'],
  ] as const;
  const clusterPaths: Record<string, string> = {};
  for (const [field, key] of pathFields) {
    const src = first(field);
    if (!src) continue;
    clusterPaths[key] = field === 'conf_path' ? confDir(src.v, f(src.cfg, field), warnings) : src.v;
    prov.set(`paths.${key}`, f(src.cfg, field));
  }
  if (Object.keys(clusterPaths).length) spec.paths = clusterPaths;

  spec.members = drafts.map((d, i) => {
    const m: NonNullable<ClusterSpecInput['members']>[number] = { name: d.name, address: d.address };
    const at = (k: string) => `members.${i}.${k}`;
    prov.set(at('name'), d.prov.name);
    prov.set(at('address'), d.prov.address);
    if (d.listenAddress !== undefined) {
      m.listenAddress = d.listenAddress;
      prov.set(at('listenAddress'), d.prov.listenAddress);
    }
    if (d.clientPort !== undefined && d.clientPort !== clusterClient) {
      m.clientPort = d.clientPort;
      prov.set(at('clientPort'), d.prov.clientPort);
    }
    if (d.peerPort !== clusterPeer) {
      m.peerPort = d.peerPort;
      prov.set(at('peerPort'), d.prov.peerPort);
    }
    // The taskserv has no metrics port. Members sharing a host each need their own:
    // etcd's convention (2379/2380/2381) puts it next to the peer port.
    // (A shared peer port is a clash of its own; the spec validation reports that one.)
    const host = d.listenAddress ?? d.address;
    const sameHost = drafts.slice(0, i).filter((o) => (o.listenAddress ?? o.address) === host);
    if (sameHost.length && !sameHost.some((o) => o.peerPort === d.peerPort)) {
      m.metricsPort = d.peerPort + 1;
      prov.set(at('metricsPort'), d.prov.peerPort);
      warnings.push(`${d.name} shares ${host} with another member: its metrics listen on port ${d.peerPort + 1}`);
    }
    const cfg = names.get(d.name);
    if (cfg) {
      // The node's own names: its certificates' common name and DNS SANs.
      if (cfg.c.hostname !== undefined) {
        m.hostname = cfg.c.hostname;
        prov.set(at('hostname'), f(cfg, 'hostname'));
      }
      if (cfg.c.cn !== undefined) {
        m.commonName = cfg.c.cn;
        prov.set(at('commonName'), f(cfg, 'cn'));
      }
      const paths: Record<string, string> = {};
      for (const [field, key] of pathFields) {
        const v = cfg.c[field];
        if (v === undefined) continue;
        const dir = field === 'conf_path' ? confDir(v, f(cfg, field), []) : v;
        if (dir !== clusterPaths[key]) {
          paths[key] = dir;
          prov.set(at(`paths.${key}`), f(cfg, field));
        }
      }
      if (Object.keys(paths).length) m.paths = paths;
    }
    return m;
  });
}
