// The token name as the Temporal identity of what a request starts. The SDK
// takes `identity` per Client, not per call, so each token name gets its own
// Client over the shared connection (cached), chosen through AsyncLocalStorage
// for the duration of the request: FleetService.client is that Client.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from '@temporalio/client';
import type { NextFunction, Request, Response } from 'express';
import { principalOf } from './access';

const current = new AsyncLocalStorage<string>();
const clients = new WeakMap<Client, Map<string, Client>>();

/** The Temporal identity of requests made with the token `name`. */
export const tokenIdentity = (name: string) => `etcdfleet-api:${name}`;

/** Runs the rest of the request as its token's identity. Mount after the body parser (stream callbacks lose the context). */
export function identityContext() {
  return (_req: Request, res: Response, next: NextFunction) => {
    const p = principalOf(res);
    if (p) current.run(p.name, next);
    else next();
  };
}

/** `base`, or its twin whose identity is the current request's token name. */
export function identityClient(base: Client): Client {
  const name = current.getStore();
  // Stub clients of unit tests have no options: they are used as they are.
  if (name === undefined || !(base as { options?: unknown }).options) return base;
  let byName = clients.get(base);
  if (!byName) clients.set(base, (byName = new Map()));
  let c = byName.get(name);
  if (!c) byName.set(name, (c = new Client({ ...base.options, identity: tokenIdentity(name) })));
  return c;
}
