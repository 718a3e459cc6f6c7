#!/usr/bin/env bash
# The "by hand" baseline for bench/provision.ts: the same work etcdfleet does
# to provision a TLS cluster on the local provider, done directly with bash,
# openssl and the etcd release binaries, so the benchmark can say what the
# workflow machinery costs on top.
#
#   bench/baseline-provision.sh <work-dir> <addr1,addr2,...> <bin-dir> [cluster-name]
#
# What it does (what etcdfleet's provisioning does, minus Temporal):
#   1. certificates with openssl: a CA (RSA 2048, CN <cn>-ca, 3650 days) and,
#      signed by it, per member a server and a peer certificate (RSA 2048,
#      CN <member>, SANs DNS:<member>, IP:<addr>, IP:127.0.0.1, serverAuth +
#      clientAuth) and one admin client certificate (CN etcdfleet-admin,
#      clientAuth); SHA-256, 365 days, extensions as in activities/pki.
#      Keys are generated concurrently, as etcdfleet generates them concurrently.
#   2. per member the tree etcdfleet's local provider writes:
#      <work-dir>/<member>/etc/etcd/config.yaml (written here by bash, with the
#      keys activities/etcd/config.ts renders for 3.5), etc/ssl/etcd/*.pem,
#      var/lib/etcd (0700), var/log/etcd.log, run/etcd.pid.
#   3. starts every member's etcd (<bin-dir>/etcd --config-file ...) at once.
#   4. waits until `etcdctl endpoint health` succeeds for all members at once.
#
# On success the members keep running (the caller stops them by their
# run/etcd.pid and removes <work-dir>). On failure it prints the tail of each
# member's log, stops what it started and exits non-zero.
#
# Lines starting with `phase ` give the time of each step in ms (for the
# benchmark's breakdown).
#
# Environment: HEARTBEAT_MS (100), ELECTION_MS (1000), CLIENT_PORT (2379),
# PEER_PORT (2380), METRICS_PORT (2381), CN (etcd), HEALTH_TIMEOUT_S (60),
# HEALTH_POLL_S (0.1).
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 <work-dir> <addr1,addr2,...> <bin-dir> [cluster-name]" >&2
  exit 2
fi
work=$1
IFS=, read -r -a addrs <<<"$2"
bin=$3
cluster=${4:-baseline}

heartbeat=${HEARTBEAT_MS:-100}
election=${ELECTION_MS:-1000}
client_port=${CLIENT_PORT:-2379}
peer_port=${PEER_PORT:-2380}
metrics_port=${METRICS_PORT:-2381}
cn=${CN:-etcd}
health_timeout=${HEALTH_TIMEOUT_S:-60}
health_poll=${HEALTH_POLL_S:-0.1}

for b in etcd etcdctl; do
  [ -x "$bin/$b" ] || { echo "baseline: $bin/$b is not an executable" >&2; exit 2; }
