// Certificate issuance for etcd clusters with mutual TLS.
//
// Profiles (all serials random 128-bit, notBefore 5 minutes back for clock skew):
// - CA: self-signed, subject C/O from spec.tls.subject and CN "<commonName>-ca";
//   BasicConstraints CA:true pathlen:0 and KeyUsage keyCertSign+cRLSign (both
//   critical), SKI/AKI; validity caDays; key spec.tls.caKey.
// - member server (etcd.pem) and peer (peer.pem): CN = member name, C/O from the
//   spec, SANs from memberSans, EKU serverAuth+clientAuth, KeyUsage
//   digitalSignature (+keyEncipherment for RSA); validity certDays, never past
//   the CA's notAfter; key spec.tls.leafKey.
// - admin: CN "etcdfleet-admin", C/O from the spec, EKU clientAuth only.
// Private keys are PKCS#8 PEM; the CA key is encrypted PKCS#8 when
// spec.tls.caKeyCipher is set. Every signature uses spec.tls.digest.
// Workflows carry only certificates and key ids (ClusterPki); the private keys
// live in the worker's key store (keystore.ts) and stored.ts bridges the two.
export type { ClusterPki, KeyedCert, MemberHostRefs, MemberPems, MemberPki, PemPair, PemPki, SignedClient } from './types';
export { issueClusterPki } from './issue';
export type { IssueClusterPkiInput } from './issue';
export { certificateInfo, memberPkiMatches, adminPkiMatches } from './inspect';
export type { CertificateInfo } from './inspect';
export { ADMIN_COMMON_NAME, caCommonName } from './certificates';
export { PKI_ERROR_TYPE } from './errors';
export { FileKeyStore, keyIdFor, keyStoreFor, publicKeyHash, type KeyStore } from './keystore';
export {
  issueStoredPki,
  issueRotatedStoredPki,
  keyIdsOf,
  loadHostPki,
  loadPki,
  pruneStoredKeys,
  renewStoredLeaves,
  savePki,
} from './stored';
export { createClientCsr, signClientCsr } from './csr';
