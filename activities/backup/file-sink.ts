// The directory target's writer: large vectored writes, and durable like
// `etcdctl snapshot save` (fsync before the rename), with the disk's write-back
// started while the snapshot still streams, so the final fsync has little left.
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';

/** Buffered bytes handed to one writev call at most (bounded memory, batched writes). */
export const FILE_WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
/** An fdatasync is started in the background after this many bytes since the last one. */
export const FILE_SYNC_EVERY_BYTES = 32 * 1024 * 1024;

export class DurableFileWriter extends Writable {
  private handle?: FileHandle;
  private sinceSync = 0;
  private syncing?: Promise<void>;
  constructor(
    private readonly file: string,
    private readonly syncEvery = FILE_SYNC_EVERY_BYTES,
  ) {
    super({ highWaterMark: FILE_WRITE_BUFFER_BYTES });
  }
  override _construct(cb: (e?: Error | null) => void): void {
    fsp.open(this.file, 'w', 0o600).then((h) => {
      this.handle = h;
      cb();
    }, cb);
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => cb(), cb);
  }
  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.writeAll(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }
  private async writeAll(bufs: Buffer[]): Promise<void> {
    const h = this.handle!;
    let rest = bufs;
    while (rest.length) {
      // writev writes at most IOV_MAX buffers and may write partially.
      const batch = rest.slice(0, 1024);
      const want = batch.reduce((n, b) => n + b.length, 0);
      let { bytesWritten } = await h.writev(batch);
      this.sinceSync += bytesWritten;
      if (bytesWritten === want) {
        rest = rest.slice(batch.length);
        continue;
      }
      const left: Buffer[] = [];
      for (const b of rest) {
        if (bytesWritten >= b.length) bytesWritten -= b.length;
        else {
          left.push(bytesWritten ? b.subarray(bytesWritten) : b);
          bytesWritten = 0;
        }
      }
      rest = left;
    }
    if (this.sinceSync >= this.syncEvery && !this.syncing) {
      this.sinceSync = 0;
      // Started, not awaited: the kernel writes back while more data arrives.
      this.syncing = h.datasync().finally(() => (this.syncing = undefined));
    }
  }
  override _final(cb: (e?: Error | null) => void): void {
    (async () => {
      await this.syncing;
      await this.handle!.sync();
      await this.handle!.close();
      this.handle = undefined;
    })().then(() => cb(), cb);
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const h = this.handle;
    this.handle = undefined;
    if (!h) return cb(err);
    void (this.syncing ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => h.close())
      .then(
        () => cb(err),
        () => cb(err),
      );
  }
}

/** fsync of a directory, so a rename in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const h = await fsp.open(path.resolve(dir), 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
