// What the local provider writes into a member's conf dir besides the config:
// the etcdctl environment, the etcdctl wrapper and the certificate viewer.
import type { ClusterSpec, MemberSpec } from '../../../common/spec';
import { MemberFiles, clusterTopology } from '../../../common/topology';
import { shQuote } from '../files';

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
