// Bearer-token authentication of the API (constant-time comparison).
import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { sendProblem } from './problems';

export function bearerAuth(token: string) {
  // Hashing both sides gives equal lengths, so the comparison leaks nothing about the token's length either.
  const expected = crypto.createHash('sha256').update(token).digest();
  return (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    const given = m ? crypto.createHash('sha256').update(m[1]).digest() : undefined;
    if (given && crypto.timingSafeEqual(given, expected)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="etcdfleet"');
    sendProblem(res, 401, 'Unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
  };
}
