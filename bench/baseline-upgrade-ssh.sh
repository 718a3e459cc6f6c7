#!/bin/sh
# The plain way to roll an etcd upgrade on ssh hosts, for
# `BENCH_MODE=ssh npm run bench:upgrade` to compare against: host by host in
# the order given, one ssh call (root, the options in $SSH_OPTS) that stops
# etcd.service, untars the new release into /opt/etcd/<version>, swaps the
# /usr/local/bin links and starts the unit again (Type=notify: it returns once
# etcd is ready), then `etcdctl endpoint health` on that member from here.
# No leader move, no snapshot, no gates beyond that health check.
#
# usage: baseline-upgrade-ssh.sh <version> <release-bin-dir> <certs-dir> <address>...
# (<certs-dir> holds ca.pem, admin.pem, admin-key.pem for etcdctl)
set -eu
version=$1
bindir=$2
certs=$3
shift 3
: "${SSH_OPTS:?SSH_OPTS is required}"
for a in "$@"; do
  # shellcheck disable=SC2086
  tar -C "$bindir" -cf - etcd etcdctl etcdutl | ssh $SSH_OPTS "root@$a" "set -e
systemctl stop etcd
mkdir -p /opt/etcd/$version && tar -C /opt/etcd/$version --no-same-owner -xf -
for b in etcd etcdctl etcdutl; do ln -sfn /opt/etcd/$version/\$b /usr/local/bin/\$b; done
systemctl start etcd"
  until "$bindir/etcdctl" --endpoints="https://$a:2379" --cacert="$certs/ca.pem" --cert="$certs/admin.pem" \
    --key="$certs/admin-key.pem" --command-timeout=2s endpoint health >/dev/null 2>&1; do
    sleep 0.1
  done
done
