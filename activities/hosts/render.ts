// What every provider writes on a member's host, as content: the etcd
// config, the certificates, the etcdctl environment, the etcdctl wrapper and
// the certificate viewer. Providers only differ in where and how they write.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterSpec, MemberSpec } from '../../common/spec';
import { MemberFiles, clusterTopology } from '../../common/topology';
import { type ClusterState, renderEtcdConfig } from '../etcd/config';
import { shQuote } from './files';
import { findMember } from './members';
import type { PrepareMemberHostInput } from './provider';

export interface HostFileContent {
  path: string;
  content: string;
  mode: number;
  /** Private keys and certificates: owned by the etcd user where the provider has one. */
  secret?: boolean;
}

/** Refuses a TLS member without certificates (before anything is written). */
export function assertPki(input: Pick<PrepareMemberHostInput, 'spec' | 'member' | 'pki'>): void {
  if (input.spec.tls.enabled && !input.pki) {
    throw ApplicationFailure.nonRetryable(`member ${input.member}: TLS is enabled but no certificates were given`, 'MissingPki');
  }
}

/**
 * The files of a member's host with their content and mode, in write order
 * (config first). `files` are the paths where the provider writes them,
 * `etcdctl` the binary the wrapper runs, `clusterState` the state to write.
 */
export function memberHostFileSet(
  input: PrepareMemberHostInput,
  at: { files: MemberFiles; etcdctl: string; clusterState: ClusterState; provider: 'local' | 'ssh'; hostRoot?: string },
): HostFileContent[] {
  const { spec, member } = input;
  const m = findMember(spec, member);
  const { files } = at;
  assertPki(input);
  const config = renderEtcdConfig({
    spec,
    member,
    initialCluster: input.initialCluster,
    clusterState: at.clusterState,
    files,
    provider: at.provider,
    hostRoot: at.hostRoot,
  });
  const out: HostFileContent[] = [{ path: files.configFile, content: config, mode: 0o644 }];
  if (spec.tls.enabled && input.pki) {
    const { pki } = input;
    const pems: [string, string, number][] = [
      [files.caCert, pki.ca, 0o644],
      [files.serverCert, pki.server.cert, 0o644],
      [files.serverKey, pki.server.key, 0o600],
      [files.peerCert, pki.peer.cert, 0o644],
      [files.peerKey, pki.peer.key, 0o600],
      [files.clientCert, pki.admin.cert, 0o644],
      [files.clientKey, pki.admin.key, 0o600],
    ];
    for (const [file, pem, mode] of pems) out.push({ path: file, content: ensureNewline(pem), mode, secret: true });
  }
  out.push(
    { path: files.envFile, content: renderEnv(spec, m, files), mode: 0o644 },
    { path: files.etcdctlScript, content: renderEtcdctlScript(spec, member, files, at.etcdctl), mode: 0o755 },
    { path: files.certShowScript, content: renderCertShowScript(files), mode: 0o755 },
  );
  return out;
}

export function ensureNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

export function renderEnv(spec: ClusterSpec, m: MemberSpec, files: MemberFiles): string {
  // This member first: etcdctl commands that talk to one endpoint hit the local one.
  const topo = clusterTopology(spec);
  const endpoints = [...topo.filter((t) => t.name === m.name), ...topo.filter((t) => t.name !== m.name)].map((t) => t.clientURL);
  const lines = [
    `# etcdctl settings for cluster ${spec.name}, written on member ${m.name}. Sourced by etcdctl.sh.`,
    `ETCDCTL_API=3`,
    `ETCDCTL_ENDPOINTS=${shQuote(endpoints.join(','))}`,
  ];
  if (spec.tls.enabled) {
    lines.push(
      `ETCDCTL_CACERT=${shQuote(files.caCert)}`,
      `ETCDCTL_CERT=${shQuote(files.clientCert)}`,
      `ETCDCTL_KEY=${shQuote(files.clientKey)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function renderEtcdctlScript(spec: ClusterSpec, member: string, files: MemberFiles, etcdctl: string): string {
  return `#!/bin/sh
# etcdctl for cluster ${spec.name} with the endpoints and admin certificate
# of member ${member}. Examples:
#   ${files.etcdctlScript} endpoint health
#   ${files.etcdctlScript} member list -w table
set -a
. ${shQuote(files.envFile)}
set +a
exec ${shQuote(etcdctl)} "$@"
`;
}

export function renderCertShowScript(files: MemberFiles): string {
  const certs = [files.caCert, files.serverCert, files.peerCert, files.clientCert].map(shQuote).join(' ');
  return `#!/bin/sh
# Subject, subject alternative names and expiry of this member's certificates.
for f in ${certs}; do
  [ -f "$f" ] || continue
  echo "== $f"
  openssl x509 -in "$f" -noout -subject -enddate
  sans=$(openssl x509 -in "$f" -noout -ext subjectAltName 2>/dev/null | sed -n '2,$p' | sed 's/^ *//')
  echo "SANs=\${sans:-none}"
done
`;
}