done
command -v openssl >/dev/null || { echo "baseline: openssl not found" >&2; exit 2; }
[ ${#addrs[@]} -ge 1 ] || { echo "baseline: no member addresses" >&2; exit 2; }

members=()
for i in "${!addrs[@]}"; do members+=("$cluster-$((i + 1))"); done

mkdir -p "$work"
work=$(cd "$work" && pwd)
pki=$work/pki
mkdir -p "$pki"

started_pids=()
ok=0
on_exit() {
  local rc=$?
  if [ "$ok" != 1 ]; then
    for m in "${members[@]}"; do
      local log=$work/$m/var/log/etcd.log
      if [ -s "$log" ]; then
        echo "--- last lines of $log" >&2
        tail -n 20 "$log" >&2
      fi
    done
    # SIGTERM first; a leader whose peers stop too tries a leadership transfer
    # for up to 7 s, so whatever is left after 3 s gets SIGKILL.
    for p in "${started_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    local _
    for _ in $(seq 30); do
      local alive=0
      for p in "${started_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ "$alive" = 1 ] || break
      sleep 0.1
    done
    for p in "${started_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    [ "$rc" = 0 ] && rc=1
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

t_phase=$EPOCHREALTIME

# shellcheck source=lib/baseline.sh
. "$(dirname "$0")/lib/baseline.sh"

# ---------------------------------------------------------------- 1. certificates

make_certs
phase certificates

# ---------------------------------------------------------------- 2. member files

initial_cluster=$(initial_cluster_of)

for i in "${!members[@]}"; do
  m=${members[$i]}
  a=${addrs[$i]}
  root=$work/$m
  conf=$root/etc/etcd
  certs=$root/etc/ssl/etcd
  data=$root/var/lib/etcd
  mkdir -p "$conf" "$root/run" "$root/var/log" "$certs" "$data"
  chmod 0700 "$certs" "$data"
  cp "$pki/ca.pem" "$certs/ca.pem"
  cp "$pki/$m-server.pem" "$certs/etcd.pem"
  cp "$pki/$m-peer.pem" "$certs/peer.pem"
  cp "$pki/admin.pem" "$certs/admin.pem"
  (umask 077 && cp "$pki/$m-server-key.pem" "$certs/etcd-key.pem" \
    && cp "$pki/$m-peer-key.pem" "$certs/peer-key.pem" \
    && cp "$pki/admin-key.pem" "$certs/admin-key.pem")
  etcd_config "$m" "$a" "$certs" "$data" >"$conf/config.yaml"
done
phase files

# ---------------------------------------------------------------- 3. start members

endpoints=
for i in "${!members[@]}"; do
  m=${members[$i]}
  root=$work/$m
  # Own session, clean environment: as etcdfleet's local provider starts members.
  (cd "$root" && exec env -i PATH="$PATH" HOME="${HOME:-$root}" setsid "$bin/etcd" --config-file "$root/etc/etcd/config.yaml" \
    </dev/null >>"$root/var/log/etcd.log" 2>&1) &
  started_pids+=($!)
  echo $! >"$root/run/etcd.pid"
  endpoints+="${endpoints:+,}https://${addrs[$i]}:$client_port"
done
phase start

# ---------------------------------------------------------------- 4. wait for health

certs=$work/${members[0]}/etc/ssl/etcd
deadline=$(( ${EPOCHREALTIME%.*} + health_timeout ))
# First until every client port accepts connections: an etcdctl started
# before that gets "connection refused" and its gRPC client backs off for a
# second before dialling again, which would charge the baseline for etcdctl's
# back-off rather than for etcd.
for i in "${!members[@]}"; do
  until (exec 3<>"/dev/tcp/${addrs[$i]}/$client_port") 2>/dev/null; do
    kill -0 "${started_pids[$i]}" 2>/dev/null || { echo "baseline: etcd of ${members[$i]} exited" >&2; exit 1; }
    [ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || { echo "baseline: ${addrs[$i]}:$client_port not listening after ${health_timeout}s" >&2; exit 1; }
    sleep 0.02
  done
done
attempts=0
until "$bin/etcdctl" --endpoints="$endpoints" --cacert="$certs/ca.pem" --cert="$certs/admin.pem" --key="$certs/admin-key.pem" \
  --dial-timeout=1s --command-timeout=5s endpoint health >/dev/null 2>&1; do
  attempts=$((attempts + 1))
  for i in "${!started_pids[@]}"; do
    if ! kill -0 "${started_pids[$i]}" 2>/dev/null; then
      echo "baseline: etcd of ${members[$i]} exited" >&2
      exit 1
    fi
  done
  if [ "${EPOCHREALTIME%.*}" -ge "$deadline" ]; then
    echo "baseline: members not healthy after ${health_timeout}s ($attempts attempts)" >&2
    "$bin/etcdctl" --endpoints="$endpoints" --cacert="$certs/ca.pem" --cert="$certs/admin.pem" --key="$certs/admin-key.pem" \
      --dial-timeout=1s --command-timeout=5s endpoint health >&2 || true
    exit 1
  fi
  sleep "$health_poll"
done
phase health
echo "health attempts $((attempts + 1))"
ok=1
