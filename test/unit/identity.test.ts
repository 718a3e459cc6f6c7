// The token name becomes the Temporal identity of the calls a request makes (api/identity.ts).
import { Client } from '@temporalio/client';
import express from 'express';
import { identityClient, identityContext, tokenIdentity } from '../../api/identity';

describe('token identity', () => {
  const base = new Client({ connection: {} as never, identity: 'etcdfleet-api' });

  test('outside a request: the base client', () => {
    expect(identityClient(base)).toBe(base);
  });

  test('inside a request: a cached client with the token name as identity, sharing the connection', async () => {
    const app = express();
    const seen: Client[] = [];
    app.use((_req, res, next) => {
      res.locals.principal = { name: 'otto', role: 'operator' };
      next();
    });
    app.use(identityContext());
    app.get('/', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(identityClient(base), identityClient(base));
      res.end();
    });
    const server = await new Promise<import('node:http').Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const { port } = server.address() as import('node:net').AddressInfo;
      await fetch(`http://127.0.0.1:${port}/`);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(seen[0]).toBe(seen[1]);
    expect(seen[0]).not.toBe(base);
    expect(seen[0].options.identity).toBe(tokenIdentity('otto'));
    expect(seen[0].connection).toBe(base.connection);
  });
});
