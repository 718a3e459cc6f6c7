// AES-256-GCM PayloadCodec: every payload the client and worker send to
// Temporal is encrypted, so private keys never sit in plaintext in history.
// The same codec backs the /codec endpoint the Temporal UI uses to decode.
import crypto from 'node:crypto';
import { base64KeyOf, persistedSecret } from '../infra/config';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/** The `encoding` metadata of every payload this codec produced. */
export const ENCODING = 'binary/encrypted';
const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload that did not come through this codec, refused by a strict codec. */
export class PlaintextPayloadError extends Error {
  override name = 'PlaintextPayloadError';
}

export interface AesGcmCodecOptions {
  /**
   * Decode payloads that are not encrypted by passing them through. Off by
   * default: a worker then refuses input that did not come through the codec
   * (for example a signal sent with the `temporal` CLI and no codec), so only
   * holders of the key or of the codec endpoint can feed it data.
   */
  acceptPlaintext?: boolean;
}

export class AesGcmCodec implements PayloadCodec {
  private readonly keyId: string;

  constructor(
    private readonly key: Buffer,
    private readonly options: AesGcmCodecOptions = {},
  ) {
    if (key.length !== 32) throw new Error(`codec key must be 32 bytes, got ${key.length}`);
    this.keyId = crypto.createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv(CIPHER, this.key, iv);
      const plain = Buffer.from(encodePayloadProto(p));
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: Buffer.from(ENCODING), 'encryption-key-id': Buffer.from(this.keyId) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (!isEncrypted(p)) {
        if (this.options.acceptPlaintext) return p;
        const encoding = Buffer.from(p.metadata?.encoding ?? []).toString() || 'none';
        throw new PlaintextPayloadError(
          `refusing an unencrypted payload (encoding ${encoding}): every payload must come through the etcdfleet codec; set ETCDFLEET_ACCEPT_PLAINTEXT_PAYLOADS=true to accept them`,
        );
      }
      const keyId = Buffer.from(p.metadata?.['encryption-key-id'] ?? []).toString();
      if (keyId !== this.keyId) throw new Error(`payload was encrypted with key ${keyId}, this service has key ${this.keyId}`);
      const buf = Buffer.from(p.data ?? []);
      const iv = buf.subarray(0, IV_BYTES);
      const tag = buf.subarray(buf.length - TAG_BYTES);
      const decipher = crypto.createDecipheriv(CIPHER, this.key, iv);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
      return decodePayloadProto(plain);
    });
  }
}

export function isEncrypted(p: Payload): boolean {
  return Buffer.from(p.metadata?.encoding ?? []).toString() === ENCODING;
}

// The encrypted blob carries the whole original Payload (metadata + data),
// serialized with the SDK's own protobuf definitions.
function encodePayloadProto(p: Payload): Uint8Array {
  return temporal.api.common.v1.Payload.encode(p as temporal.api.common.v1.IPayload).finish();
}
function decodePayloadProto(b: Uint8Array): Payload {
  const m = temporal.api.common.v1.Payload.decode(b);
  return { metadata: m.metadata, data: m.data } as Payload;
}

/** ETCDFLEET_CODEC_KEY (base64, 32 bytes) or a key generated once into the state dir. */
export function loadCodecKey(stateDir: string, env = process.env): Buffer {
  const b64 = persistedSecret(stateDir, 'codec.key', env.ETCDFLEET_CODEC_KEY, () => crypto.randomBytes(32).toString('base64'), {
    env: 'ETCDFLEET_CODEC_KEY',
    check: base64KeyOf(32),
  });
  return Buffer.from(b64, 'base64');
}
