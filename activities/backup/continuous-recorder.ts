// The continuous-backup recorder: one etcd watch over the whole keyspace from
// a revision, its events buffered and written as chunks (continuous-format.ts)
// every `flushMs` or `maxEvents`, and a head object saying how far the record
// reaches. A chunk never splits a revision (a watch response carries whole
// revisions), and the next chunk starts where the last one ended, so chunks
// form a chain without holes as long as the watch runs.
import { Readable } from 'node:stream';
import type { Etcd3, IWatchResponse } from 'etcd3';
import type { BackupTarget } from './target';
import type { EncryptionKey } from './backup';
import { changeKeys, encodeChunk, type ChangeEvent, type ChangesHead } from './continuous-format';

export interface RecorderOptions {
  client: Etcd3;
  target: BackupTarget;
  cluster: string;
  prefix: string;
  encryption?: EncryptionKey;
  /** The first revision to record. */
  startRevision: number;
  flushMs: number;
  maxEvents: number;
  /** Asked every `stopCheckMs`: a reason to stop, or undefined to go on. */
  shouldStop?: () => Promise<string | undefined>;
  stopCheckMs?: number;
  /** Record at most this long (ms), then return: the caller starts the next segment. */
  segmentMs: number;
  /** Called after each flush and tick (the activity heartbeats with it). */
  onProgress?: (revision: number) => void;
  /** Resolves when the recorder must stop at once (activity cancelled). */
  abort?: Promise<unknown>;
}

export interface RecorderResult {
  /** Everything up to this revision is recorded. */
  revision: number;
  chunks: number;
  events: number;
  stopped?: string;
}

/** The watch could not start or was cancelled by etcd (e.g. its start revision is compacted). */
export class WatchFailed extends Error {
  constructor(
    message: string,
    readonly compacted: boolean,
  ) {
    super(message);
    this.name = 'WatchFailed';
  }
}

const ALL = Buffer.from([0]);
/** A key nobody writes: a range on it returns the cluster's current revision cheaply. */
const PROBE_KEY = Buffer.from('\0etcdfleet/revision-probe');

export async function currentRevision(client: Etcd3): Promise<number> {
  const r = await client.kv.range({ key: PROBE_KEY, limit: '1' } as never);
  return Number(r.header.revision);
}

function eventsOf(res: IWatchResponse, now: number): ChangeEvent[] {
  return res.events.map((e) =>
    e.type === 'Put'
      ? { r: Number(e.kv.mod_revision), t: now, op: 'put' as const, k: e.kv.key.toString('base64'), v: e.kv.value.toString('base64') }
      : { r: Number(e.kv.mod_revision), t: now, op: 'del' as const, k: e.kv.key.toString('base64') },
  );
}

export async function recordChanges(o: RecorderOptions): Promise<RecorderResult> {
  const keys = changeKeys(o.prefix, o.cluster);
  const pending: ChangeEvent[] = [];
  let from = o.startRevision;
  let flushedTo = o.startRevision - 1;
  let headCovered: string | undefined;
  let connected = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const result: RecorderResult = { revision: flushedTo, chunks: 0, events: 0 };

  let watcher;
  try {
    watcher = await o.client.watch().inRange({ start: ALL, end: ALL }).startRevision(String(o.startRevision)).create();
  } catch (e) {
    const msg = (e as Error).message;
    throw new WatchFailed(`watch from revision ${o.startRevision}: ${msg}`, /compact/i.test(msg));
  }
  connected = true;
  watcher.on('data', (res: IWatchResponse) => {
    pending.push(...eventsOf(res, Date.now()));
    if (pending.length >= o.maxEvents) wake?.();
  });
  watcher.on('connected', () => (connected = true));
  watcher.on('disconnected', () => (connected = false));
  watcher.on('error', (e: Error) => {
    failure = new WatchFailed(`watch cancelled by etcd: ${e.message}`, /compact/i.test(e.message));
    wake?.();
  });

  async function flush(): Promise<void> {
    const t0 = new Date();
    // The cluster's revision now: once everything up to it is written, the record covers t0.
    const rc = connected ? await currentRevision(o.client).catch(() => undefined) : undefined;
    const batch = pending.splice(0);
    const last = batch.length ? batch[batch.length - 1].r : flushedTo;
    const caught = rc !== undefined && last >= rc;
    if (batch.length) {
      const { body, manifest } = encodeChunk({
        cluster: o.cluster,
        prefix: o.prefix,
        fromRevision: from,
        events: batch,
        coveredUntil: caught ? t0 : new Date(batch[batch.length - 1].t),
        encryption: o.encryption,
      });
      // Object first, manifest second: a chunk without a manifest is never read.
      await o.target.put(manifest.object, Readable.from([body]));
      await o.target.putText(keys.chunk(manifest.fromRevision, manifest.toRevision, false).manifest, `${JSON.stringify(manifest)}\n`);
      from = manifest.toRevision + 1;
      flushedTo = manifest.toRevision;
      result.chunks++;
      result.events += batch.length;
      headCovered = manifest.coveredUntil;
    } else if (caught) headCovered = t0.toISOString();
    // Rewritten at every flush, changes or not: an idle cluster's RPO stays one flush.
    if (batch.length || caught) {
      const head: ChangesHead = {
        formatVersion: 1,
        cluster: o.cluster,
        revision: flushedTo,
        coveredUntil: headCovered ?? t0.toISOString(),
      };
      if (headCovered) await o.target.putText(keys.head, `${JSON.stringify(head)}\n`);
    }
    result.revision = flushedTo;
    o.onProgress?.(flushedTo);
  }

  const started = Date.now();
  let nextStopCheck = started + (o.stopCheckMs ?? 15_000);
  let aborted = false;
  void o.abort?.then(
    () => ((aborted = true), wake?.()),
    () => ((aborted = true), wake?.()),
  );
  try {
    for (;;) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, o.flushMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
      if (failure) {
        await flush().catch(() => undefined);
        throw failure;
      }
      await flush();
      if (aborted) return { ...result, stopped: 'cancelled' };
      if (Date.now() - started >= o.segmentMs) return result;
      if (o.shouldStop && Date.now() >= nextStopCheck) {
        nextStopCheck = Date.now() + (o.stopCheckMs ?? 15_000);
        const reason = await o.shouldStop();
        if (reason) return { ...result, stopped: reason };
      }
    }
  } finally {
    await watcher.cancel().catch(() => undefined);
  }
}
