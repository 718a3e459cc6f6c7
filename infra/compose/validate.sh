#!/bin/sh
# Static checks of docker-compose.yml and its support files; needs no Docker
# engine. Exits non-zero on the first failure.
#
#   sh infra/compose/validate.sh
#
# 1. `docker-compose config -q` accepts the file (Debian's docker-compose is
#    installed when missing; also `docker compose` v2 when that plugin exists).
# 2. The required secrets really are required: without ETCDFLEET_API_TOKEN,
#    ETCDFLEET_CODEC_KEY or ETCDFLEET_CODEC_CAPABILITY the config is refused.
# 3. Every file the stack bind-mounts exists (the monitoring configs too), and the shell scripts parse.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
COMPOSE_FILE_PATH=docker-compose.yml

fail() {
  echo "compose-validate: FAIL: $*" >&2
  exit 1
}

if ! command -v docker-compose >/dev/null 2>&1; then
  echo "compose-validate: installing Debian's docker-compose" >&2
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    fail "docker-compose is missing and this user cannot install it"
  fi
  # --no-install-recommends: `config` needs no engine, so leave the engine package out.
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-compose >/dev/null \
    || fail "apt-get install docker-compose failed"
fi

# A project `.env` (or the caller's shell) must not decide the outcome, so the
# checks run with an empty env file and explicit values.
EMPTY_ENV=$(mktemp)
trap 'rm -f "$EMPTY_ENV"' EXIT
without_secrets() {
  env -u ETCDFLEET_API_TOKEN -u ETCDFLEET_CODEC_KEY -u ETCDFLEET_CODEC_CAPABILITY "$@"
}
TOKEN=validate-only-token
KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
CAP=validate-only-capability

echo "compose-validate: $(docker-compose version --short 2>/dev/null || docker-compose --version)"
without_secrets ETCDFLEET_API_TOKEN=$TOKEN ETCDFLEET_CODEC_KEY=$KEY ETCDFLEET_CODEC_CAPABILITY=$CAP \
  docker-compose --env-file "$EMPTY_ENV" -f "$COMPOSE_FILE_PATH" config -q \
  || fail "docker-compose config rejected $COMPOSE_FILE_PATH"

if without_secrets ETCDFLEET_CODEC_KEY=$KEY ETCDFLEET_CODEC_CAPABILITY=$CAP \
  docker-compose --env-file "$EMPTY_ENV" -f "$COMPOSE_FILE_PATH" config -q >/dev/null 2>&1; then
  fail "config accepted without ETCDFLEET_API_TOKEN"
fi
if without_secrets ETCDFLEET_API_TOKEN=$TOKEN ETCDFLEET_CODEC_CAPABILITY=$CAP \
  docker-compose --env-file "$EMPTY_ENV" -f "$COMPOSE_FILE_PATH" config -q >/dev/null 2>&1; then
  fail "config accepted without ETCDFLEET_CODEC_KEY"
fi
if without_secrets ETCDFLEET_API_TOKEN=$TOKEN ETCDFLEET_CODEC_KEY=$KEY \
  docker-compose --env-file "$EMPTY_ENV" -f "$COMPOSE_FILE_PATH" config -q >/dev/null 2>&1; then
  fail "config accepted without ETCDFLEET_CODEC_CAPABILITY"
fi

if docker compose version >/dev/null 2>&1; then
  without_secrets ETCDFLEET_API_TOKEN=$TOKEN ETCDFLEET_CODEC_KEY=$KEY ETCDFLEET_CODEC_CAPABILITY=$CAP \
    docker compose --env-file "$EMPTY_ENV" -f "$COMPOSE_FILE_PATH" config -q \
    || fail "docker compose (v2) rejected $COMPOSE_FILE_PATH"
  echo "compose-validate: docker compose v2 accepts it too"
fi

for f in Dockerfile .dockerignore \
  infra/compose/temporal/setup-postgres.sh \
  infra/compose/temporal/create-namespace.sh \
  infra/compose/temporal/dynamicconfig.yaml \
  infra/compose/minio/init.sh \
  deploy/prometheus/prometheus.yml \
  deploy/prometheus/alerts.yml \
  deploy/prometheus/targets/etcd.yml \
  deploy/grafana/provisioning/datasources/prometheus.yml \
  deploy/grafana/provisioning/dashboards/etcdfleet.yml \
  deploy/grafana/dashboards/etcdfleet.json; do
  [ -f "$f" ] || fail "missing $f"
done
for f in infra/compose/temporal/setup-postgres.sh infra/compose/temporal/create-namespace.sh infra/compose/minio/init.sh; do
  sh -n "$f" || fail "syntax error in $f"
done
# The build context must not carry host modules or local state into the image.
for pattern in node_modules .data .tools dist coverage .git; do
  awk -v p="$pattern" '$0 == p { found = 1 } END { exit !found }' .dockerignore \
    || fail ".dockerignore does not exclude $pattern"
done

echo "compose-validate: ok"
