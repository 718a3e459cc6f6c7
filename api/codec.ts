// Remote codec endpoint (the Temporal codec server protocol): the UI and tools
// send payloads, get them decoded or encoded.
//
// Who may call it. An `Origin` header is not authentication (any script can
// send one), and the browser-side UI cannot hold our bearer token. So there are
// two doors:
//   - `/codec/<capability>/{decode,encode}`: the capability is 32 random bytes
//     generated into the state dir (infra/config.ts codecCapability) and handed
//     only to the UI as its codec endpoint. Knowing the URL is the authorisation;
//     a wrong capability is answered like an unknown route. CORS headers go only
//     to the configured UI origins, so other web pages cannot read answers even
//     if the URL leaked to them.
//   - `/codec/{decode,encode}`: the bearer token, for tools (`temporal --codec-auth`).
import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { ValidationError, zodIssues } from '../common/parse';
import { jsonDepthError } from '../common/limits';
import { isEncrypted } from '../worker/codec';
import { bearerAuth } from './auth';
import { HttpProblem, sendProblem } from './problems';

export const MAX_CODEC_BODY_BYTES = 8 * 1024 * 1024;

export interface CodecAccess {
  token: string;
  /** Path segment of the UI's codec URL; without it only the token door exists. */
  capability?: string;
  /** Browser origins (the UI) that get CORS headers on the capability door. */
  origins: string[];
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const CodecRequest = z.strictObject({
  payloads: z.array(z.strictObject({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() })).max(10_000),
});
type JsonPayload = z.infer<typeof CodecRequest>['payloads'][number];

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/** The request body as payloads; every client mistake is a 400 with field paths. */
function readPayloads(req: Request): Payload[] {
  const text = typeof req.body === 'string' ? req.body : '';
  const deep = jsonDepthError(text);
  if (deep) throw new ValidationError([{ path: '', message: `malformed JSON: ${deep.message}` }]);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new ValidationError([{ path: '', message: `malformed JSON: ${(e as Error).message.replace(/, ".*" is not valid JSON$/s, '')}` }]);
  }
  const r = CodecRequest.safeParse(body);
  if (!r.success) throw new ValidationError(zodIssues(r.error));
  return r.data.payloads.map(fromJson);
}

async function decodeAll(codec: PayloadCodec, payloads: Payload[]): Promise<Payload[]> {
  // Unencrypted payloads (a signal sent without the codec) are shown as they are;
  // whether a worker accepts them is the worker's decision.
  return Promise.all(
    payloads.map(async (p, i) => {
      if (!isEncrypted(p)) return p;
      try {
        return (await codec.decode([p]))[0];
      } catch {
        throw new HttpProblem(422, 'Unprocessable Payload', `payloads[${i}]: not encrypted with this service's key, or damaged`, [
          { path: `payloads[${i}]`, message: "not encrypted with this service's key, or damaged" },
        ]);
      }
    }),
  );
}

function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** `recordRoute`: error middleware that notes a failed request's route for /metrics while the router still knows it. */
export function codecRouter(codec: PayloadCodec, access: CodecAccess, recordRoute?: express.ErrorRequestHandler): express.Router {
  const router = express.Router();
  const operations = express.Router();
  operations.use(express.text({ type: () => true, limit: MAX_CODEC_BODY_BYTES }));
  operations.post('/decode', async (req, res) => {
    res.json({ payloads: (await decodeAll(codec, readPayloads(req))).map(toJson) });
  });
  operations.post('/encode', async (req, res) => {
    res.json({ payloads: (await codec.encode(readPayloads(req))).map(toJson) });
  });
  if (recordRoute) operations.use(recordRoute);

  router.all(['/decode', '/encode'], bearerAuth(access.token), operations);

  const { capability } = access;
  if (capability) {
    router.use('/:capability', (req: Request, res: Response, next: NextFunction) => {
      if (!sameSecret(String(req.params.capability), capability)) return sendProblem(res, 404, 'Not Found', 'no such route');
      const origin = req.get('origin');
      if (origin && access.origins.includes(origin)) {
        res.set('Access-Control-Allow-Origin', origin);
        res.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
        res.set('Access-Control-Allow-Headers', 'content-type, x-namespace');
        res.set('Vary', 'Origin');
      }
      if (req.method === 'OPTIONS') return void res.sendStatus(204);
      return operations(req, res, next);
    });
  }
  return router;
}
