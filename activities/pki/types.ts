// Shapes of the PKI material. Workflows import these as types only.
//
// Two forms: what workflows carry (`ClusterPki`: public certificates and key
// ids, references into the worker's key store) and what activities work with
// inside the worker (`PemPki`: the same with the PEM private keys). The PEM
// form never leaves an activity.

/** A certificate and its private key, both PEM; the key is PKCS#8. Worker-side only. */
export interface PemPair {
  cert: string;
  key: string;
}

/** A certificate (PEM) and the id of its private key in the key store. */
export interface KeyedCert {
  cert: string;
  keyId: string;
}

export interface MemberPki {
  /** etcd.pem / etcd-key.pem: client-facing listener. */
  server: KeyedCert;
  /** peer.pem / peer-key.pem: member-to-member traffic. */
  peer: KeyedCert;
}

/** The cluster's PKI as workflows hold it: certificates and key references only. */
export interface ClusterPki {
  /** The stored key is PKCS#8 PEM, or encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY") when spec.tls.caKeyCipher is set. */
  ca: KeyedCert;
  /** Client certificate for etcdctl and health checks, CN "etcdfleet-admin". */
  admin: KeyedCert;
  /** By member name. */
  members: Record<string, MemberPki>;
}

export interface MemberPems {
  server: PemPair;
  peer: PemPair;
}

/** The PKI with its private keys (PEM): inside activities only. */
export interface PemPki {
  /** key: PKCS#8 PEM, or encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY") when spec.tls.caKeyCipher is set. */
  ca: PemPair;
  admin: PemPair;
  members: Record<string, MemberPems>;
}

/** What one member's host is given: trust (one CA or a bundle) and its own leaves, as key references. */
export interface MemberHostRefs {
  ca: string;
  server: KeyedCert;
  peer: KeyedCert;
  admin: KeyedCert;
}

/** A client certificate signed from a CSR (the requester keeps its private key). */
export interface SignedClient {
  /** CA certificate(s) to trust. */
  ca: string;
  cert: string;
}
