// The S3 target's writer: a multipart upload from a fixed pool of part
// buffers, reused for the whole backup. The snapshot's chunks are copied once
// into the part being filled; while `queue` parts upload, one more fills. The
// memory of an upload is the pool, (queue + 1) × partSize, allocated once:
// no per-part allocation for the garbage collector to catch up with.
import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

export class S3PartWriter extends Writable {
  private readonly free: Buffer[] = [];
  private current?: Buffer;
  private filled = 0;
  private uploadId?: Promise<string>;
  private readonly parts: { PartNumber: number; ETag?: string }[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private failure?: unknown;
  private waiter?: () => void;
  /** Part buffers not yet allocated: taken one by one, so a small object never takes the whole pool. */
  private poolLeft: number;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly partBytes: number,
    queue: number,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.poolLeft = queue + 1;
  }

  private async buffer(): Promise<Buffer> {
    for (;;) {
      if (this.failure) throw this.failure;
      const b = this.free.pop();
      if (b) return b;
      if (this.poolLeft > 0) {
        this.poolLeft--;
        return Buffer.allocUnsafe(this.partBytes);
      }
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  private start(): Promise<string> {
    this.uploadId ??= this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key })).then((r) => r.UploadId!);
    return this.uploadId;
  }

  /** Uploads the filled part in the background; its buffer returns to the pool when done. */
  private dispatch(): void {
    const buf = this.current!;
    const n = this.filled;
    this.current = undefined;
    this.filled = 0;
    const PartNumber = this.parts.length + 1;
    const part: { PartNumber: number; ETag?: string } = { PartNumber };
    this.parts.push(part);
    const p = (async () => {
      const UploadId = await this.start();
      const r = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId, PartNumber, Body: buf.subarray(0, n), ContentLength: n }),
      );
      part.ETag = r.ETag;
    })()
      .catch((e) => {
        this.failure ??= e;
      })
      .finally(() => {
        this.inflight.delete(p);
        this.free.push(buf);
        const w = this.waiter;
        this.waiter = undefined;
        w?.();
      });
    this.inflight.add(p);
  }

  private async add(chunks: Buffer[]): Promise<void> {
    for (const chunk of chunks) {
      let off = 0;
      while (off < chunk.length) {
        this.current ??= await this.buffer();
        const n = chunk.copy(this.current, this.filled, off);
        this.filled += n;
        off += n;
        if (this.filled === this.partBytes) this.dispatch();
      }
    }
    if (this.failure) throw this.failure;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.add([chunk]).then(() => cb(), cb);
  }
  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.add(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    (async () => {
      if (!this.uploadId && !this.parts.length) {
        // Smaller than one part: a plain PUT.
        const body = this.current ? this.current.subarray(0, this.filled) : Buffer.alloc(0);
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length }));
        return;
      }
      if (this.filled) this.dispatch();
      while (this.inflight.size) await Promise.all([...this.inflight]);
      if (this.failure) throw this.failure;
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: await this.start(),
          MultipartUpload: { Parts: this.parts },
        }),
      );
    })().then(() => cb(), cb);
  }

  /** Resolves once the writer is closed: after a failure, once the multipart upload was aborted. */
  async settled(): Promise<void> {
    if (!this.closed) await new Promise((r) => this.once('close', r));
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (!err || !this.uploadId) return cb(err);
    this.failure ??= err;
    // Parts still uploading finish or fail first; then the upload and its parts are dropped.
    void Promise.all([...this.inflight])
      .then(() => this.uploadId)
      .then((UploadId) => this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId })))
      .catch(() => undefined)
      .then(() => cb(err));
  }
}
