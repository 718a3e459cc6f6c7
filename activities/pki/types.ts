// Shapes of the PKI material. Workflows import these as types only.

/** A certificate and its private key, both PEM; the key is PKCS#8. */
export interface PemPair {
  cert: string;
  key: string;
}

export interface MemberPki {
  /** etcd.pem / etcd-key.pem: client-facing listener. */
  server: PemPair;
  /** peer.pem / peer-key.pem: member-to-member traffic. */
  peer: PemPair;
}

export interface ClusterPki {
  /** key: PKCS#8 PEM, or encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY") when spec.tls.caKeyCipher is set. */
  ca: { cert: string; key: string };
  /** Client certificate for etcdctl and health checks, CN "etcdfleet-admin". */
  admin: PemPair;
  /** By member name. */
  members: Record<string, MemberPki>;
}
