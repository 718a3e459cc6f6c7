// Continuous-backup activities: the recorder segment (a long-running,
// heartbeating watch that resumes from what the target already holds), the
// point-in-time plan (full backup + change chain, holes refused), and the
// replay of a plan into a restored cluster.
import { Context } from '@temporalio/activity';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Etcd3 } from 'etcd3';
import { clusterWorkflowId } from '../../common/operations';
import type { ClusterSpec } from '../../common/spec';
import type { Config } from '../../infra/config';
import { withEtcdClient } from '../etcd/client';
import { providerFor } from '../hosts';
import { assertBackupAllowed } from '../policy';
import { readManifests } from './backup';
import { ChainError, planPointInTime, type PointInTimePlan, type RestorePoint } from './continuous-chain';
import {
  changeKeys,
  decodeChunkAsync,
  parseChunkManifest,
  type ChangeEvent,
  type ChangesHead,
  type ChunkManifest,
} from './continuous-format';
import { recordChanges, WatchFailed } from './continuous-recorder';
import { inWindow, Replayer, REPLAY_HOLD_BYTES, type ReplayResult } from './continuous-replay';
import { backupKey } from './key';
import { IntegrityError } from './stream';
import { openTarget, type BackupSettings, type BackupTarget } from './target';

const env = (name: string, dflt: number) => {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : dflt;
};
/** Seconds between chunks (the RPO goal is 10 s) and the event count that flushes early. */
export const FLUSH_MS = () => env('ETCDFLEET_CONTINUOUS_FLUSH_MS', 5_000);
const MAX_EVENTS = () => env('ETCDFLEET_CONTINUOUS_MAX_EVENTS', 10_000);
/** A recorder segment: the activity returns after this and the workflow starts the next one. */
export const SEGMENT_MS = 10 * 60_000;

const prefixOf = (s?: BackupSettings) => s?.s3?.prefix ?? '';
const CHUNK_NAME = /(\d{20})-(\d{20})\.json$/;

/** Chunk manifest keys with the revision range their names carry. */
async function listChunks(target: BackupTarget, prefix: string, cluster: string) {
  const keys = await target.list(changeKeys(prefix, cluster).dir);
  return keys.flatMap((key) => {
    const m = CHUNK_NAME.exec(key);
    return m ? [{ key, from: Number(m[1]), to: Number(m[2]) }] : [];
  });
}

async function readHead(target: BackupTarget, prefix: string, cluster: string): Promise<ChangesHead | undefined> {
  const text = await target.getText(changeKeys(prefix, cluster).head);
  try {
    const h = text ? (JSON.parse(text) as ChangesHead) : undefined;
    return h?.formatVersion === 1 ? h : undefined;
  } catch {
    return undefined;
  }
}

async function baseBackups(target: BackupTarget, prefix: string, cluster: string) {
  return (await readManifests(target, prefix, cluster)).flatMap((m) => {
    const revision = m.verified?.revision ?? m.revision;
    return revision === undefined ? [] : [{ id: m.id, revision, createdAt: m.createdAt }];
  });
}

/** Reads what a plan needs (only chunks after the oldest candidate backup) and plans; holes are a `Refused`. */
export async function loadPlan(target: BackupTarget, prefix: string, cluster: string, backup: string, point: RestorePoint) {
  const backups = await baseBackups(target, prefix, cluster);
  const floor = Math.min(...backups.map((b) => b.revision));
  const chunks: ChunkManifest[] = [];
  for (const c of await listChunks(target, prefix, cluster)) {
    if (c.to <= floor) continue;
    const m = parseChunkManifest(await target.getText(c.key));
    if (m) chunks.push(m);
  }
  try {
    return planPointInTime({ backups, chunks, head: await readHead(target, prefix, cluster), backup, point });
  } catch (e) {
    if (e instanceof ChainError) throw ApplicationFailure.create({ type: 'Refused', message: e.message, nonRetryable: true });
    throw e;
  }
}

/** Chunks fetched and decoded ahead of the one being applied. */
const LOOKAHEAD = 4;

async function fetchChunk(target: BackupTarget, c: PointInTimePlan['chunks'][number], key?: Buffer): Promise<ChangeEvent[]> {
  const parts: Buffer[] = [];
  for await (const b of await target.get(c.object)) parts.push(b as Buffer);
  try {
    return await decodeChunkAsync(Buffer.concat(parts), c as ChunkManifest, key);
  } catch (e) {
    if (e instanceof IntegrityError) throw ApplicationFailure.create({ type: 'BackupCorrupt', message: e.message, nonRetryable: true });
    throw e;
  }
}

/**
 * Applies a plan's chunks in order through `client`; integrity failures are
 * final (`BackupCorrupt`). The next chunks are fetched and decoded while one
 * is applied, and a flush of held changes writes while later chunks are read.
 */
export async function replayPlan(client: Etcd3, target: BackupTarget, plan: PointInTimePlan, key?: Buffer): Promise<ReplayResult> {
  const r = new Replayer(client, plan.baseRevision);
  const window = {
    afterRevision: plan.baseRevision,
    untilRevision: plan.untilRevision,
    untilTime: plan.untilTime ? Date.parse(plan.untilTime) : undefined,
  };
  const ahead: Promise<ChangeEvent[]>[] = [];
  let next = 0;
  const fill = () => {
    while (ahead.length < LOOKAHEAD && next < plan.chunks.length) {
      const p = fetchChunk(target, plan.chunks[next++], key);
      p.catch(() => undefined); // awaited in order below; one left behind at the window's end must not be unhandled
      ahead.push(p);
    }
  };
  let writing: Promise<void> = Promise.resolve();
  fill();
  while (ahead.length) {
    const events = await ahead.shift()!;
    fill();
    const { take, end } = inWindow(events, window);
    await r.add(take);
    if (r.held > REPLAY_HOLD_BYTES) {
      await writing;
      writing = r.flush();
      writing.catch(() => undefined);
    }
    beat(r.result.revision);
    if (end) {
      r.result.reachedEnd = true;
      break;
    }
  }
  await writing;
  await r.flush();
  return r.result;
}

