// issueClusterPki: the whole cluster's certificates in one idempotent call.
// Given what was issued before, it keeps everything that still fits the spec
// and issues only what is missing or changed; the CA is never replaced.
import { createPrivateKey, X509Certificate as NodeX509 } from 'node:crypto';
import type { ClusterSpec, MemberSpec } from '../../common/spec';
import { memberCommonName, memberSans } from '../../common/topology';
import { ADMIN_COMMON_NAME, createCaCertificate, issueLeafCertificate, issuerFrom, type Issuer, type LeafProfile } from './certificates';
import { pkiError } from './errors';
import { adminPkiMatches, memberPkiMatches } from './inspect';
import { generateKey, isEncryptedPem, loadPrivateKey, pkcs8Cipher, signingKey, toPkcs8Pem } from './keys';
import type { MemberPems, PemPair, PemPki } from './types';

export interface IssueClusterPkiInput {
  spec: ClusterSpec;
  /** What an earlier run issued; its CA is always reused. */
  existing?: PemPki;
  /** Encrypts a new CA key (spec.tls.caKeyCipher) and decrypts a stored encrypted one. */
  caPassphrase?: string;
}

/** A certificate as PEM with LF line ends and a final newline. */
export function pem(cert: { toString(format: 'pem'): string }): string {
  const s = cert.toString('pem').replace(/\r\n/g, '\n');
  return s.endsWith('\n') ? s : `${s}\n`;
}

interface CaMaterial {
  cert: string;
  /** In the form the spec asks for (plain or encrypted PKCS#8). */
  key: string;
  issuer: () => Promise<Issuer>;
}

function memoize<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

/**
 * Loads the stored CA: decrypts its key (so a wrong passphrase fails now, even
 * when nothing needs signing), checks key and certificate belong together, and
 * re-encodes the key only when the spec's cipher setting changed.
 */
function loadCa(stored: PemPki['ca'], spec: ClusterSpec, passphrase: string | undefined): CaMaterial {
  const tls = spec.tls;
  let cert: NodeX509;
  try {
    cert = new NodeX509(stored.cert);
  } catch (err) {
    throw pkiError(`the stored CA certificate is not a readable PEM certificate (${(err as Error).message})`);
  }
  if (!cert.ca) throw pkiError(`the stored CA certificate (${cert.subject.replace(/\n/g, ', ')}) is not a CA certificate`);
  const keyObject = loadPrivateKey(stored.key, passphrase, 'CA');
  if (!cert.checkPrivateKey(keyObject)) throw pkiError('the stored CA private key does not belong to the stored CA certificate');

  let key: string;
  if (tls.caKeyCipher) {
    key = pkcs8Cipher(stored.key) === tls.caKeyCipher ? stored.key : toPkcs8Pem(keyObject, tls.caKeyCipher, passphrase);
  } else {
    key = !isEncryptedPem(stored.key) && stored.key.includes('-----BEGIN PRIVATE KEY-----') ? stored.key : toPkcs8Pem(keyObject);
  }
  return {
    cert: stored.cert,
    key,
    issuer: memoize(async () => issuerFrom(stored.cert, await signingKey(keyObject, tls.digest, 'CA'))),
  };
}

async function createCa(spec: ClusterSpec, passphrase: string | undefined): Promise<CaMaterial> {
  const tls = spec.tls;
  const keys = await generateKey(tls.caKey, tls.digest);
  const cert = pem(await createCaCertificate({ subject: tls.subject, keys, digest: tls.digest, days: tls.caDays }));
  const key = tls.caKeyCipher ? toPkcs8Pem(createPrivateKey(keys.pem), tls.caKeyCipher, passphrase) : keys.pem;
  return { cert, key, issuer: memoize(() => issuerFrom(cert, keys.privateKey)) };
}

/**
 * Issues the cluster CA, the admin client certificate and every member's
 * server and peer certificates. With `existing`, reuses the CA, the admin
 * certificate and each member's certificates that still match the spec
 * (see memberPkiMatches); members no longer in the spec are dropped. All new
 * keys are generated concurrently.
 */
export async function issueClusterPki({ spec, existing, caPassphrase }: IssueClusterPkiInput): Promise<PemPki> {
  const tls = spec.tls;
  if (tls.caKeyCipher && !caPassphrase) {
    throw pkiError(`tls.caKeyCipher is ${tls.caKeyCipher}: a CA passphrase is required to encrypt the CA key`);
  }
  const now = new Date();

  // The stored CA is checked synchronously so a bad passphrase fails before any key is generated.
  const caMaterial: Promise<CaMaterial> = existing?.ca
    ? Promise.resolve(loadCa(existing.ca, spec, caPassphrase))
    : createCa(spec, caPassphrase);

  const issueLeaf = async (profile: LeafProfile, commonName: string, sans?: { dns: string[]; ips: string[] }): Promise<PemPair> => {
    // The leaf key is generated while the CA (if new) is still being made.
    const [key, ca] = await Promise.all([generateKey(tls.leafKey, tls.digest), caMaterial]);
    const cert = await issueLeafCertificate(await ca.issuer(), {
      profile,
      subject: tls.subject,
      commonName,
      publicKey: key.publicKey,
      sans,
      days: tls.certDays,
      digest: tls.digest,
      now,
    });
    return { cert: pem(cert), key: key.pem };
  };

  const issueMember = async (m: MemberSpec): Promise<MemberPems> => {
    const sans = memberSans(spec, m);
    const cn = memberCommonName(m);
    const [server, peer] = await Promise.all([issueLeaf('server', cn, sans), issueLeaf('peer', cn, sans)]);
    return { server, peer };
  };

  const admin: Promise<PemPair> =
    existing && adminPkiMatches(spec, existing, now) ? Promise.resolve(existing.admin) : issueLeaf('client', ADMIN_COMMON_NAME);
  const members = spec.members.map(async (m): Promise<[string, MemberPems]> => [
    m.name,
    existing && memberPkiMatches(spec, m.name, existing, now) ? existing.members[m.name] : await issueMember(m),
  ]);

  const [ca, adminPair, memberPairs] = await Promise.all([caMaterial, admin, Promise.all(members)]);
  return {
    ca: { cert: ca.cert, key: ca.key },
    admin: adminPair,
    members: Object.fromEntries(memberPairs),
  };
}
