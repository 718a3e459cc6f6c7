// The health checks' kept-alive etcd clients: reused while checks succeed,
// closed when one fails (never under a concurrent check), after IDLE_MS
// unused, and on shutdown; credentials are part of the key.
import type { Etcd3 } from 'etcd3';
import { IDLE_MS, closeHealthClients, poolKey, pooledClients, sweep, withPooledClient } from '../../activities/etcd/health-pool';

class FakeClient {
  closed = 0;
  close() {
    this.closed++;
  }
}

function maker() {
  const made: FakeClient[] = [];
  return { made, make: () => (made.push(new FakeClient()), made.at(-1) as unknown as Etcd3) };
}

afterEach(() => closeHealthClients());

it('reuses one client per key while checks succeed', async () => {
  const { made, make } = maker();
  const key = poolKey('https://127.0.0.1:2379', undefined, 3000);
  for (let i = 0; i < 3; i++)
    await withPooledClient(
      key,
      make,
      async () => 'ok',
      () => true,
    );
  expect(made).toHaveLength(1);
  expect(made[0].closed).toBe(0);
  expect(pooledClients()).toBe(1);
});

it('closes the client of a failed check and dials afresh next time', async () => {
  const { made, make } = maker();
  const key = poolKey('https://127.0.0.1:2379', undefined, 3000);
  await withPooledClient(
    key,
    make,
    async () => ({ healthy: false }),
    (r) => r.healthy,
  );
  expect(made[0].closed).toBe(1);
  await expect(
    withPooledClient(
      key,
      make,
      () => Promise.reject(new Error('down')),
      () => true,
    ),
  ).rejects.toThrow('down');
  expect(made[1].closed).toBe(1);
  await withPooledClient(
    key,
    make,
    async () => ({ healthy: true }),
    (r) => r.healthy,
  );
  expect(made).toHaveLength(3);
  expect(made[2].closed).toBe(0);
});

it('never closes a client another check still uses', async () => {
  const { made, make } = maker();
  const key = poolKey('https://127.0.0.1:2379', undefined, 3000);
  let release!: () => void;
  const slow = withPooledClient(
    key,
    make,
    () => new Promise<string>((r) => (release = () => r('ok'))),
    () => true,
  );
  await withPooledClient(
    key,
    make,
    async () => 'bad',
    () => false,
  );
  expect(made).toHaveLength(1);
  expect(made[0].closed).toBe(0);
  release();
  await slow;
  expect(made[0].closed).toBe(1);
  expect(pooledClients()).toBe(0);
});

it('closes clients unused for IDLE_MS', async () => {
  const { made, make } = maker();
  await withPooledClient(
    poolKey('https://127.0.0.1:2379', undefined, 3000),
    make,
    async () => 'ok',
    () => true,
  );
  sweep(Date.now() + IDLE_MS / 2);
  expect(made[0].closed).toBe(0);
  sweep(Date.now() + IDLE_MS + 1);
  expect(made[0].closed).toBe(1);
  expect(pooledClients()).toBe(0);
});

it('keys by endpoint, deadline and credentials (a renewed certificate gets a new client)', () => {
  const creds = { rootCertificate: Buffer.from('ca'), certChain: Buffer.from('cert'), privateKey: Buffer.from('key') };
  const k = poolKey('https://127.0.0.1:2379', creds, 3000);
  expect(poolKey('https://127.0.0.1:2379', { ...creds }, 3000)).toBe(k);
  expect(poolKey('https://127.0.0.1:2379', { ...creds, certChain: Buffer.from('cert2') }, 3000)).not.toBe(k);
  expect(poolKey('https://127.0.0.2:2379', creds, 3000)).not.toBe(k);
  expect(poolKey('https://127.0.0.1:2379', creds, 5000)).not.toBe(k);
  expect(k).not.toContain('key');
});
