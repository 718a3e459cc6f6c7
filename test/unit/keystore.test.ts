// The worker-side key store and the PKI over it: keys are encrypted at rest,
// owner-only, bound to their id, and workflows only ever see certificates and
// key ids.
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterSpec } from '../../common/spec';
import { keyStoreDir, keyStoreKey } from '../../infra/config';
import {
  ADMIN_COMMON_NAME,
  certificateInfo,
  createClientCsr,
  FileKeyStore,
  issueStoredPki,
  keyIdsOf,
  loadHostPki,
  loadPki,
  PKI_ERROR_TYPE,
  pruneStoredKeys,
  renewStoredLeaves,
  signClientCsr,
} from '../../activities/pki';

jest.setTimeout(60_000);

const PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
let root: string;
let seq = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'etcdfleet-keystore-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});
const newStore = (key = randomBytes(32)) => new FileKeyStore(join(root, `s${++seq}`), key);
const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('FileKeyStore', () => {
  it('round-trips a key, owner-only: directories 0700, files 0600', async () => {
    const store = newStore();
    await store.put('c1/member/m1/server/abc', PEM);
    expect(await store.get('c1/member/m1/server/abc')).toBe(PEM);
    expect(await store.get('c1/member/m1/server/other')).toBeUndefined();
    const file = join(store.dir, 'c1/member/m1/server/abc.key');
    expect(mode(file)).toBe(0o600);
    for (const d of ['', 'c1', 'c1/member', 'c1/member/m1', 'c1/member/m1/server']) expect(mode(join(store.dir, d))).toBe(0o700);
  });

  it('encrypts at rest: the file holds neither the PEM nor its base64 body', async () => {
    const store = newStore();
    await store.put('c1/ca/abc', PEM);
    const raw = fs.readFileSync(join(store.dir, 'c1/ca/abc.key'));
    expect(raw.includes('PRIVATE KEY')).toBe(false);
    expect(raw.includes('MIGHAgEAMBMGByqGSM49')).toBe(false);
    expect(raw.includes(Buffer.from('MIGHAgEAMBMGByqGSM49', 'base64'))).toBe(false);
  });

  it('detects tampering, a file moved to another id and a wrong store key', async () => {
    const key = randomBytes(32);
    const store = newStore(key);
    await store.put('c1/ca/abc', PEM);
    const file = join(store.dir, 'c1/ca/abc.key');
    const good = fs.readFileSync(file);

    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] ^= 1;
    fs.writeFileSync(file, flipped);
    await expect(store.get('c1/ca/abc')).rejects.toMatchObject({
      type: PKI_ERROR_TYPE,
      message: expect.stringMatching(/cannot be decrypted/),
    });

    fs.writeFileSync(file, good);
    fs.mkdirSync(join(store.dir, 'c2/ca'), { recursive: true });
    fs.copyFileSync(file, join(store.dir, 'c2/ca/abc.key'));
    await expect(store.get('c2/ca/abc')).rejects.toThrow(/cannot be decrypted/);

    await expect(new FileKeyStore(store.dir, randomBytes(32)).get('c1/ca/abc')).rejects.toThrow(/cannot be decrypted/);
    expect(await new FileKeyStore(store.dir, key).get('c1/ca/abc')).toBe(PEM);
  });

  it('put is idempotent: the same key again leaves the file untouched; new content replaces it', async () => {
    const store = newStore();
    await store.put('c1/ca/abc', PEM);
    const file = join(store.dir, 'c1/ca/abc.key');
    const first = fs.readFileSync(file);
    await store.put('c1/ca/abc', PEM);
    expect(fs.readFileSync(file).equals(first)).toBe(true); // a rewrite would have a new IV
    await store.put('c1/ca/abc', `${PEM}#`);
    expect(await store.get('c1/ca/abc')).toBe(`${PEM}#`);
    expect(fs.readdirSync(join(store.dir, 'c1/ca'))).toEqual(['abc.key']); // no temporary files left
  });

  it('refuses ids that could leave its directory', async () => {
    const store = newStore();
    for (const id of ['abc', '../x/y', 'c1/../../y', 'c1/./y', '/c1/y', 'c1//y', 'c1/y.key']) {
      await expect(store.put(id, PEM)).rejects.toThrow(/invalid key id/);
    }
  });

  it('lists and deletes by cluster prefix', async () => {
    const store = newStore();
    await store.put('c1/ca/a', PEM);
    await store.put('c1/member/m1/peer/b', PEM);
    await store.put('c10/ca/c', PEM);
    expect(await store.list('c1/')).toEqual(['c1/ca/a', 'c1/member/m1/peer/b']);
    expect(await store.delete('c1/ca/a')).toBe(true);
    expect(await store.delete('c1/ca/a')).toBe(false);
    expect(await store.deletePrefix('c1/')).toBe(1);
    expect(fs.existsSync(join(store.dir, 'c1'))).toBe(false);
    expect(await store.list('')).toEqual(['c10/ca/c']);
  });
});

