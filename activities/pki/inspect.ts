// Reading certificates back: a summary for humans and the API, and the checks
// that decide whether a stored certificate can be reused for the current spec.
import { createPrivateKey, X509Certificate as NodeX509 } from 'node:crypto';
import { x509 } from './x509';
import type { ClusterSpec, TlsSpec } from '../../common/spec';
import { memberCommonName, memberSans } from '../../common/topology';
import { describeKey, keyMatchesParams } from './keys';
import type { PemPair, PemPki } from './types';

export interface CertificateInfo {
  /** RFC 4514-style, e.g. "C=US, O=Acme, CN=etcd-1". */
  subject: string;
  issuer: string;
  /** "DNS:<name>" and "IP:<address>" entries, in certificate order. */
  sans: string[];
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** Lowercase hex. */
  serial: string;
  /** "RSA 2048", "ECDSA P-256", … */
  keyAlgorithm: string;
  /** OpenSSL's names: "sha256WithRSAEncryption", "ecdsa-with-SHA384", … */
  signatureAlgorithm: string;
}

const HASH_SUFFIX: Record<string, string> = { 'SHA-1': '1', 'SHA-256': '256', 'SHA-384': '384', 'SHA-512': '512' };

function signatureAlgorithmName(alg: { name: string; hash?: unknown }): string {
  const hash = alg.hash as { name?: string } | string | undefined;
  const hashName = typeof hash === 'string' ? hash : hash?.name;
  const bits = hashName ? HASH_SUFFIX[hashName.toUpperCase()] : undefined;
  if (alg.name === 'RSASSA-PKCS1-v1_5' && bits) return `sha${bits}WithRSAEncryption`;
  if (alg.name === 'ECDSA' && bits) return `ecdsa-with-SHA${bits}`;
  if (alg.name === 'RSA-PSS') return 'rsassaPss';
  return hashName ? `${alg.name}/${hashName}` : alg.name;
}

function sanEntries(cert: x509.X509Certificate): { type: string; value: string }[] {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return ext ? ext.names.items.map((n) => ({ type: n.type, value: n.value })) : [];
}

export function certificateInfo(pem: string): CertificateInfo {
  const cert = new x509.X509Certificate(pem);
  const node = new NodeX509(pem);
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    sans: sanEntries(cert).map((n) => `${n.type === 'ip' ? 'IP' : n.type === 'dns' ? 'DNS' : n.type}:${n.value}`),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    serial: cert.serialNumber.toLowerCase(),
    keyAlgorithm: describeKey(node.publicKey),
    signatureAlgorithm: signatureAlgorithmName(cert.signatureAlgorithm as { name: string; hash?: unknown }),
  };
}

function sameSet(a: string[], b: string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

/**
 * A stored certificate and key are reusable when they parse, belong together,
 * were signed by this CA, are still valid, carry the wanted extended key
 * usages and (when given) SANs, and the key has the spec's algorithm and size.
 */
export function pairIsReusable(
  pair: PemPair | undefined,
  ca: NodeX509,
  want: { key: TlsSpec['leafKey']; eku: string[]; sans?: { dns: string[]; ips: string[] }; commonName?: string; now?: Date },
): boolean {
  if (!pair?.cert || !pair.key) return false;
  try {
    const node = new NodeX509(pair.cert);
    if (!node.verify(ca.publicKey) || !node.checkIssued(ca)) return false;
    if (!node.checkPrivateKey(createPrivateKey(pair.key))) return false;
    if (!keyMatchesParams(node.publicKey, want.key)) return false;
    const now = (want.now ?? new Date()).getTime();
    if (new Date(node.validTo).getTime() <= now) return false;
    const cert = new x509.X509Certificate(pair.cert);
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    if (!eku || !want.eku.every((u) => eku.usages.includes(u))) return false;
    if (want.commonName !== undefined && cert.subjectName.getField('CN')[0] !== want.commonName.slice(0, 64)) return false;
    if (want.sans) {
      const names = sanEntries(cert);
      const dns = names.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase());
      const ips = names.filter((n) => n.type === 'ip').map((n) => n.value);
      if (
        !sameSet(
          dns,
          want.sans.dns.map((d) => d.toLowerCase()),
        ) ||
        !sameSet(ips, want.sans.ips)
      )
        return false;
    }
    return true;
  } catch {
    return false;
  }
}

export const SERVER_EKU = [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] as string[];
export const CLIENT_EKU = [x509.ExtendedKeyUsage.clientAuth] as string[];

function caCertificate(pki: PemPki): NodeX509 | undefined {
  try {
    return new NodeX509(pki.ca.cert);
  } catch {
    return undefined;
  }
}

/**
 * Whether a member's stored server and peer certificates still fit the spec:
 * same common name and SANs (`memberSans`) and leaf key parameters, signed by the cluster CA,
 * not expired, keys matching. False for members not in the spec or not in `pki`.
 * Digest, validity length and subject changes do not count: they apply to
 * certificates issued from now on (certificate rotation re-issues everything).
 */
export function memberPkiMatches(spec: ClusterSpec, memberName: string, pki: PemPki, now?: Date): boolean {
  const member = spec.members.find((m) => m.name === memberName);
  const stored = pki.members?.[memberName];
  const ca = pki.ca?.cert ? caCertificate(pki) : undefined;
  if (!member || !stored || !ca) return false;
  const want = { key: spec.tls.leafKey, eku: SERVER_EKU, sans: memberSans(spec, member), commonName: memberCommonName(member), now };
  return pairIsReusable(stored.server, ca, want) && pairIsReusable(stored.peer, ca, want);
}

/** Whether the stored admin client certificate can be reused with this CA and spec. */
export function adminPkiMatches(spec: ClusterSpec, pki: PemPki, now?: Date): boolean {
  const ca = pki.ca?.cert ? caCertificate(pki) : undefined;
  if (!ca) return false;
  return pairIsReusable(pki.admin, ca, { key: spec.tls.leafKey, eku: CLIENT_EKU, now });
}
