// Streaming building blocks for backups: nothing here ever holds a whole
// snapshot in memory. Each transform keeps at most a small tail (32 bytes for
// etcd's trailer, 16 for the GCM tag) back from the data passing through.
import crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

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

/** Passes bytes through and hashes everything except the last `tail` bytes, which it keeps aside. */
abstract class TailKeeping extends Transform {
  private held = Buffer.alloc(0);
  constructor(private readonly tail: number) {
    super();
  }
  protected abstract body(chunk: Buffer): Buffer | undefined;
  protected abstract finish(tail: Buffer): Buffer | undefined;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      // No copies of the (large) chunks: release what was held plus the
      // chunk minus its last `tail` bytes, keep those few bytes aside.
      if (this.held.length + chunk.length <= this.tail) {
        this.held = Buffer.concat([this.held, chunk]);
        return cb();
      }
      let release: Buffer[];
      if (chunk.length >= this.tail) {
        release = [this.held, chunk.subarray(0, chunk.length - this.tail)];
        this.held = Buffer.from(chunk.subarray(chunk.length - this.tail));
      } else {
        const all = Buffer.concat([this.held, chunk]);
        release = [all.subarray(0, all.length - this.tail)];
        this.held = Buffer.from(all.subarray(all.length - this.tail));
      }
      for (const b of release) {
        if (!b.length) continue;
        const out = this.body(b);
        if (out && out.length) this.push(out);
      }
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      if (this.held.length < this.tail)
        throw new IntegrityError(`stream ended after ${this.held.length} bytes, shorter than its ${this.tail}-byte trailer`);
      const out = this.finish(this.held);
      cb(null, out && out.length ? out : undefined);
    } catch (e) {
      cb(e as Error);
    }
  }
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
    const want = this.h.digest();
    if (!want.equals(tail)) {
      throw new IntegrityError(
        `snapshot integrity check failed: trailing sha256 ${tail.toString('hex')} does not match the content (${want.toString('hex')}); truncated or altered`,
      );
    }
    this.trailer = tail.toString('hex');
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

/** AES-256-GCM, streaming: header (magic + IV), ciphertext, tag at the end. */
export class Encrypt extends Transform {
  private readonly cipher: crypto.CipherGCM;
  private started = false;
  private readonly iv = crypto.randomBytes(IV_BYTES);
  constructor(key: Buffer) {
    super();
    if (key.length !== 32) throw new Error('the backup key must be 32 bytes');
    this.cipher = crypto.createCipheriv('aes-256-gcm', key, this.iv);
    this.cipher.setAAD(ENC_MAGIC);
  }
  private header(): Buffer[] {
    if (this.started) return [];
    this.started = true;
    return [ENC_MAGIC, this.iv];
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    cb(null, Buffer.concat([...this.header(), this.cipher.update(chunk)]));
  }
  override _flush(cb: TransformCallback): void {
    cb(null, Buffer.concat([...this.header(), this.cipher.final(), this.cipher.getAuthTag()]));
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
