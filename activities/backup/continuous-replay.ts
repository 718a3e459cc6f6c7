// Replaying recorded changes into a restored etcd through its API, in
// revision order: puts (without their leases) and deletes, batched into
// transactions of distinct keys. Replaying a prefix again (a retried
// activity) converges on the same state: every op overwrites or removes a
// whole key, and the last op on a key decides its value.
import type { Etcd3 } from 'etcd3';
import type { ChangeEvent } from './continuous-format';

/** etcd's default --max-txn-ops is 128; request size is limited to 1.5 MiB. */
const TXN_OPS = 128;
const TXN_BYTES = 1024 * 1024;

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

export class Replayer {
  private ops: ChangeEvent[] = [];
  private keys = new Set<string>();
  private bytes = 0;
  readonly result: ReplayResult;

  constructor(
    private readonly client: Etcd3,
    baseRevision: number,
  ) {
    this.result = { applied: 0, revision: baseRevision, reachedEnd: false };
  }

  async add(events: ChangeEvent[]): Promise<void> {
    for (const e of events) {
      const size = e.k.length + (e.v?.length ?? 0);
      if (this.keys.has(e.k) || this.ops.length >= TXN_OPS || this.bytes + size > TXN_BYTES) await this.flush();
      this.ops.push(e);
      this.keys.add(e.k);
      this.bytes += size;
    }
  }

  async flush(): Promise<void> {
    if (!this.ops.length) return;
    const ops = this.ops;
    this.ops = [];
    this.keys = new Set();
    this.bytes = 0;
    await this.client.kv.txn({
      compare: [],
      success: ops.map((e) =>
        e.op === 'put'
          ? { request_put: { key: Buffer.from(e.k, 'base64'), value: Buffer.from(e.v ?? '', 'base64') } }
          : { request_delete_range: { key: Buffer.from(e.k, 'base64') } },
      ),
      failure: [],
    } as never);
    const last = ops[ops.length - 1];
    this.result.applied += ops.length;
    this.result.revision = last.r;
    this.result.at = new Date(last.t).toISOString();
  }
}
