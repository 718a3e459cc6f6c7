// Certificate rotation: fresh leaf certificates from the same CA (forced
// renewal, unlike issueClusterPki which keeps what still matches), and a
// whole new PKI (new CA) for CA rotation.
import type { ClusterSpec } from '../../common/spec';
import { issueClusterPki } from './issue';
import type { ClusterPki } from './types';

/** New server, peer and admin certificates for every member, signed by the existing CA (kept byte for byte). */
export async function renewLeafCertificates(input: { spec: ClusterSpec; pki: ClusterPki; caPassphrase?: string }): Promise<ClusterPki> {
  // An existing PKI with no leaves: issueClusterPki reuses the CA and issues everything else.
  const onlyCa: ClusterPki = { ca: input.pki.ca, admin: { cert: '', key: '' }, members: {} };
  return issueClusterPki({ spec: input.spec, existing: onlyCa, caPassphrase: input.caPassphrase });
}

/** A new CA and every leaf signed by it (the second CA of a CA rotation). */
export async function issueRotatedPki(input: { spec: ClusterSpec; caPassphrase?: string }): Promise<ClusterPki> {
  return issueClusterPki({ spec: input.spec, caPassphrase: input.caPassphrase });
}

/** ca.pem content trusting both CAs while clients and members move from one to the other. */
export function trustBundle(...cas: string[]): string {
  return cas.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join('');
}
