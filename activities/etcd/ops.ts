// etcd maintenance calls against one member or the cluster: snapshot stream,
// status (db sizes, revision), defragment, compact, alarms.
import { Readable, Transform } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { Etcd3 } from 'etcd3';
import type { ClusterSpec } from '../../common/spec';
import { clusterTopology } from '../../common/topology';
import { clusterHealth, clientCredentials, memberIdHex, newEtcdClient } from './client';
import type { HostProvider } from '../hosts';

export interface MemberDbStatus {
  name: string;
  id: string;
  clientURL: string;
  isLeader: boolean;
  isLearner: boolean;
  healthy: boolean;
  dbSize: number;
  dbSizeInUse: number;
  revision: number;
  version: string;
  error?: string;
}

/** Runs fn with a client bound to one member's endpoint only. */
export async function withMember<T>(
  hosts: HostProvider,
  spec: ClusterSpec,
  member: string,
  fn: (c: Etcd3) => Promise<T>,
  timeoutMs = 3_000,
): Promise<T> {
  const t = clusterTopology(spec).find((x) => x.name === member);
  if (!t) throw ApplicationFailure.nonRetryable(`member ${member} is not in cluster ${spec.name}`, 'UnknownMember');
  const c = newEtcdClient(t.clientURL, await clientCredentials(hosts, spec), { timeoutMs });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export async function memberStatuses(
  hosts: HostProvider,
  spec: ClusterSpec,
): Promise<{ members: MemberDbStatus[]; leader?: string; alarms: string[] }> {
  const h = await clusterHealth(hosts, spec);
  const members = await Promise.all(
    h.members.map(async (m): Promise<MemberDbStatus> => {
      const base = {
        name: m.name,
        id: m.id ?? '',
        clientURL: m.clientURL,
        isLeader: m.isLeader,
        isLearner: m.isLearner,
        healthy: m.healthy,
      };
      try {
        const s = await withMember(hosts, spec, m.name, (c) => c.maintenance.status());
        return {
          ...base,
          dbSize: Number(s.dbSize),
          dbSizeInUse: Number(s.dbSizeInUse ?? s.dbSize),
          revision: Number(s.header.revision),
          version: s.version,
        };
      } catch (e) {
        return { ...base, dbSize: 0, dbSizeInUse: 0, revision: 0, version: '', error: (e as Error).message.split('\n')[0] };
      }
    }),
  );
  return { members, leader: h.leader, alarms: h.alarms };
}

/**
 * HTTP/2 flow-control window of the snapshot stream. grpc-js defaults to 64 KiB,
 * which caps a snapshot download at about half of what etcdctl reaches; the
 * window is also the most the stream buffers while the consumer is slow.
 */
export const SNAPSHOT_WINDOW_BYTES = Number(process.env.ETCDFLEET_SNAPSHOT_WINDOW ?? 4 * 1024 * 1024);

const noRetry = { execute: <T>(fn: () => Promise<T>) => fn() };

/** A client for one endpoint with a large flow-control window and no library retries. */
export function newSnapshotClient(endpoint: string, credentials: Awaited<ReturnType<typeof clientCredentials>>): Etcd3 {
  return new Etcd3({
    hosts: [endpoint],
    credentials,
    dialTimeout: 10_000,
    faultHandling: { host: () => noRetry as never, global: noRetry as never },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 10_000 }),
    grpcOptions: { 'grpc-node.flow_control_window': SNAPSHOT_WINDOW_BYTES } as never,
  });
}

/**
 * Maintenance.Snapshot from one member as a byte stream with backpressure:
 * grpc's stream is paused while the consumer is slow, so memory stays bounded.
 */
export async function openSnapshotStream(
  hosts: HostProvider,
  spec: ClusterSpec,
  member: string,
): Promise<{ stream: Readable; close: () => void; revision?: number; version?: string }> {
  const t = clusterTopology(spec).find((x) => x.name === member)!;
  const c = newSnapshotClient(t.clientURL, await clientCredentials(hosts, spec));
  try {
    const status = await c.maintenance.status();
    const grpcStream = (await c.maintenance.snapshot()) as unknown as Readable;
    const blobs = new Transform({
      writableObjectMode: true,
      transform(msg: { blob: Buffer }, _enc, cb) {
        cb(null, msg.blob && msg.blob.length ? msg.blob : undefined);
      },
    });
    grpcStream.on('error', (e) => blobs.destroy(e));
    grpcStream.pipe(blobs);
    return { stream: blobs, close: () => c.close(), revision: Number(status.header.revision), version: status.version };
  } catch (e) {
    c.close();
    throw e;
  }
}

export async function defragmentMember(
  hosts: HostProvider,
  spec: ClusterSpec,
  member: string,
): Promise<{ before: number; after: number; inUse: number; tookMs: number }> {
  return withMember(
    hosts,
    spec,
    member,
    async (c) => {
      const before = await c.maintenance.status();
      const t0 = Date.now();
      await c.maintenance.defragment();
      const tookMs = Date.now() - t0;
      const after = await c.maintenance.status();
      return { before: Number(before.dbSize), after: Number(after.dbSize), inUse: Number(after.dbSizeInUse ?? after.dbSize), tookMs };
    },
    120_000,
  );
}

/** Compacts the keyspace to `revision` (physical: waits until it is applied). Already compacted is fine. */
export async function compactTo(hosts: HostProvider, spec: ClusterSpec, revision: number): Promise<{ compacted: boolean }> {
  const endpoints = clusterTopology(spec).map((t) => t.clientURL);
  const c = newEtcdClient(endpoints, await clientCredentials(hosts, spec), { timeoutMs: 60_000 });
  try {
    await c.kv.compact({ revision: String(revision), physical: true });
    return { compacted: true };
  } catch (e) {
    if (/required revision has been compacted/.test((e as Error).message)) return { compacted: false };
    throw e;
  } finally {
    c.close();
  }
}

export async function currentRevision(hosts: HostProvider, spec: ClusterSpec): Promise<number> {
  const endpoints = clusterTopology(spec).map((t) => t.clientURL);
  const c = newEtcdClient(endpoints, await clientCredentials(hosts, spec));
  try {
    const r = await c.kv.range({ key: Buffer.from('\0'), limit: '1', count_only: true } as never);
    return Number(r.header.revision);
  } finally {
    c.close();
  }
}

const ALARM_NAMES = ['Nospace', 'Corrupt'] as const;

/** Deactivates every active alarm (after the cause is fixed). */
export async function disarmAlarms(hosts: HostProvider, spec: ClusterSpec): Promise<string[]> {
  const endpoints = clusterTopology(spec).map((t) => t.clientURL);
  const c = newEtcdClient(endpoints, await clientCredentials(hosts, spec));
  try {
    const { alarms } = await c.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' });
    const done: string[] = [];
    for (const a of alarms) {
      const kind = ALARM_NAMES.find((n) => n.toUpperCase() === String(a.alarm).toUpperCase()) ?? 'Nospace';
      await c.maintenance.alarm({ action: 'Deactivate', memberID: a.memberID, alarm: kind });
      done.push(`${String(a.alarm).toUpperCase()} on ${memberIdHex(a.memberID)}`);
    }
    return done;
  } finally {
    c.close();
  }
}
