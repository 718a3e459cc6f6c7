// Looks for private key material in workflow histories: every payload raw (as
// stored) and decoded by the codec, and every string in the history, against
// fingerprints of known private keys (PEM body lines, DER as base64 and hex,
// and raw 32-byte windows of the DER), plus the PEM marker itself.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';

const WINDOW = 32;

/**
 * What a private key (PEM, plain or encrypted PKCS#8) looks like in bytes,
 * however it is encoded. Pieces that are public (inside the key's
 * SubjectPublicKeyInfo, e.g. an RSA modulus, which every certificate carries
 * too) are left out, so only secret material counts.
 */
export function keyFingerprints(pem: string, passphrase?: string): Buffer[] {
  const out: Buffer[] = [];
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch {
    /* an encrypted key without its passphrase: its own bytes are fingerprint enough */
  }
  const spki = key ? (createPublicKey(key).export({ type: 'spki', format: 'der' }) as Buffer) : Buffer.alloc(0);
  const secret = (bytes: Buffer) => !spki.includes(bytes);

  const body = pem.replace(/-----[^-]+-----/g, '').replace(/^[A-Za-z-]+:.*$/gm, '');
  // Whole 64-character base64 lines appear verbatim in JSON (whose newlines are escaped).
  for (const line of body.split('\n').map((l) => l.trim()))
    if (line.length === 64 && secret(Buffer.from(line, 'base64'))) out.push(Buffer.from(line));
  const ders: Buffer[] = [Buffer.from(body.replace(/\s+/g, ''), 'base64')];
  if (key) ders.push(key.export({ type: 'pkcs8', format: 'der' }) as Buffer);
  for (const der of ders) {
    for (let at = 0; at + WINDOW <= der.length; at += WINDOW) {
      const w = Buffer.from(der.subarray(at, at + WINDOW));
      if (secret(w)) out.push(w, Buffer.from(w.toString('hex')));
    }
    // base64 of 33-byte windows at 3-byte-aligned offsets: substrings of the whole DER's base64.
    const b64 = der.toString('base64');
    for (let at = 0; at + 33 <= der.length; at += 33) {
      if (secret(Buffer.from(der.subarray(at, at + 33)))) out.push(Buffer.from(b64.slice((at / 3) * 4, (at / 3) * 4 + 44)));
    }
  }
  // The secret numbers themselves (RSA d, p, q, …; EC d) in every usual encoding.
  const jwk = key ? (key.export({ format: 'jwk' }) as Record<string, string | undefined>) : {};
  for (const c of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
    const v = jwk[c];
    if (!v) continue;
    const n = Buffer.from(v, 'base64url');
    out.push(n, Buffer.from(n.toString('hex')), Buffer.from(n.toString('base64')), Buffer.from(v));
  }
  return out;
}

function isPayload(v: unknown): v is Payload {
  return typeof v === 'object' && v !== null && 'data' in v && 'metadata' in v && (v as Payload).data instanceof Uint8Array;
}

/** Every byte string of a history: strings and bytes as stored, and each payload decoded by the codec. */
export async function historyHaystacks(history: unknown, codec: PayloadCodec): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const seen = new Set<unknown>();
  const walk = async (v: unknown): Promise<void> => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') return void out.push(Buffer.from(v));
    if (v instanceof Uint8Array) return void out.push(Buffer.from(v));
    if (typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (isPayload(v)) {
      try {
        for (const d of await codec.decode([v])) {
          if (d.data) out.push(Buffer.from(d.data));
          for (const m of Object.values(d.metadata ?? {})) out.push(Buffer.from(m));
        }
      } catch {
        /* not one of ours: its raw bytes are scanned below */
      }
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) await walk(child);
  };
  await walk(history);
  return out;
}

export interface Finding {
  workflowId: string;
  runId: string;
  what: string;
}

/**
 * Scans the history of every given execution (all runs) for the PEM marker
 * and for the fingerprints; returns what was found where.
 */
export async function scanHistories(
  client: Client,
  codec: PayloadCodec,
  executions: { workflowId: string; runId: string }[],
  keys: Map<string, Buffer[]>,
): Promise<{ findings: Finding[]; scanned: number; events: number }> {
  const findings: Finding[] = [];
  let events = 0;
  for (const { workflowId, runId } of executions) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    events += history.events?.length ?? 0;
    const hay = await historyHaystacks(history, codec);
    if (hay.some((h) => h.includes('PRIVATE KEY'))) findings.push({ workflowId, runId, what: 'PRIVATE KEY marker' });
    for (const [name, needles] of keys) {
      if (needles.some((n) => hay.some((h) => h.includes(n)))) findings.push({ workflowId, runId, what: name });
    }
  }
  return { findings, scanned: executions.length, events };
}
