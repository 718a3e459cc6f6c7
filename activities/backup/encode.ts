// The backup path's one transform between etcd's snapshot stream and the
// target: etcd's trailer check, optional encryption and the SHA-256 of the
// stored bytes in a single stage (each extra stage added a hop with its own
// small buffer, and the grpc stream stalled whenever one of them was full).
import crypto from 'node:crypto';
import { checkTrailer, ETCD_TRAILER_BYTES, Encrypt, TailKeeping } from './stream';

/** Default readable buffer: what the snapshot may run ahead of a busy target. */
export const ENCODER_BUFFER_BYTES = 1024 * 1024;

export class BackupEncoder extends TailKeeping {
  /** SHA-256 of the snapshot without its trailer; unencrypted, also of the stored bytes. */
  private readonly content = crypto.createHash('sha256');
  /** Encrypted only: SHA-256 of the ciphertext as stored. */
  private readonly stored?: crypto.Hash;
  private readonly cipher?: Encrypt;
  snapshotBytes = 0;
  storedBytes = 0;
  /** etcd's trailing SHA-256 (hex), once checked. */
  trailer?: string;
  /** SHA-256 (hex) of the stored object, at the end. */
  sha256?: string;

  /**
   * `bufferBytes`: the readable side's buffer, so etcd keeps streaming while
   * the target is busy (S3: every upload slot taken). It adds to the memory
   * bound of a backup; it does not hold anything longer.
   */
  constructor(opts: { key?: Buffer; bufferBytes?: number } = {}) {
    super(ETCD_TRAILER_BYTES, { readableHighWaterMark: opts.bufferBytes ?? ENCODER_BUFFER_BYTES });
    if (opts.key) {
      this.cipher = new Encrypt(opts.key);
      this.stored = crypto.createHash('sha256');
    }
  }

  private out(bufs: Buffer[]): Buffer[] {
    for (const b of bufs) {
      this.stored!.update(b);
      this.storedBytes += b.length;
    }
    return bufs;
  }

  protected body(chunk: Buffer): Buffer | Buffer[] {
    this.content.update(chunk);
    this.snapshotBytes += chunk.length;
    if (this.cipher) return this.out(this.cipher.update(chunk));
    this.storedBytes += chunk.length;
    return chunk;
  }

  protected finish(tail: Buffer): Buffer | Buffer[] {
    this.snapshotBytes += tail.length;
    // Unencrypted, one hash serves both: a copy of its state before the
    // trailer is etcd's hash; the trailer added gives the stored object's.
    this.trailer = checkTrailer(this.content.copy().digest(), tail);
    if (this.cipher) {
      const out = this.out([...this.cipher.update(tail), ...this.cipher.final()]);
      this.sha256 = this.stored!.digest('hex');
      return out;
    }
    this.storedBytes += tail.length;
    this.sha256 = this.content.update(tail).digest('hex');
    return tail;
  }
}
