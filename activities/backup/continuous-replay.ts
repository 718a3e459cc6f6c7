// Replaying recorded changes into a restored etcd through its API: puts
// (without their leases) and deletes, chunk by chunk in revision order, each
// run of chunks (up to REPLAY_HOLD_BYTES) reduced to the last change per key
// and written in transactions of distinct keys. Only the end state is visible (the cluster is Running only
// after the replay), and replaying a prefix again (a retried activity)
// converges on the same state: every op overwrites or removes a whole key, and
// the last op on a key decides its value.
import type { Etcd3 } from 'etcd3';
import type { ChangeEvent } from './continuous-format';

/** etcd's default --max-txn-ops is 128; request size is limited to 1.5 MiB. */
const TXN_OPS = 128;
const TXN_BYTES = 1024 * 1024;
/** Changes held for reduction before they are written (base64 bytes of keys and values). */
export const REPLAY_HOLD_BYTES = 64 * 1024 * 1024;

export interface ReplayWindow {
  /** Changes after this revision (the restored backup's) … */
  afterRevision: number;
  /** … up to this one … */
  untilRevision: number;
  /** … seen at or before this time (ms since the epoch), when set. */
  untilTime?: number;
}

export interface ReplayResult {
  applied: number;
  /** The source revision of the last change applied (the backup's when none). */
  revision: number;
  /** When the recorder saw that change. */
  at?: string;
  /** The window's end was reached (later changes exist and were left out). */
  reachedEnd: boolean;
}

/** The changes of `events` that fall in the window; `end` when a later one shows the window is complete. */
export function inWindow(events: ChangeEvent[], w: ReplayWindow): { take: ChangeEvent[]; end: boolean } {
  const take: ChangeEvent[] = [];
  for (const e of events) {
    if (e.r <= w.afterRevision) continue;
    if (e.r > w.untilRevision || (w.untilTime !== undefined && e.t > w.untilTime)) return { take, end: true };
    take.push(e);
  }
  return { take, end: false };
}

/** Transactions in flight at once: their keys are distinct, so their order does not matter. */
const IN_FLIGHT = 8;

/**
 * Collects changes keeping only the last one per key, then (flush) writes
 * them in transactions of distinct keys, a few at a time. Flushes run one
 * after another, so a key's changes still land in revision order.
 */
export class Replayer {
  private last = new Map<string, ChangeEvent>();
  private pending = 0;
  /** Key and value bytes held (the caller flushes above a bound). */
  held = 0;
  private endRevision?: number;
  private endTime?: number;
  readonly result: ReplayResult & { writes: number };

  constructor(
    private readonly client: Etcd3,
    baseRevision: number,
  ) {
    this.result = { applied: 0, writes: 0, revision: baseRevision, reachedEnd: false };
  }

  async add(events: ChangeEvent[]): Promise<void> {
    for (const e of events) {
      const before = this.last.get(e.k);
      if (before) this.held -= before.k.length + (before.v?.length ?? 0);
      this.last.delete(e.k); // re-inserted at the end: the map keeps revision order
      this.last.set(e.k, e);
      this.held += e.k.length + (e.v?.length ?? 0);
    }
    this.pending += events.length;
    if (events.length) {
      const end = events[events.length - 1];
      this.endRevision = end.r;
      this.endTime = end.t;
    }
  }

  /**
   * Writes what was added since the last flush. What it writes is taken when
   * it is called: changes added while it runs belong to the next flush, which
   * must start only after this one ended (a key's changes land in order).
   */
  async flush(): Promise<void> {
    const ops = [...this.last.values()];
    const applied = this.pending;
    const end = this.endRevision === undefined ? undefined : { revision: this.endRevision, time: this.endTime! };
    this.last = new Map();
    this.held = 0;
    this.pending = 0;
    const batches: ChangeEvent[][] = [];
    let batch: ChangeEvent[] = [];
    let bytes = 0;
    for (const e of ops) {
      const size = e.k.length + (e.v?.length ?? 0);
      if (batch.length >= TXN_OPS || (batch.length && bytes + size > TXN_BYTES)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(e);
      bytes += size;
    }
    if (batch.length) batches.push(batch);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) await this.txn(batches[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, batches.length) }, worker));
    this.result.applied += applied;
    this.result.writes += ops.length;
    if (end) {
      this.result.revision = end.revision;
      this.result.at = new Date(end.time).toISOString();
    }
  }

  private async txn(ops: ChangeEvent[]): Promise<void> {
    await this.client.kv.txn({
      compare: [],
      success: ops.map((e) =>
        e.op === 'put'
          ? { request_put: { key: Buffer.from(e.k, 'base64'), value: Buffer.from(e.v ?? '', 'base64') } }
          : { request_delete_range: { key: Buffer.from(e.k, 'base64') } },
      ),
      failure: [],
    } as never);
  }
}