describe('key store configuration', () => {
  it('generates a 32-byte key once into the state dir (0600) and takes ETCDFLEET_KEYSTORE_KEY when set', () => {
    const stateDir = join(root, `cfg${++seq}`);
    const a = keyStoreKey({ stateDir }, {});
    expect(a).toHaveLength(32);
    expect(mode(join(stateDir, 'keystore.key'))).toBe(0o600);
    expect(keyStoreKey({ stateDir }, {}).equals(a)).toBe(true);
    const b = randomBytes(32);
    expect(keyStoreKey({ stateDir }, { ETCDFLEET_KEYSTORE_KEY: b.toString('base64') }).equals(b)).toBe(true);
    expect(() => keyStoreKey({ stateDir }, { ETCDFLEET_KEYSTORE_KEY: 'c2hvcnQ=' })).toThrow(/not 32/);
    expect(keyStoreDir({ stateDir }, {})).toBe(join(stateDir, 'keys'));
  });
});

describe('the PKI over the key store', () => {
  const spec = ClusterSpec.parse({
    name: 'ks',
    version: 'v3.5.10',
    members: [
      { name: 'm1', address: '127.0.0.2' },
      { name: 'm2', address: '127.0.0.3' },
    ],
    tls: { leafKey: { algorithm: 'ecdsa' }, caKey: { algorithm: 'ecdsa' } },
  });
  const passphrase = () => 'correct horse battery staple';
  const spkiHash = (cert: string) =>
    createHash('sha256')
      .update(new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');

  it('returns certificates and key ids only; ids are <cluster>/<purpose>/<sha256 of the public key>', async () => {
    const store = newStore();
    const pki = await issueStoredPki({ spec, store, caPassphrase: passphrase });
    expect(JSON.stringify(pki)).not.toMatch(/PRIVATE KEY/);
    expect(pki.ca.keyId).toBe(`ks/ca/${spkiHash(pki.ca.cert)}`);
    expect(pki.admin.keyId).toBe(`ks/admin/${spkiHash(pki.admin.cert)}`);
    expect(pki.members.m1.server.keyId).toBe(`ks/member/m1/server/${spkiHash(pki.members.m1.server.cert)}`);
    expect(pki.members.m2.peer.keyId).toBe(`ks/member/m2/peer/${spkiHash(pki.members.m2.peer.cert)}`);
    expect((await store.list('ks/')).sort()).toEqual(keyIdsOf(pki).sort());
    const pems = await loadPki(store, pki);
    for (const pair of [pems.ca, pems.admin, pems.members.m1.server, pems.members.m2.peer]) {
      expect(new X509Certificate(pair.cert).checkPrivateKey(createPrivateKey(pair.key))).toBe(true);
    }
  });

  it('reissuing with the stored PKI keeps every id (idempotent); renewal keeps the CA and replaces the leaves; prune drops the old', async () => {
    const store = newStore();
    const pki = await issueStoredPki({ spec, store, caPassphrase: passphrase });
    const again = await issueStoredPki({ spec, store, caPassphrase: passphrase, existing: pki });
    expect(again).toEqual(pki);
    const renewed = await renewStoredLeaves({ spec, store, caPassphrase: passphrase, pki });
    expect(renewed.ca).toEqual(pki.ca);
    expect(renewed.members.m1.server.keyId).not.toBe(pki.members.m1.server.keyId);
    const removed = await pruneStoredKeys(store, 'ks', [renewed]);
    expect(removed.sort()).toEqual(
      keyIdsOf(pki)
        .filter((id) => id !== pki.ca.keyId)
        .sort(),
    );
    expect((await store.list('ks/')).sort()).toEqual(keyIdsOf(renewed).sort());
  });

  it('a leaf whose key is gone from the store is reissued; a missing CA key or member key is a PKI error', async () => {
    const store = newStore();
    const pki = await issueStoredPki({ spec, store, caPassphrase: passphrase });
    await store.delete(pki.members.m2.server.keyId);
    const fixed = await issueStoredPki({ spec, store, caPassphrase: passphrase, existing: pki });
    expect(fixed.members.m1).toEqual(pki.members.m1);
    expect(fixed.members.m2.server.keyId).not.toBe(pki.members.m2.server.keyId);
    const refs = { ca: pki.ca.cert, server: pki.members.m2.server, peer: pki.members.m2.peer, admin: pki.admin };
    await expect(loadHostPki(store, refs)).rejects.toMatchObject({
      type: PKI_ERROR_TYPE,
      message: expect.stringMatching(/server private key .* is not in the key store/),
    });
    await store.delete(pki.ca.keyId);
    await expect(issueStoredPki({ spec, store, caPassphrase: passphrase, existing: pki })).rejects.toThrow(
      /CA private key .* is not in the key store/,
    );
  });

  it('stores the CA key as encrypted PKCS#8 when tls.caKeyCipher is set', async () => {
    const store = newStore();
    const encrypted = ClusterSpec.parse({ ...spec, tls: { ...spec.tls, caKeyCipher: 'aes-256-cbc' } });
    const pki = await issueStoredPki({ spec: encrypted, store, caPassphrase: passphrase });
    expect(await store.get(pki.ca.keyId)).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(await store.get(pki.members.m1.server.keyId)).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect((await issueStoredPki({ spec: encrypted, store, caPassphrase: passphrase, existing: pki })).ca).toEqual(pki.ca);
  });

  it('signs an admin client CSR with the stored CA; the requester keeps the key', async () => {
    const store = newStore();
    const encrypted = ClusterSpec.parse({ ...spec, tls: { ...spec.tls, caKeyCipher: 'aes-256-cbc' } });
    const pki = await issueStoredPki({ spec: encrypted, store, caPassphrase: passphrase });
    const { csr, key } = await createClientCsr('anything the requester likes');
    expect(csr).toMatch(/BEGIN CERTIFICATE REQUEST/);
    const cert = await signClientCsr({ spec: encrypted, ca: pki.ca, csr, store, caPassphrase: passphrase });
    const x = new X509Certificate(cert);
    expect(x.checkIssued(new X509Certificate(pki.ca.cert))).toBe(true);
    expect(x.verify(new X509Certificate(pki.ca.cert).publicKey)).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(certificateInfo(cert).subject).toMatch(new RegExp(`CN=${ADMIN_COMMON_NAME}$`));
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
  });

  it('refuses a CSR that is unreadable or whose signature does not verify', async () => {
    const store = newStore();
    const pki = await issueStoredPki({ spec, store, caPassphrase: passphrase });
    await expect(signClientCsr({ spec, ca: pki.ca, csr: 'nope', store, caPassphrase: passphrase })).rejects.toMatchObject({
      type: PKI_ERROR_TYPE,
    });
    const { csr } = await createClientCsr();
    const body = csr.split('\n').slice(1, -2).join('');
    const der = Buffer.from(body, 'base64');
    der[der.length - 5] ^= 0xff; // inside the signature
    const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(signClientCsr({ spec, ca: pki.ca, csr: forged, store, caPassphrase: passphrase })).rejects.toThrow(
      /does not verify|not a readable/,
    );
  });
});

describe('state from before the key store', () => {
  it('takes a PEM carried in the reference itself and stores it on the next issue', async () => {
    const store = newStore();
    const spec = ClusterSpec.parse({
      name: 'old',
      version: 'v3.5.10',
      members: [{ name: 'm1', address: '127.0.0.2' }],
      tls: { leafKey: { algorithm: 'ecdsa' }, caKey: { algorithm: 'ecdsa' } },
    });
    const pki = await issueStoredPki({ spec, store, caPassphrase: () => 'x' });
    const pems = await loadPki(store, pki);
    await store.deletePrefix('old/');
    // What an entity started by an earlier version holds: PEM keys, no key ids.
    const legacy = JSON.parse(JSON.stringify(pems)) as never;
    const migrated = await issueStoredPki({ spec, store, caPassphrase: () => 'x', existing: legacy });
    expect(migrated).toEqual(pki);
    expect(JSON.stringify(migrated)).not.toMatch(/PRIVATE KEY/);
    expect((await store.list('old/')).sort()).toEqual(keyIdsOf(pki).sort());
  });
});
