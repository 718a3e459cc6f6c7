# Certificates for the bench baselines (sourced by baseline-provision.sh and
# baseline-provision-ssh.sh): what etcdfleet's activities/pki issues, with
# openssl. A CA (RSA 2048, CN <cn>-ca, 3650 days) and, signed by it, per
# member a server and a peer certificate (RSA 2048, CN <member>, SANs
# DNS:<member>, IP:<addr>, IP:127.0.0.1, serverAuth + clientAuth) and one
# admin client certificate (CN etcdfleet-admin, clientAuth); SHA-256, 365 days.
# Keys are generated concurrently, as etcdfleet generates them concurrently.
#
# Needs: $pki (an existing directory), $cn, the arrays members and addrs.
# etcd_config <member> <addr> <certs-dir> <data-dir> prints the member's etcd
# config (the keys activities/etcd/config.ts renders for 3.5); it reads
# $cluster, $initial_cluster, $client_port, $peer_port, $metrics_port,
# $heartbeat and $election.
# make_certs writes $pki/{ca,admin,<member>-server,<member>-peer}{,-key}.pem.
# phase <name>: prints the ms since the previous phase ended ($t_phase, set by the script at its start).
phase() {
  local now=$EPOCHREALTIME
  echo "phase $1 $(((${now/./} - ${t_phase/./}) / 1000))"
  t_phase=$now
}

# initial_cluster_of: the member=peerURL list of the arrays members and addrs on $peer_port.
initial_cluster_of() {
  local i out=
  for i in "${!members[@]}"; do
    out+="${out:+,}${members[$i]}=https://${addrs[$i]}:$peer_port"
  done
  echo "$out"
}

# Waits for background jobs by pid, failing when any failed (plain `wait` would not).
wait_all() {
  local p rc=0
  for p in "$@"; do wait "$p" || rc=1; done
  return $rc
}

cat >"$pki/openssl.cnf" <<'EOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ member_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = ${ENV::SAN}
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
export SAN=unused

make_ca() {
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/ca-key.pem" 2>/dev/null
  openssl req -x509 -new -key "$pki/ca-key.pem" -sha256 -days 3650 -subj "/CN=$cn-ca" \
    -config "$pki/openssl.cnf" -extensions ca_ext -out "$pki/ca.pem"
}
# make_csr <name> <common name>: a new RSA 2048 key (PKCS#8) and its request.
make_csr() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$1-key.pem" -subj "/CN=$2" \
    -config "$pki/openssl.cnf" -out "$pki/$1.csr" 2>/dev/null
}
# sign <name> <extension section> [SANs]
sign() {
  SAN=${3:-unused} openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" \
    -sha256 -days 365 -extfile "$pki/openssl.cnf" -extensions "$2" -out "$pki/$1.pem" 2>/dev/null
}

make_certs() {
  jobs_=()
  make_ca & jobs_+=($!)
  make_csr admin etcdfleet-admin & jobs_+=($!)
  for m in "${members[@]}"; do
    make_csr "$m-server" "$m" & jobs_+=($!)
    make_csr "$m-peer" "$m" & jobs_+=($!)
  done
  wait_all "${jobs_[@]}"

  jobs_=()
  sign admin client_ext & jobs_+=($!)
  for i in "${!members[@]}"; do
    m=${members[$i]}
    san="DNS:$m,IP:${addrs[$i]},IP:127.0.0.1"
    sign "$m-server" member_ext "$san" & jobs_+=($!)
    sign "$m-peer" member_ext "$san" & jobs_+=($!)
  done
  wait_all "${jobs_[@]}"
}

etcd_config() {
  cat <<EOF
# etcd config for member $1 of cluster $cluster (bench baseline).
name: $1
data-dir: $4
listen-client-urls: https://$2:$client_port
advertise-client-urls: https://$2:$client_port
listen-peer-urls: https://$2:$peer_port
initial-advertise-peer-urls: https://$2:$peer_port
listen-metrics-urls: http://$2:$metrics_port
initial-cluster: $initial_cluster
initial-cluster-token: etcd-$cluster
initial-cluster-state: new
client-transport-security:
  cert-file: $3/etcd.pem
  key-file: $3/etcd-key.pem
  trusted-ca-file: $3/ca.pem
  client-cert-auth: true
  auto-tls: false
peer-transport-security:
  cert-file: $3/peer.pem
  key-file: $3/peer-key.pem
  trusted-ca-file: $3/ca.pem
  client-cert-auth: true
  auto-tls: false
heartbeat-interval: $heartbeat
election-timeout: $election
log-level: info
log-outputs:
  - stderr
logger: zap
enable-v2: false
experimental-initial-corrupt-check: true
experimental-compact-hash-check-enabled: true
EOF
}
