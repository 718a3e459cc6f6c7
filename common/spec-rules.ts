// The native spec's cross-field rules (ClusterSpec's superRefine): duplicate
// member names, address:port clashes as the provider binds them, loopback-only
// local addresses, useLocalhost port clashes, one member per ssh host, ssh
// settings with provider ssh only, election ≥ 5 × heartbeat, the path layout
// and DNS SRV bootstrap. They run on whatever parsed (common/salvage.ts): a
// field that failed its own schema is absent, and `blamed` says so, so a rule
// that needs it is skipped instead of guessing from a default.
import { isAddress, isLoopbackV4 } from './hostnames';
import { pathLayoutIssues } from './paths';
import { discoveryIssues } from './dns';
import type { Blamed } from './salvage';

type Path = (string | number)[];
export interface RuleIssue {
  path: Path;
  message: string;
}
type PortKind = 'client' | 'peer' | 'metrics';
const PORT_KINDS: PortKind[] = ['client', 'peer', 'metrics'];
const BIND_FIELDS = ['address', 'listenAddress', 'clientPort', 'peerPort', 'metricsPort'] as const;
type Dirs = { dataDir?: string; confDir?: string; certsDir?: string };

interface LooseMember {
  name?: string;
  address?: string;
  listenAddress?: string;
  clientPort?: number;
  peerPort?: number;
  metricsPort?: number;
  paths?: Dirs;
  hostname?: string;
}

/** A spec as far as it parsed (defaults filled in where the field did parse). */
export interface LooseSpec {
  provider?: string;
  ssh?: unknown;
  members?: (LooseMember | undefined)[];
  ports?: Partial<Record<PortKind, number>>;
  tls?: { useLocalhost?: boolean };
  tunables?: { heartbeatInterval?: number; electionTimeout?: number };
  paths?: Dirs;
  logging?: { outputs?: (string | undefined)[] };
  dns?: { discoverySrv?: string; srvName?: string };
}

/** A member's port of each kind: its override, else the cluster's; undefined where either failed its schema. */
function portsOf(spec: LooseSpec, m: LooseMember, i: number, blamed: Blamed): Partial<Record<PortKind, number>> {
  const out: Partial<Record<PortKind, number>> = {};
  for (const kind of PORT_KINDS) {
    const field = `${kind}Port` as const;
    if (!blamed(['members', i, field])) out[kind] = m[field] ?? spec.ports?.[kind];
  }
  return out;
}

