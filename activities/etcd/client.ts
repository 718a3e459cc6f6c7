// etcd client operations over mutual TLS. The admin certificate and CA are
// read from a member's host files through its HostProvider,
// so private keys never travel in activity inputs or Temporal history.
//
// Every call has a short deadline and the client's own retry/circuit-breaker
// policies are replaced: an activity must fail fast and let Temporal retry,
// never hang in a library retry loop. Every client is closed before return,
// except the health checks' (kept alive between checks: health-pool.ts).
import { ApplicationFailure } from '@temporalio/common';
import { Etcd3, IOptions, isRecoverableError, EtcdPermissionDeniedError, IMember, IStatusResponse } from 'etcd3';
import { ClusterSpec } from '../../common/spec';
import type { MemberHealth } from '../../common/operations';
import { MemberTopology, clusterTopology } from '../../common/topology';
import { hostFiles, type HostProvider } from '../hosts';
import { poolKey, withPooledClient } from './health-pool';

export const DEFAULT_CALL_TIMEOUT_MS = 3_000;

/** What the API shows per member, plus raft and storage details for gates. */
export interface MemberHealthInfo extends MemberHealth {
  raftAppliedIndex?: number;
  raftTerm?: number;
  /** Round trip of the health read in ms. */
  tookMs?: number;
}

export interface ClusterHealth {
  members: MemberHealthInfo[];
  /** Leader's member name. */
  leader?: string;
  /** e.g. "NOSPACE on m1". */
  alarms: string[];
  /** All voting members healthy, a leader, no alarms. */
  healthy: boolean;
  /** Spec members the cluster does not know (not added yet, or removed). */
  absentMembers: string[];
  checkedAt: string;
  /** Set when the cluster could not be reached at all. */
  error?: string;
}

export interface ClientOptions {
  /** Per call deadline (and dial timeout), ms. */
  timeoutMs?: number;
}

type Credentials = NonNullable<IOptions['credentials']>;
type FaultHandling = NonNullable<IOptions['faultHandling']>;
type Policy = NonNullable<FaultHandling['global']>;

// etcd3's policies come from cockatiel; the pool only ever calls
// `execute(fn)`. These two stand in for "no retry, no breaker" and "try the
// next endpoint on a connection-level failure". `execute` always returns a
// promise, like cockatiel's: the pool's markFailed hands it a function that
// throws and catches the rejection; a synchronous throw would escape from a
// watch stream's error handler and crash the process.
const noRetry = { execute: async <T>(fn: () => Promise<T>) => fn() } as unknown as Policy;
function nextHostOnFailure(attempts: number): Policy {
  return {
    async execute<T>(fn: () => Promise<T>): Promise<T> {
      let last: unknown;
      for (let i = 0; i < attempts; i++) {
        try {
          return await fn();
        } catch (e) {
          last = e;
          if (!(e instanceof Error) || !isRecoverableError(e)) throw e;
        }
      }
      throw last;
    },
  } as unknown as Policy;
}

/** CA, admin cert and key from the first member host that has them (undefined when TLS is off). */
export async function clientCredentials(hosts: HostProvider, spec: ClusterSpec): Promise<Credentials | undefined> {
  if (!spec.tls.enabled) return undefined;
  const tried: string[] = [];
  for (const m of spec.members) {
    const f = hostFiles(spec, m.name);
    const at = { spec, member: m.name };
    const paths = [f.caCert, f.clientCert, f.clientKey];
    const [rootCertificate, certChain, privateKey] = hosts.readFiles
      ? await hosts.readFiles(at, paths).catch(() => [])
      : await Promise.all(paths.map((p) => hosts.readFile(at, p).catch(() => undefined)));
    if (rootCertificate && certChain && privateKey) return { rootCertificate, certChain, privateKey };
    tried.push(`${m.name}:${f.certsDir}`);
  }
  throw ApplicationFailure.nonRetryable(
    `no admin client certificate on any member host (looked in ${tried.join(', ')})`,
    'NoClientCredentials',
  );
}

export function newEtcdClient(endpoints: string | string[], credentials: Credentials | undefined, opts: ClientOptions = {}): Etcd3 {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const hosts = Array.isArray(endpoints) ? endpoints : [endpoints];
  return new Etcd3({
    hosts,
    credentials,
    dialTimeout: timeoutMs,
    faultHandling: { host: () => noRetry, global: hosts.length > 1 ? nextHostOnFailure(hosts.length) : noRetry },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    grpcOptions: {
      // Fail fast instead of queueing calls while a member is down.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1_000,
    },
  });
}

