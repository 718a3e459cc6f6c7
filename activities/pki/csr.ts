// Client certificates from CSRs: the requester (the API) generates the key
// pair and sends only a certificate signing request; the worker signs it with
// the CA key from the key store. The private key never crosses Temporal.
import { createPublicKey, KeyObject, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import type { ClusterSpec } from '../../common/spec';
import { ADMIN_COMMON_NAME, issueLeafCertificate, issuerFrom } from './certificates';
import { pkiError } from './errors';
import { pem } from './issue';
import { isEncryptedPem, keyParamsOf, loadPrivateKey, signingKey } from './keys';
import type { KeyStore } from './keystore';
import { storedKey } from './stored';
import type { KeyedCert } from './types';
import { x509 } from './x509';

const CLIENT_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A fresh ECDSA P-256 key pair (PKCS#8 PEM) and a CSR for it. */
export async function createClientCsr(commonName = ADMIN_COMMON_NAME): Promise<{ csr: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(CLIENT_KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonName] }],
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const key = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { csr: pem(csr), key };
}

const ALLOWED_CURVES = new Set(['P-256', 'P-384', 'P-521']);

async function csrPublicKey(csrPem: string): Promise<webcrypto.CryptoKey> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw pkiError(`not a readable PEM certificate signing request (${(err as Error).message})`);
  }
  if (!(await csr.verify())) throw pkiError('the CSR signature does not verify (no proof of possession of the key)');
  const spki = Buffer.from(csr.publicKey.rawData);
  const params = keyParamsOf(createPublicKey({ key: spki, format: 'der', type: 'spki' }));
  if (params?.algorithm === 'ecdsa' && ALLOWED_CURVES.has(params.curve)) {
    return webcrypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: params.curve }, true, ['verify']);
  }
  if (params?.algorithm === 'rsa' && params.rsaBits >= 2048) {
    return webcrypto.subtle.importKey('spki', spki, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['verify']);
  }
  throw pkiError('the CSR key must be ECDSA (P-256, P-384, P-521) or RSA of at least 2048 bits');
}

/**
 * Signs a CSR as a client certificate (CN etcdfleet-admin or the given etcd user, EKU
 * clientAuth, the spec's subject, digest and validity) with the CA whose key
 * is in the store. The CSR's subject and extensions are ignored: the profile is ours.
 */
export async function signClientCsr(input: {
  spec: ClusterSpec;
  ca: KeyedCert;
  csr: string;
  /** Default: the service's admin CN. */
  commonName?: string;
  store: KeyStore;
  caPassphrase: () => string;
}): Promise<string> {
  const { spec, ca, store } = input;
  const publicKey = await csrPublicKey(input.csr);
  const stored = await storedKey(store, ca);
  if (stored === undefined) throw pkiError(`the CA private key ${ca.keyId} is not in the key store`);
  const caKey = loadPrivateKey(stored, isEncryptedPem(stored) ? input.caPassphrase() : undefined, 'CA');
  if (!new NodeX509(ca.cert).checkPrivateKey(caKey)) throw pkiError('the stored CA private key does not belong to the CA certificate');
  const issuer = await issuerFrom(ca.cert, await signingKey(caKey, spec.tls.digest, 'CA'));
  const cert = await issueLeafCertificate(issuer, {
    profile: 'client',
    subject: spec.tls.subject,
    commonName: input.commonName ?? ADMIN_COMMON_NAME,
    publicKey,
    days: spec.tls.certDays,
    digest: spec.tls.digest,
  });
  return pem(cert);
}
