// Remote codec endpoint for the Temporal UI (POST /codec/decode, /codec/encode):
// the UI sends encrypted payloads and shows the decoded JSON to the operator.
import express, { type Request, type Response, type NextFunction } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { bearerAuth } from './app';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

export function codecRouter(codec: PayloadCodec, token: string, origins: string[]): express.Router {
  const router = express.Router();
  const auth = bearerAuth(token);
  // The browser-side UI cannot hold our token: requests from its configured
  // origin are allowed; everything else needs the bearer token.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('origin');
    if (origin && origins.includes(origin)) {
      res.set('Access-Control-Allow-Origin', origin);
      res.set('Access-Control-Allow-Credentials', 'true');
      res.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.set('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.set('Vary', 'Origin');
      if (req.method === 'OPTIONS') return void res.sendStatus(204);
      return next();
    }
    return auth(req, res, next);
  });
  router.use(express.json({ limit: '8mb' }));
  const handler = (op: 'encode' | 'decode') => async (req: Request, res: Response) => {
    const payloads = ((req.body?.payloads ?? []) as JsonPayload[]).map(fromJson);
    const out = await codec[op](payloads);
    res.json({ payloads: out.map(toJson) });
  };
  router.post('/decode', handler('decode'));
  router.post('/encode', handler('encode'));
  return router;
}