function beat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* outside an activity */
  }
}

export function continuousActivities(cfg: Config) {
  const target = (s: BackupSettings | undefined) => {
    assertBackupAllowed(cfg, s);
    return openTarget(s, cfg.policy.backupRoot);
  };
  let client: Promise<Client> | undefined;
  const temporal = () =>
    (client ??= (async () => {
      const { dataConverterFor } = await import('../../worker/temporal');
      const connection = await Connection.connect({ address: cfg.temporalAddress });
      return new Client({ connection, namespace: cfg.namespace, dataConverter: dataConverterFor(cfg) });
    })());

  /** The cluster's spec while it wants continuous backups; otherwise why not. */
  async function wanted(cluster: string): Promise<{ spec?: ClusterSpec; stop?: string }> {
    const h = (await temporal()).workflow.getHandle(clusterWorkflowId(cluster));
    try {
      if ((await h.describe()).status.name !== 'RUNNING') return { stop: `cluster ${cluster} is deleted` };
      // The entity's `cluster` query (workflows/definitions.ts); only these two fields matter here.
      const view = await h.query<{ phase: string; spec?: ClusterSpec }>('cluster');
      if (view.phase === 'Deleting' || view.phase === 'Deleted') return { stop: `cluster ${cluster} is being deleted` };
      if (!view.spec?.backup?.continuous) return { stop: `continuous backups are off for ${cluster}` };
      return { spec: view.spec };
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return { stop: `cluster ${cluster} does not exist` };
      throw e;
    }
  }

  return {
    /**
     * One recorder segment (≤ 10 min): resumes after the newest recorded
     * revision (from the head, else the chunk names), or after the newest
     * backup when that history is compacted; prunes chunks older than every
     * backup. Returns `stop` when the cluster is gone or continuous is off.
     */
    async recordChangesSegment({ cluster }: { cluster: string }) {
      const w = await wanted(cluster);
      if (!w.spec) return { stop: w.stop };
      const spec = w.spec;
      const t = target(spec.backup);
      const prefix = prefixOf(spec.backup);
      const backups = await baseBackups(t, prefix, cluster);
      if (!backups.length) throw ApplicationFailure.retryable(`no verified backup of ${cluster} yet to record changes after`, 'NoBackup');
      const newest = Math.max(...backups.map((b) => b.revision));
      const oldest = Math.min(...backups.map((b) => b.revision));
      const chunks = await listChunks(t, prefix, cluster);
      for (const c of chunks.filter((x) => x.to <= oldest)) {
        const m = parseChunkManifest(await t.getText(c.key));
        await t.delete(c.key);
        if (m) await t.delete(m.object);
      }
      const head = await readHead(t, prefix, cluster);
      const recorded = Math.max(head?.revision ?? 0, ...chunks.map((c) => c.to));
      const encryption = spec.backup?.encryption ? backupKey(cfg) : undefined;
      const ctx = Context.current();
      const record = (startRevision: number) =>
        withEtcdClient(
          providerFor(spec, cfg),
          spec,
          (client) =>
            recordChanges({
              client,
              target: t,
              cluster,
              prefix,
              encryption,
              startRevision,
              flushMs: FLUSH_MS(),
              maxEvents: MAX_EVENTS(),
              segmentMs: SEGMENT_MS,
              shouldStop: async () => (await wanted(cluster).catch(() => ({ stop: undefined }))).stop,
              onProgress: (revision) => ctx.heartbeat({ revision }),
              abort: ctx.cancelled,
            }),
          { timeoutMs: 10_000 },
        );
      const start = recorded > 0 ? recorded + 1 : newest + 1;
      const r = await record(start).catch((e) => {
        // The history after the last record is gone: start again after the newest backup (a hole the restore refuses to cross).
        if (e instanceof WatchFailed && e.compacted && start <= newest) return record(newest + 1);
        throw e;
      });
      // Cancelled (a worker shutting down, or the workflow cancelled): fail the attempt, never end
      // the recorder; a retry on another worker resumes after what was written.
      if (r.stopped === 'cancelled') throw new Error(`recorder of ${cluster} interrupted at revision ${r.revision}`);
      return { stop: r.stopped, revision: r.revision, chunks: r.chunks, events: r.events };
    },

    /** The full backup and change chunks that reach a revision or a time (a `Refused` naming any hole). */
    async planPointInTime({ ref, point }: { ref: { cluster: string; settings?: BackupSettings; id: string }; point: RestorePoint }) {
      return loadPlan(target(ref.settings), prefixOf(ref.settings), ref.cluster, ref.id, point);
    },

    /** Replays a plan's changes into the restored cluster through its API (before it is marked Running). */
    async replayChanges({ spec, settings, plan }: { spec: ClusterSpec; settings?: BackupSettings; plan: PointInTimePlan }) {
      const key = plan.chunks.some((c) => c.encryption) ? backupKey(cfg).key : undefined;
      return withEtcdClient(providerFor(spec, cfg), spec, (client) => replayPlan(client, target(settings), plan, key), {
        timeoutMs: 30_000,
      });
    },
  };
}
