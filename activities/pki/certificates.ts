// Certificate profiles: the cluster CA, member server/peer certificates and
// the admin client certificate, built with @peculiar/x509 on node's webcrypto.
import { randomBytes } from 'node:crypto';
import { x509 } from './x509';
import type { TlsSpec } from '../../common/spec';
import { pkiError } from './errors';
import { WEBCRYPTO_HASH, type CryptoKey, type Digest } from './keys';

const DAY_MS = 86_400_000;
/** notBefore is backdated so hosts whose clocks run a little behind accept new certificates. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** RFC 5280 upper bound for commonName. */
const CN_MAX = 64;

export const ADMIN_COMMON_NAME = 'etcdfleet-admin';

export type Subject = TlsSpec['subject'];

/** 16 random bytes with the top bit clear: a positive 128-bit serial, always encoded in 16 bytes. */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

function attr(value: string, printableOnly = false): x509.JsonAttributeObject {
  if (printableOnly || /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)) return { printableString: value };
  return { utf8String: value };
}

/** C, O, CN in that order; values are taken literally (no DN-string escaping rules apply). */
export function distinguishedName(subject: Subject, commonName: string): x509.Name {
  const rdns: x509.JsonNameParams = [];
  if (subject.country) rdns.push({ C: [attr(subject.country, true)] });
  if (subject.organization) rdns.push({ O: [attr(subject.organization)] });
  rdns.push({ CN: [attr(commonName.slice(0, CN_MAX))] });
  return new x509.Name(rdns);
}

/** The CA's common name: `<subject.commonName>-ca` (the common name is cut so the result fits 64 characters). */
export function caCommonName(subject: Subject): string {
  return `${subject.commonName.slice(0, CN_MAX - 3)}-ca`;
}

type SigningAlgorithm = x509.X509CertificateCreateParamsBase['signingAlgorithm'];

function signingAlgorithm(key: CryptoKey, digest: Digest): SigningAlgorithm {
  const hash = WEBCRYPTO_HASH[digest];
  return (key.algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash } : { name: key.algorithm.name, hash }) as SigningAlgorithm;
}

export interface Issuer {
  cert: x509.X509Certificate;
  /** Signing key; an RSA key must have been imported/generated with the digest as its hash. */
  key: CryptoKey;
  /** keyIdentifier of the CA, copied into every leaf's AuthorityKeyIdentifier. */
  keyId: string;
  notAfter: Date;
}

export async function createCaCertificate(opts: {
  subject: Subject;
  keys: { publicKey: CryptoKey; privateKey: CryptoKey };
  digest: Digest;
  days: number;
  now?: Date;
}): Promise<x509.X509Certificate> {
  const now = opts.now ?? new Date();
  const ski = await x509.SubjectKeyIdentifierExtension.create(opts.keys.publicKey);
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: distinguishedName(opts.subject, caCommonName(opts.subject)),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + opts.days * DAY_MS),
    keys: opts.keys,
    signingAlgorithm: signingAlgorithm(opts.keys.privateKey, opts.digest),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ski,
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
}

/** Builds the issuer from a CA certificate (PEM) and its signing key. */
export async function issuerFrom(certPem: string, key: CryptoKey): Promise<Issuer> {
  const cert = new x509.X509Certificate(certPem);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski?.keyId ?? Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex');
  return { cert, key, keyId, notAfter: cert.notAfter };
}

export type LeafProfile = 'server' | 'peer' | 'client';

export interface LeafRequest {
  profile: LeafProfile;
  subject: Subject;
  commonName: string;
  publicKey: CryptoKey;
  sans?: { dns: string[]; ips: string[] };
  days: number;
  digest: Digest;
  now?: Date;
}

/**
 * Server and peer certificates carry serverAuth and clientAuth: etcd dials its
 * own client URLs (gateway, grpc-gateway) and peers are both ends of a
 * connection. The admin certificate is a client certificate only.
 */
export async function issueLeafCertificate(issuer: Issuer, req: LeafRequest): Promise<x509.X509Certificate> {
  const now = req.now ?? new Date();
  if (issuer.notAfter.getTime() <= now.getTime()) {
    throw pkiError(`the cluster CA expired on ${issuer.notAfter.toISOString()}; rotate the CA before issuing certificates`);
  }
  // A leaf never outlives its CA: a chain is only as valid as its shortest link.
  const notAfter = new Date(Math.min(now.getTime() + req.days * DAY_MS, issuer.notAfter.getTime()));
  const rsa = req.publicKey.algorithm.name !== 'ECDSA';
  const usages = rsa ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature;
  const eku =
    req.profile === 'client' ? [x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usages, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(req.publicKey),
    new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
  ];
  if (req.sans) {
    const names: x509.JsonGeneralNames = [
      ...req.sans.dns.map((value) => ({ type: 'dns' as const, value })),
      ...req.sans.ips.map((value) => ({ type: 'ip' as const, value })),
    ];
    if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  }
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(req.subject, req.commonName),
    issuer: issuer.cert.subjectName,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter,
    publicKey: req.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: signingAlgorithm(issuer.key, req.digest),
    extensions,
  });
}
