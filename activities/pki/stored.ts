// The PKI as workflows see it: certificates and key ids. These functions are
// the only bridge between that and the PEM form issueClusterPki works on:
// they read private keys from the key store and put new ones there.
import { X509Certificate } from 'node:crypto';
import type { ClusterSpec } from '../../common/spec';
import { pkiError } from './errors';
import { issueClusterPki } from './issue';
import { isEncryptedPem } from './keys';
import { keyIdFor, type KeyStore } from './keystore';
import type { ClusterPki, KeyedCert, MemberHostRefs, PemPair, PemPki } from './types';

export interface StoredPkiInput {
  spec: ClusterSpec;
  store: KeyStore;
  /** Asked for only when a CA key is (or is to be) encrypted. */
  caPassphrase: () => string;
}

/**
 * The PEM of a reference. State written before the key store existed carries
 * the PEM itself (`key`): it is used as is, and the next issue stores it and
 * leaves only the reference.
 */
export async function storedKey(store: KeyStore, ref: KeyedCert): Promise<string | undefined> {
  const legacy = (ref as Partial<PemPair>).key;
  if (legacy) return legacy;
  return ref.keyId ? store.get(ref.keyId) : undefined;
}

async function requireKey(store: KeyStore, ref: KeyedCert, what: string): Promise<PemPair> {
  const key = await storedKey(store, ref);
  if (key === undefined) throw pkiError(`the ${what} private key ${ref.keyId} is not in the key store`);
  return { cert: ref.cert, key };
}

/** A leaf whose key is missing comes back without one, so issueClusterPki re-issues it. */
async function optionalKey(store: KeyStore, ref: KeyedCert | undefined): Promise<PemPair> {
  const key = ref ? await storedKey(store, ref) : undefined;
  return { cert: ref?.cert ?? '', key: key ?? '' };
}

/** The PEM form of a stored PKI (worker-side only). */
export async function loadPki(store: KeyStore, pki: ClusterPki): Promise<PemPki> {
  const members = await Promise.all(
    Object.entries(pki.members ?? {}).map(
      async ([name, m]) => [name, { server: await optionalKey(store, m.server), peer: await optionalKey(store, m.peer) }] as const,
    ),
  );
  return { ca: await requireKey(store, pki.ca, 'CA'), admin: await optionalKey(store, pki.admin), members: Object.fromEntries(members) };
}

/** Puts every private key in the store under `<cluster>/<purpose>/<public key hash>` and returns the references. */
export async function savePki(store: KeyStore, cluster: string, pems: PemPki): Promise<ClusterPki> {
  const save = async (purpose: string, pair: PemPair): Promise<KeyedCert> => {
    const keyId = keyIdFor(cluster, purpose, new X509Certificate(pair.cert).publicKey);
    await store.put(keyId, pair.key);
    return { cert: pair.cert, keyId };
  };
  const members = await Promise.all(
    Object.entries(pems.members).map(
      async ([name, m]) =>
        [name, { server: await save(`member/${name}/server`, m.server), peer: await save(`member/${name}/peer`, m.peer) }] as const,
    ),
  );
  return { ca: await save('ca', pems.ca), admin: await save('admin', pems.admin), members: Object.fromEntries(members) };
}

/**
 * issueClusterPki over the key store: reads the existing keys, issues what is
 * missing or changed, stores the new keys and returns references only.
 */
export async function issueStoredPki({
  spec,
  store,
  caPassphrase,
  existing,
}: StoredPkiInput & { existing?: ClusterPki }): Promise<ClusterPki> {
  const pems = existing && (await loadPki(store, existing));
  const encrypted = spec.tls.caKeyCipher !== undefined || (pems !== undefined && isEncryptedPem(pems.ca.key));
  const issued = await issueClusterPki({ spec, existing: pems, caPassphrase: encrypted ? caPassphrase() : undefined });
  return savePki(store, spec.name, issued);
}

/** New server, peer and admin certificates for every member, signed by the existing CA (kept byte for byte). */
export async function renewStoredLeaves(input: StoredPkiInput & { pki: ClusterPki }): Promise<ClusterPki> {
  // An existing PKI with no leaves: the CA is reused and everything else issued anew.
  const onlyCa: ClusterPki = { ca: input.pki.ca, admin: { cert: '', keyId: '' }, members: {} };
  return issueStoredPki({ ...input, existing: onlyCa });
}

/** A new CA and every leaf signed by it (the second CA of a CA rotation). */
export async function issueRotatedStoredPki(input: StoredPkiInput): Promise<ClusterPki> {
  return issueStoredPki(input);
}

/** One member host's files, with its private keys read from the store. */
export async function loadHostPki(
  store: KeyStore,
  refs: MemberHostRefs,
): Promise<{ ca: string; server: PemPair; peer: PemPair; admin: PemPair }> {
  const [server, peer, admin] = await Promise.all([
    requireKey(store, refs.server, 'server'),
    requireKey(store, refs.peer, 'peer'),
    requireKey(store, refs.admin, 'admin client'),
  ]);
  return { ca: refs.ca, server, peer, admin };
}

/** Every key id a PKI refers to. */
export function keyIdsOf(pki: ClusterPki): string[] {
  const ids = [pki.ca.keyId, pki.admin.keyId];
  for (const m of Object.values(pki.members ?? {})) ids.push(m.server.keyId, m.peer.keyId);
  return ids.filter(Boolean);
}

/** Removes the cluster's keys that none of `keep` refers to (superseded by a rotation, removed members). */
export async function pruneStoredKeys(store: KeyStore, cluster: string, keep: ClusterPki[]): Promise<string[]> {
  const wanted = new Set(keep.flatMap(keyIdsOf));
  const stale = (await store.list(`${cluster}/`)).filter((id) => !wanted.has(id));
  for (const id of stale) await store.delete(id);
  return stale;
}
