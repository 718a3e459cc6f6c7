#!/bin/sh
# The plain way to roll an etcd upgrade, for `npm run bench:upgrade` to
# compare against: member by member in the order given, stop the process,
# swap the binary symlinks to the new release, start it with the same config,
# wait until the member answers `etcdctl endpoint health`. No leader move, no
# snapshot, no gates beyond that health check.
#
# usage: baseline-upgrade.sh <cluster-hosts-dir> <version> <release-bin-dir> <member>=<clientURL>...
set -eu
root=$1
version=$2
bindir=$3
shift 3
for pair in "$@"; do
  m=${pair%%=*}
  url=${pair#*=}
  d=$root/$m
  pid=$(cat "$d/run/etcd.pid")
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  mkdir -p "$d/opt/etcd/$version"
  for b in etcd etcdctl etcdutl; do
    [ -f "$bindir/$b" ] || continue
    cp "$bindir/$b" "$d/opt/etcd/$version/$b"
    ln -sfn "../../../opt/etcd/$version/$b" "$d/usr/local/bin/$b"
  done
  cd "$d"
  setsid "$d/usr/local/bin/etcd" --config-file "$d/etc/etcd/config.yaml" >>"$d/var/log/etcd.log" 2>&1 &
  echo $! >"$d/run/etcd.pid"
  cd - >/dev/null
  until "$d/usr/local/bin/etcdctl" --endpoints="$url" --cacert="$d/etc/ssl/etcd/ca.pem" --cert="$d/etc/ssl/etcd/admin.pem" \
    --key="$d/etc/ssl/etcd/admin-key.pem" --command-timeout=2s endpoint health >/dev/null 2>&1; do
    sleep 0.1
  done
done
