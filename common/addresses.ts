// Which address:port pairs a cluster holds, for the service-wide address
// registry (workflows/addresses.ts): two clusters must never claim the same
// listener. Pure: the API, the entity and the registry agree on it.
import { ClusterSpec, MemberSpec, memberPorts } from './spec';
import { memberTopology } from './topology';

const hostPort = (url: string) => url.replace(/^[a-z]+:\/\//, '');

/**
 * Pairs a member occupies. Local members all share this machine, so what
 * collides is what they bind (listen URLs, with useLocalhost's extra
 * 127.0.0.1 client listener); ssh members each have their own machine, named
 * by the address others reach them on.
 */
export function memberPairs(spec: ClusterSpec, m: MemberSpec): string[] {
  if (spec.provider === 'local') {
    const t = memberTopology(spec, m);
    return [...t.listenClientURLs, ...t.listenPeerURLs, ...t.listenMetricsURLs].map(hostPort);
  }
  const p = memberPorts(spec, m);
  return [p.client, p.peer, p.metrics].map((port) => `${m.address}:${port}`);
}

export function clusterPairs(spec: ClusterSpec): string[] {
  return unique(spec.members.flatMap((m) => memberPairs(spec, m)));
}

/** Pairs a queued membership operation will occupy (beyond the cluster's own), from its params. */
export function operationPairs(spec: ClusterSpec, kind: string, params: Record<string, unknown>): string[] {
  const asMember = (v: unknown): MemberSpec | undefined => {
    const m = v as Partial<MemberSpec> | undefined;
    return m && typeof m.name === 'string' && typeof m.address === 'string' ? (m as MemberSpec) : undefined;
  };
  let members: MemberSpec[] = [];
  if (kind === 'add-member') members = [asMember(params)].filter((m): m is MemberSpec => !!m);
  else if (kind === 'scale' && Array.isArray(params.members)) members = params.members.map(asMember).filter((m): m is MemberSpec => !!m);
  else if (kind === 'replace-member' && typeof params.address === 'string') {
    const old = spec.members.find((m) => m.name === params.member);
    if (old) members = [{ ...old, address: params.address }];
  }
  try {
    return unique(members.flatMap((m) => memberPairs(spec, m)));
  } catch {
    return []; // malformed params are refused by the operation's validator
  }
}

/** Same pair, or the same port with one side bound to every interface. */
export function pairsClash(a: string, b: string): boolean {
  if (a === b) return true;
  const [ha, pa] = split(a);
  const [hb, pb] = split(b);
  return pa === pb && (ha === '0.0.0.0' || hb === '0.0.0.0');
}

function split(pair: string): [string, string] {
  const i = pair.lastIndexOf(':');
  return [pair.slice(0, i), pair.slice(i + 1)];
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)].sort();
}