export function specRuleIssues(spec: LooseSpec | undefined, blamed: Blamed): RuleIssue[] {
  if (!spec) return [];
  const out: RuleIssue[] = [];
  const add = (path: Path, message: string) => out.push({ path, message });
  const members = (spec.members ?? []).map((m) => m ?? {});
  const provider = spec.provider;
  // A member takes part in the bind rules only when every field that places it is known.
  const placed = (i: number) => members[i].address !== undefined && !BIND_FIELDS.some((f) => blamed(['members', i, f]));
  const names = new Map<string, number>();
  // Where each address:port is bound, and one issue per offending field (several
  // ports of one member colliding on a duplicated address is one mistake, not three).
  const binds = new Map<string, { member: number; kind: string }>();
  const clashes = new Map<string, { path: Path; what: string[] }>();
  members.forEach((m, i) => {
    if (m.name !== undefined) {
      if (names.has(m.name)) add(['members', i, 'name'], `duplicate member name "${m.name}" (also members[${names.get(m.name)}])`);
      else names.set(m.name, i);
    }
    if (provider === 'local') {
      for (const field of ['address', 'listenAddress'] as const) {
        const a = m[field];
        if (a !== undefined && isAddress(a) && !isLoopbackV4(a)) {
          add(['members', i, field], `the local provider runs members on loopback: use an address in 127.0.0.0/8, not "${a}"`);
        }
      }
    }
    if (provider === undefined || !placed(i)) return;
    for (const [kind, port] of Object.entries(portsOf(spec, m, i, blamed))) {
      if (port === undefined) continue;
      // The local provider runs every member on one machine, so what matters is the bind address.
      const host = provider === 'local' ? (m.listenAddress ?? m.address) : m.address;
      const key = `${host}:${port}`;
      const prev = binds.get(key);
      if (!prev) {
        binds.set(key, { member: i, kind });
        continue;
      }
      const portField = `${kind}Port` as 'clientPort' | 'peerPort' | 'metricsPort';
      // Blame the field the user wrote: the member's port override, else the cluster-wide
      // port when one member's own ports collide, else the member's (duplicated) address.
      const path =
        m[portField] !== undefined
          ? ['members', i, portField]
          : prev.member === i
            ? ['ports', kind]
            : ['members', i, m.listenAddress !== undefined && provider === 'local' ? 'listenAddress' : 'address'];
      const other = prev.member === i ? `its ${prev.kind} port` : `members[${prev.member}] ${prev.kind} port`;
      const pathKey = path.join('.');
      const c = clashes.get(pathKey) ?? { path, what: [] };
      c.what.push(`${kind} ${key} (also ${other})`);
      clashes.set(pathKey, c);
    }
  });
  for (const c of clashes.values()) add(c.path, `address:port used twice: ${c.what.join('; ')}`);
  if (provider === 'local' && spec.tls?.useLocalhost) {
    // useLocalhost adds a 127.0.0.1:<client port> listener to every member, all on this one machine.
    const seen = new Map<number, string>();
    members.forEach((m, i) => {
      const port = portsOf(spec, m, i, blamed).client;
      const listen = m.listenAddress ?? m.address;
      if (!placed(i) || port === undefined || listen === '127.0.0.1' || listen === '0.0.0.0') return;
      const other = seen.get(port);
      if (other !== undefined) {
        add(
          ['members', i, 'clientPort'],
          `with useLocalhost every local member also listens on 127.0.0.1:${port}, already taken by ${other}: give members distinct client ports`,
        );
      } else seen.set(port, m.name ?? `members[${i}]`);
    });
  }
  if (provider !== undefined && provider !== 'ssh' && spec.ssh !== undefined) add(['ssh'], 'ssh settings apply to provider "ssh" only');
  if (provider === 'ssh') {
    // One etcd.service and one /etc/etcd per machine: one member per host.
    const hosts = new Map<string, number>();
    members.forEach((m, i) => {
      if (m.address === undefined) return;
      const prev = hosts.get(m.address);
      if (prev === undefined) hosts.set(m.address, i);
      else add(['members', i, 'address'], `the ssh provider runs one member per host: ${m.address} is also members[${prev}]`);
    });
  }
  out.push(...timingIssues(spec, blamed), ...layoutIssues(spec, members, blamed));
  if (provider !== undefined && !blamed(['dns'])) {
    const named = members.map((m, i) =>
      m.name !== undefined && !blamed(['members', i, 'hostname']) ? { name: m.name, hostname: m.hostname } : undefined,
    );
    out.push(...discoveryIssues({ provider, dns: spec.dns, members: named }));
  }
  return out;
}

/** etcd's own defaults: heartbeat 100 ms, election 1000 ms. A raised heartbeat alone can break the rule too. */
function timingIssues(spec: LooseSpec, blamed: Blamed): RuleIssue[] {
  if (blamed(['tunables', 'heartbeatInterval']) || blamed(['tunables', 'electionTimeout'])) return [];
  const { heartbeatInterval: hb, electionTimeout: et } = spec.tunables ?? {};
  if (et !== undefined && et < 5 * (hb ?? 100)) {
    return [{ path: ['tunables', 'electionTimeout'], message: `must be at least 5 × heartbeatInterval (${5 * (hb ?? 100)} ms)` }];
  }
  if (et === undefined && hb !== undefined && 1000 < 5 * hb) {
    return [
      {
        path: ['tunables', 'heartbeatInterval'],
        message: `with the default electionTimeout (1000 ms) this must be at most 200 ms; set electionTimeout to at least ${5 * hb} ms`,
      },
    ];
  }
  return [];
}

function layoutIssues(spec: LooseSpec, members: LooseMember[], blamed: Blamed): RuleIssue[] {
  const { dataDir, confDir, certsDir } = spec.paths ?? {};
  const outputs = spec.logging?.outputs;
  if (dataDir === undefined || confDir === undefined || certsDir === undefined || outputs === undefined) return [];
  return pathLayoutIssues({
    paths: { dataDir, confDir, certsDir },
    members: members.map((m, i) => (blamed(['members', i, 'paths']) ? undefined : m)),
    logging: { outputs },
  });
}
