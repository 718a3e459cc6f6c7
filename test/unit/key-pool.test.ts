import { webcrypto } from 'node:crypto';
import { configureKeyPool, generateKey } from '../../activities/pki/keys';
import { loadConfig } from '../../infra/config';

const P256 = { algorithm: 'ecdsa', curve: 'P-256' } as const;
const until = async (ok: () => boolean) => {
  for (let i = 0; i < 1000 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('keys made ahead (ETCDFLEET_KEY_POOL)', () => {
  afterEach(() => configureKeyPool(0));

  it('hands out keys made while idle, each once, and makes them again afterwards', async () => {
    const made = jest.spyOn(webcrypto.subtle, 'generateKey');
    configureKeyPool(3, { quietMs: 0 });
    // The first ask of a kind is made on the spot and starts its pool.
    await generateKey(P256 as never, 'sha256');
    await until(() => made.mock.calls.length === 4);
    expect(made).toHaveBeenCalledTimes(4);
    const keys = await Promise.all([1, 2, 3].map(() => generateKey(P256 as never, 'sha256')));
    // Three from the pool: nothing generated while they were asked for.
    expect(made).toHaveBeenCalledTimes(4);
    expect(new Set(keys.map((k) => k.pem)).size).toBe(3);
    await until(() => made.mock.calls.length === 7);
    expect(made).toHaveBeenCalledTimes(7);
    made.mockRestore();
  });

  it('waits until no key was asked for during the quiet time before making any', async () => {
    const made = jest.spyOn(webcrypto.subtle, 'generateKey');
    configureKeyPool(2, { quietMs: 600 });
    await generateKey(P256 as never, 'sha256');
    await new Promise((r) => setTimeout(r, 300));
    expect(made).toHaveBeenCalledTimes(1);
    await until(() => made.mock.calls.length === 3);
    expect(made).toHaveBeenCalledTimes(3);
    made.mockRestore();
  });

  it('makes nothing ahead with a pool of 0', async () => {
    const made = jest.spyOn(webcrypto.subtle, 'generateKey');
    configureKeyPool(0);
    await generateKey(P256 as never, 'sha256');
    await new Promise((r) => setTimeout(r, 100));
    expect(made).toHaveBeenCalledTimes(1);
    made.mockRestore();
  });

  it('reads the pool size from the environment, default 8, refusing other values', () => {
    expect(loadConfig({}).keyPool).toBe(8);
    expect(loadConfig({ ETCDFLEET_KEY_POOL: '0' }).keyPool).toBe(0);
    expect(() => loadConfig({ ETCDFLEET_KEY_POOL: '65' })).toThrow(/ETCDFLEET_KEY_POOL/);
    expect(() => loadConfig({ ETCDFLEET_KEY_POOL: 'lots' })).toThrow(/ETCDFLEET_KEY_POOL/);
  });
});
