# etcdfleet API and worker: one image, two commands (see docker-compose.yml).
#   docker build -t etcdfleet .
#   docker run ... etcdfleet node dist/worker/main.js
# The default command starts the API. The sources are compiled with tsc
# (tsconfig.build.json) and run by node itself: no TypeScript loader in
# production, whose stack and error handling differ from plain node's.
# Written for the classic builder too (no BuildKit-only syntax), so the v1
# docker-compose tool can build it.

ARG NODE_IMAGE=node:20-bookworm-slim

# The locked package list and npm settings both install stages share.
FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./

# Production dependencies only, installed exactly as locked. Native parts
# (the Temporal core bridge, swc, esbuild) come as prebuilt glibc binaries,
# so no compiler is needed.
FROM base AS deps
RUN npm ci --omit=dev && npm cache clean --force

# Compile to JavaScript: needs the dev dependencies (type packages), which
# stay out of the runtime image.
FROM base AS build
RUN npm ci
COPY . .
RUN npx tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS runtime
# The run-time packages of infra/apt.ts: openssl (cert-show.sh), procps and
# iproute2 (member process and loopback address checks of the local provider,
# whose hosts live in this container), ca-certificates (TLS to etcd release
# downloads and to S3), openssh-client (the ssh host provider).
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssl procps iproute2 ca-certificates openssh-client \
    && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    ETCDFLEET_STATE_DIR=/var/lib/etcdfleet \
    ETCDFLEET_CACHE_DIR=/var/lib/etcdfleet/cache \
    HOST=0.0.0.0 \
    PORT=8080

WORKDIR /app
# The application stays owned by root and read-only to the process; only the
# state directory (a volume in compose) is writable.
COPY --from=deps /app/node_modules ./node_modules
COPY . .
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/etcdfleet/cache && chown -R node:node /var/lib/etcdfleet

USER node
EXPOSE 8080
CMD ["node", "--enable-source-maps", "dist/api/main.js"]
