# syntax=docker/dockerfile:1
# M3SHD hub: the HTTP API, SSE and the operator dashboard. Build from the repository root:
#   docker build -f infra/docker/hub.Dockerfile -t m3shd/hub .
# ---- build: install, compile (better-sqlite3 from source), build, deploy the production closure
FROM node:20.20.2-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@10.34.8
ENV TURBO_TELEMETRY_DISABLED=1 CI=true
WORKDIR /src
# The whole workspace (.dockerignore leaves out node_modules, dist, data and .git): the lockfile
# and every package.json must be present for a frozen install.
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm turbo run build --filter=@m3shd/hub... --filter=@m3shd/dashboard --output-logs=errors-only \
 && pnpm --filter @m3shd/hub deploy --prod --legacy /out \
 && sh infra/docker/prune.sh /out \
 && cp -r apps/dashboard/dist /out/dashboard

# ---- runtime: plain node, no build tools, no dev dependencies, an unprivileged user
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production
# uid/gid 10001 in every M3SHD image, so files on the shared volumes belong to one user.
RUN groupadd --system --gid 10001 m3shd \
 && useradd --system --uid 10001 --gid m3shd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin m3shd
WORKDIR /app
# Owned by root and not writable by the service user: with a read-only root filesystem (compose
# read_only: true) the only writable places are the volumes and the /tmp tmpfs.
COPY --from=build /out /app
COPY infra/docker/healthcheck.mjs /app/healthcheck.mjs
# The one-shot `worker-tokens` step of infra/compose.yml runs on this image.
COPY scripts/local-worker-token.mjs scripts/mint-worker-tokens.mjs /app/scripts/
RUN mkdir -p /var/lib/m3shd /var/lib/m3shd-tokens && chown 10001:10001 /var/lib/m3shd /var/lib/m3shd-tokens
USER 10001:10001
ENV M3SHD_DATA_DIR=/var/lib/m3shd \
    M3SHD_HOST=0.0.0.0 \
    M3SHD_PORT=7700 \
    M3SHD_DASHBOARD_DIR=/app/dashboard
EXPOSE 7700
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "http://127.0.0.1:7700/api/health"]
CMD ["node", "dist/index.js"]
