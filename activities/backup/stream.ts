// Streaming building blocks for backups: nothing here ever holds a whole
// snapshot in memory. A transform that must find a trailer (32 bytes for
// etcd's SHA-256, 16 for the GCM tag) holds back one chunk at most.
import crypto from 'node:crypto';
import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';

/** Bytes of etcd's trailing SHA-256 (a v3 snapshot ends with sha256 of everything before it). */
export const ETCD_TRAILER_BYTES = 32;
/** Our encrypted object format: magic, 12-byte IV, AES-256-GCM ciphertext, 16-byte tag. */
export const ENC_MAGIC = Buffer.from('EFBK1\0', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/**
 * Passes bytes through except the last `tail` bytes, which reach `finish`. It
 * holds back the latest chunk whole (no copies, no tiny pieces downstream):
 * when the next one arrives, the held chunk goes to `body` in one piece.
 */
export abstract class TailKeeping extends Transform {
  private held: Buffer = Buffer.alloc(0);
  constructor(
    private readonly tail: number,
    opts?: TransformOptions,
  ) {
    super(opts);
  }
  protected abstract body(chunk: Buffer): Buffer | Buffer[] | undefined;
  protected abstract finish(tail: Buffer): Buffer | Buffer[] | undefined;
  private emit_(out: Buffer | Buffer[] | undefined): void {
    for (const b of Array.isArray(out) ? out : [out]) if (b && b.length) this.push(b);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (chunk.length >= this.tail) {
        // The trailer lies within the new chunk or later: everything held is content.
        const release = this.held;
        this.held = chunk;
        if (release.length) this.emit_(this.body(release));
      } else if (chunk.length) {
        this.held = Buffer.concat([this.held, chunk]);
      }
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      const held = this.held;
      if (held.length < this.tail)
        throw new IntegrityError(`stream ended after ${held.length} bytes, shorter than its ${this.tail}-byte trailer`);
      this.held = Buffer.alloc(0);
      if (held.length > this.tail) this.emit_(this.body(held.subarray(0, held.length - this.tail)));
      this.emit_(this.finish(held.subarray(held.length - this.tail)));
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

/** etcd's trailer (hex) when it equals the SHA-256 of the content before it; else an IntegrityError. */
export function checkTrailer(contentSha256: Buffer, tail: Buffer): string {
  if (!contentSha256.equals(tail)) {
    throw new IntegrityError(
      `snapshot integrity check failed: trailing sha256 ${tail.toString('hex')} does not match the content (${contentSha256.toString('hex')}); truncated or altered`,
    );
  }
  return tail.toString('hex');
}

/**
 * Checks etcd's trailing SHA-256 while the snapshot streams through: a
 * truncated or altered snapshot fails the stream (and so the upload) at its end.
 */
export class EtcdTrailerCheck extends TailKeeping {
  private readonly h = crypto.createHash('sha256');
  bytes = 0;
  trailer?: string;
  constructor() {
    super(ETCD_TRAILER_BYTES);
  }
  protected body(chunk: Buffer) {
    this.h.update(chunk);
    this.bytes += chunk.length;
    return chunk;
  }
  protected finish(tail: Buffer) {
    this.bytes += tail.length;
    this.trailer = checkTrailer(this.h.digest(), tail);
    return tail;
  }
}

/** Counts and hashes what passes (the bytes as stored). */
export class HashCounter extends Transform {
  private readonly h = crypto.createHash('sha256');
  bytes = 0;
  sha256?: string;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.h.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.sha256 = this.h.digest('hex');
    cb();
  }
}

/**
 * AES-256-GCM, streaming: header (magic + IV), ciphertext, tag at the end.
 * Not a stream itself: BackupEncoder calls it for each chunk it passes on.
 */
export class Encrypt {
  private readonly cipher: crypto.CipherGCM;
  private started = false;
  private readonly iv = crypto.randomBytes(IV_BYTES);
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the backup key must be 32 bytes');
    this.cipher = crypto.createCipheriv('aes-256-gcm', key, this.iv);
    this.cipher.setAAD(ENC_MAGIC);
  }
  private header(): Buffer[] {
    if (this.started) return [];
    this.started = true;
    return [ENC_MAGIC, this.iv];
  }
  update(chunk: Buffer): Buffer[] {
    return [...this.header(), this.cipher.update(chunk)];
  }
  final(): Buffer[] {
    return [...this.header(), this.cipher.final(), this.cipher.getAuthTag()];
  }
}

/**
 * The inverse of Encrypt. Plaintext flows out before the tag is checked (at
 * the end), so consumers must treat their output as untrusted until the stream
 * finished without error: verification writes to a temp file and only uses it then.
 */
export class Decrypt extends TailKeeping {
  private decipher?: crypto.DecipherGCM;
  private head = Buffer.alloc(0);
  constructor(private readonly key: Buffer) {
    super(TAG_BYTES);
  }
  protected body(chunk: Buffer) {
    if (!this.decipher) {
      this.head = Buffer.concat([this.head, chunk]);
      const need = ENC_MAGIC.length + IV_BYTES;
      if (this.head.length < need) return undefined;
      if (!this.head.subarray(0, ENC_MAGIC.length).equals(ENC_MAGIC))
        throw new IntegrityError('not an etcdfleet encrypted backup (bad header)');
      this.decipher = crypto.createDecipheriv('aes-256-gcm', this.key, this.head.subarray(ENC_MAGIC.length, need));
      this.decipher.setAAD(ENC_MAGIC);
      const rest = this.head.subarray(need);
      this.head = Buffer.alloc(0);
      return this.decipher.update(rest);
    }
    return this.decipher.update(chunk);
  }
  protected finish(tag: Buffer) {
    if (!this.decipher) throw new IntegrityError('encrypted backup is truncated (no header)');
    this.decipher.setAuthTag(tag);
    try {
      return this.decipher.final();
    } catch {
      throw new IntegrityError('encrypted backup failed authentication: wrong key, truncated or altered');
    }
  }
}
