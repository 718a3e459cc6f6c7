#!/bin/sh
# Entry point behind `npm start`, `npm run worker`, `npm test`, `npm run bootstrap` and the
# benchmarks: installs what is missing (npm packages, the Temporal CLI, etcd
# releases), then runs the command. Every step is cached, so a second run is fast.
set -eu
cd "$(dirname "$0")/.."

cmd=${1:-}
[ $# -gt 0 ] && shift

# npm packages: reinstalled only when package-lock.json changed.
stamp=node_modules/.etcdfleet-lock
want=$(sha256sum package-lock.json | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

bin=node_modules/.bin
case "$cmd" in
  start)
    "$bin/tsx" infra/bootstrap.ts all
    # The service runs as plain JavaScript under node (dist/, incremental build),
    # not through the tsx loader the tools and tests use.
    echo "==> building (tsc -p tsconfig.build.json)"
    "$bin/tsc" -p tsconfig.build.json
    exec node --enable-source-maps dist/infra/start.js "$@"
    ;;
  worker)
    # A worker only: no API, no Temporal dev server. It joins the Temporal at
    # TEMPORAL_ADDRESS (default 127.0.0.1:7233, e.g. an `npm start` on this
    # machine) and needs the same codec key, state (key store, secrets) and
    # configuration as the other workers and the API.
    "$bin/tsx" infra/bootstrap.ts worker
    echo "==> building (tsc -p tsconfig.build.json)"
    "$bin/tsc" -p tsconfig.build.json
    exec node --enable-source-maps dist/worker/main.js "$@"
    ;;
  test)
    "$bin/tsx" infra/bootstrap.ts test
    echo "==> type-checking"
    "$bin/tsc" --noEmit -p tsconfig.json
    echo "==> running tests"
    # --forceExit: a handle a failed test left open must not keep CI waiting (cleanup runs in afterAll either way).
    # infra/test-run.ts: the run's temp dirs under one dir, removed at the end (a crashed run's by the next run).
    exec node --import tsx infra/test-run.ts "$bin/jest" --runInBand --forceExit --json \
      --outputFile="${ETCDFLEET_TEST_RESULTS:-test-results.json}" "$@"
    ;;
  bootstrap)
    exec "$bin/tsx" infra/bootstrap.ts "$@"
    ;;
  bench)
    "$bin/tsx" infra/bootstrap.ts all
    exec "$bin/tsx" "$@"
    ;;
  *)
    echo "usage: infra/run.sh start|worker|test|bootstrap|bench <file>" >&2
    exit 2
    ;;
esac
