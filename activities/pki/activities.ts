// Certificate activities. Keys go to the worker's key store; results carry
// certificates and key ids only.
import type { ClusterSpec } from '../../common/spec';
import { caPassphrase, type Config } from '../../infra/config';
import { signClientCsr } from './csr';
import { configureKeyPool } from './keys';
import { keyStoreFor } from './keystore';
import { issueRotatedStoredPki, issueStoredPki, pruneStoredKeys, renewStoredLeaves } from './stored';
import type { ClusterPki, KeyedCert } from './types';

export function pkiActivities(cfg: Config) {
  const keys = keyStoreFor(cfg);
  configureKeyPool(cfg.keyPool);
  const passphrase = () => caPassphrase(cfg);
  return {
    /** A CA (unless `existing` has one) and every member's and the admin's certificates. */
    async issueCertificates({ spec, existing }: { spec: ClusterSpec; existing?: ClusterPki }): Promise<ClusterPki> {
      return issueStoredPki({ spec, existing, store: keys, caPassphrase: passphrase });
    },

    /** Forced renewal: new member and admin certificates from the same CA. */
    async renewCertificates({ spec, pki }: { spec: ClusterSpec; pki: ClusterPki }): Promise<ClusterPki> {
      return renewStoredLeaves({ spec, pki, store: keys, caPassphrase: passphrase });
    },

    /** A new CA and all leaves signed by it. */
    async issueRotatedCa({ spec }: { spec: ClusterSpec; pki: ClusterPki }): Promise<ClusterPki> {
      return issueRotatedStoredPki({ spec, store: keys, caPassphrase: passphrase });
    },

    /** An admin client certificate for a CSR (the requester holds the key), signed with the CA key from the store. */
    /** `commonName`: an etcd user's certificate (its CN is the user); default the service's admin CN. */
    async signClientCertificate({
      spec,
      ca,
      csr,
      commonName,
    }: {
      spec: ClusterSpec;
      ca: KeyedCert;
      csr: string;
      commonName?: string;
    }): Promise<{ cert: string }> {
      return { cert: await signClientCsr({ spec, ca, csr, commonName, store: keys, caPassphrase: passphrase }) };
    },

    /** Removes the cluster's stored keys that `keep` does not refer to; with no `keep`, all of them (purge). */
    async pruneClusterKeys({ cluster, keep }: { cluster: string; keep?: ClusterPki[] }): Promise<{ removed: number }> {
      if (!keep) return { removed: await keys.deletePrefix(`${cluster}/`) };
      return { removed: (await pruneStoredKeys(keys, cluster, keep)).length };
    },
  };
}