/** Runs `fn` with a client for the given endpoints (default: every member's client URL) and always closes it. */
export async function withEtcdClient<T>(
  hosts: HostProvider,
  spec: ClusterSpec,
  fn: (client: Etcd3) => Promise<T>,
  opts: ClientOptions & { endpoints?: string[] } = {},
): Promise<T> {
  const creds = await clientCredentials(hosts, spec);
  const client = newEtcdClient(opts.endpoints ?? clusterTopology(spec).map((t) => t.clientURL), creds, opts);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** etcd3 hands uint64 IDs over as decimal strings; etcdctl and logs print hex. */
export function memberIdHex(id: string | number): string {
  return BigInt(id).toString(16);
}

function errText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 300);
}

function num(s: string | undefined): number | undefined {
  if (s === undefined || s === null || s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** Finds the spec topology entry for a listed member (by name, else by peer URL). */
function topologyFor(topo: MemberTopology[], m: IMember): MemberTopology | undefined {
  return topo.find((t) => (m.name && t.name === m.name) || m.peerURLs.includes(t.peerURL));
}

async function listMembers(
  endpoints: string[],
  creds: Credentials | undefined,
  timeoutMs: number,
): Promise<{ members: IMember[]; alarms: { memberID: string; alarm: string }[] }> {
  const errors: string[] = [];
  for (const ep of endpoints) {
    try {
      return await withPooledClient(
        poolKey(ep, creds, timeoutMs),
        () => newEtcdClient(ep, creds, { timeoutMs }),
        async (c) => {
          const { members } = await c.cluster.memberList({ linearizable: false });
          const { alarms } = await c.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' });
          return { members, alarms: alarms.map((a) => ({ memberID: a.memberID, alarm: String(a.alarm) })) };
        },
        () => true,
      );
    } catch (e) {
      errors.push(`${ep}: ${errText(e)}`);
    }
  }
  throw new Error(`no endpoint answered member list: ${errors.join('; ')}`);
}

interface EndpointCheck {
  status?: IStatusResponse;
  healthy: boolean;
  tookMs?: number;
  error?: string;
}

/** Like `etcdctl endpoint health` plus `endpoint status`, against one endpoint only. */
async function checkEndpoint(
  endpoint: string,
  creds: Credentials | undefined,
  learner: boolean,
  timeoutMs: number,
): Promise<EndpointCheck> {
  return withPooledClient(
    poolKey(endpoint, creds, timeoutMs),
    () => newEtcdClient(endpoint, creds, { timeoutMs }),
    (c) => checkWith(c, learner),
    (r) => r.healthy,
  );
}

async function checkWith(c: Etcd3, learner: boolean): Promise<EndpointCheck> {
  {
    let status: IStatusResponse | undefined;
    let statusError: string | undefined;
    try {
      status = await c.maintenance.status();
    } catch (e) {
      statusError = `status: ${errText(e)}`;
    }
    const t0 = Date.now();
    try {
      // Linearizable: it needs a leader and a quorum, which is what healthy
      // means. Learners cannot serve linearizable reads, so they answer a
      // serializable one (their own state). Permission denied still proves
      // the read went through consensus.
      await c.get('health').serializable(learner).exec();
    } catch (e) {
      if (!(e instanceof EtcdPermissionDeniedError)) {
        return { status, healthy: false, error: [statusError, `read: ${errText(e)}`].filter(Boolean).join('; ') };
      }
    }
    const tookMs = Date.now() - t0;
    if (statusError) return { healthy: false, tookMs, error: statusError };
    const errs = status?.errors ?? [];
    if (errs.length > 0) return { status, healthy: false, tookMs, error: errs.join('; ') };
    return { status, healthy: true, tookMs };
  }
}

export async function clusterHealth(hosts: HostProvider, spec: ClusterSpec, opts: ClientOptions = {}): Promise<ClusterHealth> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const creds = await clientCredentials(hosts, spec);
  const topo = clusterTopology(spec);
  const checkedAt = new Date().toISOString();

  let listed: Awaited<ReturnType<typeof listMembers>>;
  try {
    listed = await listMembers(
      topo.map((t) => t.clientURL),
      creds,
      timeoutMs,
    );
  } catch (e) {
    return {
      members: topo.map((t) => ({
        name: t.name,
        clientURL: t.clientURL,
        peerURL: t.peerURL,
        healthy: false,
        isLeader: false,
        isLearner: false,
        error: 'unreachable',
      })),
      alarms: [],
      healthy: false,
      absentMembers: [],
      checkedAt,
      error: errText(e),
    };
  }

  const rows = await Promise.all(
    listed.members.map(async (m) => {
      const t = topologyFor(topo, m);
      const name = m.name || t?.name || `(unstarted ${memberIdHex(m.ID)})`;
      const clientURL = t?.clientURL ?? m.clientURLs[0] ?? '';
      const peerURL = m.peerURLs[0] ?? t?.peerURL ?? '';
      const base = { name, id: memberIdHex(m.ID), clientURL, peerURL, isLearner: !!m.isLearner, isLeader: false };
      if (!clientURL)
        return {
          row: { ...base, healthy: false, error: 'member has not started (no client URL)' } as MemberHealthInfo,
          leaderId: undefined,
        };
      const chk = await checkEndpoint(clientURL, creds, !!m.isLearner, timeoutMs);
      const s = chk.status;
      const row: MemberHealthInfo = {
        ...base,
        healthy: chk.healthy,
        version: s?.version,
        raftIndex: num(s?.raftIndex),
        raftAppliedIndex: num(s?.raftAppliedIndex),
        raftTerm: num(s?.raftTerm),
        dbSize: num(s?.dbSize),
        dbSizeInUse: num(s?.dbSizeInUse),
        tookMs: chk.tookMs,
        ...(chk.error ? { error: chk.error } : {}),
      };
      return { row, leaderId: s && s.leader && s.leader !== '0' ? memberIdHex(s.leader) : undefined };
    }),
  );

  // The leader is who the responding members say it is; when they disagree
  // (an election in flight) take the majority view.
  const votes = new Map<string, number>();
  for (const r of rows) if (r.leaderId) votes.set(r.leaderId, (votes.get(r.leaderId) ?? 0) + 1);
  const leaderId = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const members = rows.map((r) => ({ ...r.row, isLeader: !!leaderId && r.row.id === leaderId }));
  const leader = members.find((m) => m.isLeader)?.name;

  const nameById = new Map(members.map((m) => [m.id, m.name]));
  const alarms = listed.alarms
    .filter((a) => a.alarm.toUpperCase() !== 'NONE')
    .map((a) => `${a.alarm.toUpperCase()} on ${nameById.get(memberIdHex(a.memberID)) ?? memberIdHex(a.memberID)}`);

  const listedNames = new Set(members.map((m) => m.name));
  const listedPeers = new Set(listed.members.flatMap((m) => m.peerURLs));
  const absentMembers = topo.filter((t) => !listedNames.has(t.name) && !listedPeers.has(t.peerURL)).map((t) => t.name);

  const voting = members.filter((m) => !m.isLearner);
  const healthy = voting.length > 0 && voting.every((m) => m.healthy) && !!leader && alarms.length === 0;
  return { members, leader, alarms, healthy, absentMembers, checkedAt };
}

/** One line per problem, for errors and step details. */
export function describeHealth(h: ClusterHealth): string {
  const parts: string[] = [];
  if (h.error) parts.push(h.error);
  if (!h.leader) parts.push('no leader');
  if (h.alarms.length) parts.push(`alarms: ${h.alarms.join(', ')}`);
  for (const m of h.members) {
    parts.push(
      `${m.name}${m.isLearner ? ' (learner)' : ''}${m.isLeader ? ' (leader)' : ''}: ${m.healthy ? 'healthy' : `unhealthy${m.error ? ` (${m.error})` : ''}`}`,
    );
  }
  if (h.absentMembers.length) parts.push(`not in the cluster: ${h.absentMembers.join(', ')}`);
  return parts.join('; ');
}

/** Writes `value` under `key` and reads it back with a linearizable read. */
export async function putAndGet(
  hosts: HostProvider,
  spec: ClusterSpec,
  key: string,
  value: string,
  opts: ClientOptions = {},
): Promise<string | null> {
  return withEtcdClient(
    hosts,
    spec,
    async (c) => {
      await c.put(key).value(value).exec();
      return c.get(key).string();
    },
    opts,
  );
}
