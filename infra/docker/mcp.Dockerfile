# syntax=docker/dockerfile:1
# m3shd-mcp over Streamable HTTP (port 7720, path /mcp); each MCP client's bearer token is checked
# by the hub. Health: the unauthenticated RFC 9728 metadata document. Build from the repository root:
#   docker build -f infra/docker/mcp.Dockerfile -t m3shd/mcp .
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
 && pnpm turbo run build --filter=@m3shd/mcp... --output-logs=errors-only \
 && pnpm --filter @m3shd/mcp deploy --prod --legacy /out \
 && sh infra/docker/prune.sh /out

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
USER 10001:10001
ENV M3SHD_MCP_HOST=0.0.0.0 \
    M3SHD_MCP_PORT=7720
EXPOSE 7720
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs", "http://127.0.0.1:7720/.well-known/oauth-protected-resource"]
CMD ["node", "dist/index.js", "http"]
