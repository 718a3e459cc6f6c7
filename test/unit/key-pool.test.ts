import { configureKeyPool, generateKey, keyCounts } from '../../activities/pki/keys';
import { loadConfig } from '../../infra/config';

// Counted by the module itself, not by spying on webcrypto: jest runs every test file in one
// process (--runInBand), so another file's leftover key generation would count too.
const P256 = { algorithm: 'ecdsa', curve: 'P-256' } as const;
const until = async (ok: () => boolean) => {
  for (let i = 0; i < 1500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('keys made ahead (ETCDFLEET_KEY_POOL)', () => {
  let before: ReturnType<typeof keyCounts>;
  // Pools of other kinds set up by earlier files in this process (an in-process worker's RSA pools) would be
  // refilled first and hold up these tests' ECDSA keys: each test starts with no pool.
  // A key such a pool was still making is waited for (nothing new starts once the pools are dropped).
  beforeEach(async () => {
    configureKeyPool(0);
    for (let i = 0, last = -1; i < 50 && keyCounts().generated !== last; i++) {
      last = keyCounts().generated;
      await new Promise((r) => setTimeout(r, 300));
    }
    before = keyCounts();
  }, 30_000);
  afterEach(() => configureKeyPool(0));
  const made = () => keyCounts().generated - before.generated;
  const handedOut = () => keyCounts().pooledHandedOut - before.pooledHandedOut;

  // busyLoop 1: never too busy to refill (the event loop of a test process on a loaded CI machine may be).
  it('hands out keys made while idle, each once, and makes them again afterwards', async () => {
    configureKeyPool(3, { quietMs: 0, busyLoop: 1 });
    // The first ask of a kind is made on the spot and starts its pool.
    await generateKey(P256 as never, 'sha256');
    await until(() => made() === 4);
    expect(made()).toBe(4);
    const keys = await Promise.all([1, 2, 3].map(() => generateKey(P256 as never, 'sha256')));
    // Three from the pool: nothing generated while they were asked for.
    expect(made()).toBe(4);
    expect(handedOut()).toBe(3);
    expect(new Set(keys.map((k) => k.pem)).size).toBe(3);
    await until(() => made() === 7);
    expect(made()).toBe(7);
  }, 40_000);

  it('waits until no key was asked for during the quiet time before making any', async () => {
    configureKeyPool(2, { quietMs: 600, busyLoop: 1 });
    await generateKey(P256 as never, 'sha256');
    await new Promise((r) => setTimeout(r, 300));
    expect(made()).toBe(1);
    await until(() => made() === 3);
    expect(made()).toBe(3);
  }, 40_000);

  it('makes nothing ahead with a pool of 0, and stops making them when set to 0', async () => {
    configureKeyPool(0);
    await generateKey(P256 as never, 'sha256');
    await new Promise((r) => setTimeout(r, 400));
    expect(made()).toBe(1);
    expect(handedOut()).toBe(0);
    // A refill waiting for its quiet time is dropped by configureKeyPool(0).
    configureKeyPool(4, { quietMs: 200, busyLoop: 1 });
    await generateKey(P256 as never, 'sha256');
    configureKeyPool(0);
    await new Promise((r) => setTimeout(r, 600));
    expect(made()).toBe(2);
  });

  it('reads the pool size from the environment, default 8, refusing other values', () => {
    expect(loadConfig({}).keyPool).toBe(8);
    expect(loadConfig({ ETCDFLEET_KEY_POOL: '0' }).keyPool).toBe(0);
    expect(() => loadConfig({ ETCDFLEET_KEY_POOL: '65' })).toThrow(/ETCDFLEET_KEY_POOL/);
    expect(() => loadConfig({ ETCDFLEET_KEY_POOL: 'lots' })).toThrow(/ETCDFLEET_KEY_POOL/);
  });
});
