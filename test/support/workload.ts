// A client workload for tests of disruptive operations: a writer puts
// increasing values on a few keys (retrying on errors) and records what was
// acknowledged; a reader reads them back. Afterwards `verify` checks that every
// acknowledged write survived and reports the longest unavailability.
import type { Etcd3 } from 'etcd3';
import { newEtcdClient } from '../../activities/etcd/client';

export interface WorkloadCredentials {
  ca: string;
  cert: string;
  key: string;
}

export interface WorkloadReport {
  writes: number;
  failedWrites: number;
  reads: number;
  failedReads: number;
  /** Longest time between a failed request and the next success (ms). */
  maxUnavailableMs: number;
  /** Keys whose stored value is below the last acknowledged one (lost writes). */
  lost: { key: string; acked: number; found: number | null }[];
  errors: string[];
}

export class Workload {
  /** Started and not yet stopped: a test that fails half-way must not leave a writer looping (jest would never exit). */
  private static readonly live = new Set<Workload>();
  private client: Etcd3;
  private running = false;
  private loops: Promise<void>[] = [];
  private acked = new Map<string, number>();
  private writes = 0;
  private failedWrites = 0;
  private reads = 0;
  private failedReads = 0;
  private failingSince?: number;
  private maxUnavailableMs = 0;
  private errors = new Set<string>();

  constructor(
    endpoints: string[],
    creds: WorkloadCredentials,
    private readonly keys = 4,
    private readonly prefix = '/workload/',
  ) {
    this.client = newEtcdClient(
      endpoints,
      {
        rootCertificate: Buffer.from(creds.ca),
        certChain: Buffer.from(creds.cert),
        privateKey: Buffer.from(creds.key),
      },
      { timeoutMs: 2000 },
    );
  }

  start(): void {
    this.running = true;
    Workload.live.add(this);
    this.loops = [this.writer(), this.reader()];
  }

  async stop(): Promise<WorkloadReport> {
    this.running = false;
    Workload.live.delete(this);
    await Promise.all(this.loops);
    return this.verify();
  }

  /** Stops every workload still running and closes its client (cleanup after a failed test). */
  static async stopAll(): Promise<void> {
    const left = [...Workload.live];
    Workload.live.clear();
    for (const w of left) w.running = false;
    await Promise.all(left.flatMap((w) => w.loops));
    for (const w of left) w.client.close();
  }

  /** Reads every key once more (retrying) and compares with what was acknowledged. */
  async verify(): Promise<WorkloadReport> {
    const lost: WorkloadReport['lost'] = [];
    for (const [key, acked] of this.acked) {
      let found: number | null = null;
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          const v = await this.client.get(key).string();
          found = v === null ? null : Number(v);
          break;
        } catch {
          await sleep(250);
        }
      }
      if (found === null || found < acked) lost.push({ key, acked, found });
    }
    this.client.close();
    return {
      writes: this.writes,
      failedWrites: this.failedWrites,
      reads: this.reads,
      failedReads: this.failedReads,
      maxUnavailableMs: this.maxUnavailableMs,
      lost,
      errors: [...this.errors].slice(0, 10),
    };
  }

  private ok(): void {
    if (this.failingSince !== undefined) {
      this.maxUnavailableMs = Math.max(this.maxUnavailableMs, Date.now() - this.failingSince);
      this.failingSince = undefined;
    }
  }

  private fail(err: unknown): void {
    this.failingSince ??= Date.now();
    this.errors.add((err as Error).message?.slice(0, 120) ?? String(err));
  }

  private async writer(): Promise<void> {
    for (let i = 1; this.running; i++) {
      const key = `${this.prefix}k${i % this.keys}`;
      try {
        await this.client.put(key).value(String(i));
        this.acked.set(key, i);
        this.writes++;
        this.ok();
      } catch (err) {
        this.failedWrites++;
        this.fail(err);
      }
      await sleep(10);
    }
  }

  private async reader(): Promise<void> {
    for (let i = 0; this.running; i++) {
      try {
        await this.client.get(`${this.prefix}k${i % this.keys}`).string();
        this.reads++;
        this.ok();
      } catch (err) {
        this.failedReads++;
        this.fail(err);
      }
      await sleep(10);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
