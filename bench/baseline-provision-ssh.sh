#!/usr/bin/env bash
# The "by hand" baseline for `BENCH_MODE=ssh npm run bench:provision`: what
# etcdfleet's ssh provider does to provision a TLS cluster on real hosts, done
# with bash, openssl, ssh and tar, host by host, as a plain script would.
#
#   bench/baseline-provision-ssh.sh <work-dir> <addr1,addr2,...> <bin-dir> <version> [cluster-name]
#
#   1. certificates with openssl, as bench/baseline-provision.sh (bench/lib/baseline.sh).
#   2. per host, one ssh call (root, the options in $SSH_OPTS): creates the
#      etcd user, untars the release into /opt/etcd/<version> with links in
#      /usr/local/bin, /etc/etcd/config.yaml, /etc/ssl/etcd/*.pem (0700/0600,
#      owner etcd), /var/lib/etcd (0700), /etc/systemd/system/etcd.service
#      (Type=notify, User=etcd), then `systemctl daemon-reload`, `enable` and
#      `start --no-block` (a member of a new cluster is only ready once its
#      peers are up, so a blocking start of the first host would never return).
#   3. waits until `etcdctl endpoint health` (run here) succeeds for all members.
#
# Lines starting with `phase ` give the time of each step in ms.
# Environment: SSH_OPTS (required: the ssh options, without the destination),
# HEARTBEAT_MS (100), ELECTION_MS (1000), HEALTH_TIMEOUT_S (120), HEALTH_POLL_S (0.1).
set -euo pipefail

if [ $# -lt 4 ]; then
  echo "usage: $0 <work-dir> <addr1,addr2,...> <bin-dir> <version> [cluster-name]" >&2
  exit 2
fi
work=$1
IFS=, read -r -a addrs <<<"$2"
bin=$3
version=$4
cluster=${5:-baseline}
read -r -a ssh_opts <<<"${SSH_OPTS:?SSH_OPTS is required}"

heartbeat=${HEARTBEAT_MS:-100}
election=${ELECTION_MS:-1000}
client_port=2379
peer_port=2380
metrics_port=2381
cn=etcd
health_timeout=${HEALTH_TIMEOUT_S:-120}
health_poll=${HEALTH_POLL_S:-0.1}

members=()
for i in "${!addrs[@]}"; do members+=("$cluster-$((i + 1))"); done
mkdir -p "$work"
work=$(cd "$work" && pwd)
pki=$work/pki
mkdir -p "$pki"

t_phase=$EPOCHREALTIME

# shellcheck source=lib/baseline.sh
. "$(dirname "$0")/lib/baseline.sh"

make_certs
phase certificates

initial_cluster=$(initial_cluster_of)

unit='[Unit]
Description=etcd key-value store
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
User=etcd
Group=etcd
ExecStart=/usr/local/bin/etcd --config-file /etc/etcd/config.yaml
Restart=on-failure
RestartSec=2s
TimeoutStartSec=0
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target'

# What runs on each host: the tar stream on stdin holds opt/ and etc/.
remote="set -e
id -u etcd >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /var/lib/etcd --shell /usr/sbin/nologin etcd
tar -C / --no-same-owner -xf -
for b in etcd etcdctl etcdutl; do [ -f /opt/etcd/$version/\$b ] && ln -sfn /opt/etcd/$version/\$b /usr/local/bin/\$b; done
mkdir -p /var/lib/etcd && chmod 700 /var/lib/etcd /etc/ssl/etcd && chmod 600 /etc/ssl/etcd/*-key.pem
chown -R etcd:etcd /var/lib/etcd /etc/ssl/etcd
systemctl daemon-reload && systemctl enable -q etcd && systemctl start --no-block etcd"

for i in "${!members[@]}"; do
  m=${members[$i]}
  stage=$work/$m
  certs=$stage/etc/ssl/etcd
  mkdir -p "$stage/etc/etcd" "$certs" "$stage/etc/systemd/system" "$stage/opt/etcd/$version"
  cp "$pki/ca.pem" "$certs/ca.pem"
  cp "$pki/$m-server.pem" "$certs/etcd.pem"
  cp "$pki/$m-server-key.pem" "$certs/etcd-key.pem"
  cp "$pki/$m-peer.pem" "$certs/peer.pem"
  cp "$pki/$m-peer-key.pem" "$certs/peer-key.pem"
  cp "$pki/admin.pem" "$certs/admin.pem"
  cp "$pki/admin-key.pem" "$certs/admin-key.pem"
  etcd_config "$m" "${addrs[$i]}" /etc/ssl/etcd /var/lib/etcd >"$stage/etc/etcd/config.yaml"
  echo "$unit" >"$stage/etc/systemd/system/etcd.service"
  for b in etcd etcdctl etcdutl; do
    [ -f "$bin/$b" ] || continue
    ln -f "$bin/$b" "$stage/opt/etcd/$version/$b" 2>/dev/null || cp "$bin/$b" "$stage/opt/etcd/$version/$b"
  done
  tar -C "$stage" -chf - etc opt | ssh "${ssh_opts[@]}" "root@${addrs[$i]}" "$remote"
done
phase hosts

endpoints=
for a in "${addrs[@]}"; do endpoints+="${endpoints:+,}https://$a:$client_port"; done
deadline=$((${EPOCHREALTIME%.*} + health_timeout))
attempts=0
until "$bin/etcdctl" --endpoints="$endpoints" --cacert="$pki/ca.pem" --cert="$pki/admin.pem" --key="$pki/admin-key.pem" \
  --dial-timeout=1s --command-timeout=5s endpoint health >/dev/null 2>&1; do
  attempts=$((attempts + 1))
  if [ "${EPOCHREALTIME%.*}" -ge "$deadline" ]; then
    echo "baseline: members not healthy after ${health_timeout}s ($attempts attempts)" >&2
    exit 1
  fi
  sleep "$health_poll"
done
phase health
echo "health attempts $((attempts + 1))"
