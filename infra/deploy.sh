#!/bin/sh
# Rolls the compose mesh (infra/compose.yml) to the code in this checkout, one service at a time.
#
#   sh infra/deploy.sh [--dry-run] [--skip-tests]
#
#   1. test gate    pnpm lint, pnpm typecheck, pnpm test: nothing is built from a red tree
#   2. secrets      infra/init-secrets.sh (keeps existing files)
#   3. images       the running images are tagged :previous, then every image is built anew
#   4. roll         each service in dependency order: recreated alone (--no-deps), then waited for
#                   until its HEALTHCHECK says healthy (--wait), then its health read back
#   5. roll back    on the first service that does not turn healthy: every service rolled so far
#                   (in reverse) goes back to its :previous image and is waited for again; exit 1
#
# --dry-run prints the plan (every command, prefixed "+ ") and runs nothing; infra/test/deploy.test.ts
# checks it. M3SHD_DEPLOY_SIMULATE_FAIL=<service> (dry run only) makes that service's health check
# fail, to show the rollback path. Run from anywhere: paths are relative to the repository root.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
dry=0
tests=1
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry=1 ;;
    --skip-tests) tests=0 ;;
    -h | --help)
      sed -n '2,19p' "$0"
      exit 0
      ;;
    *)
      echo "deploy.sh: unknown argument $arg" >&2
      exit 2
      ;;
  esac
done

compose="docker compose -f infra/compose.yml"
# Images this repository builds, and the services on them.
images="m3shd/memory m3shd/hub m3shd/dispatcher m3shd/mcp m3shd/worker"
# Dependency order (compose.yml's depends_on): memory before the hub that reaches it, the hub
# (which migrates the database) before the dispatcher, the MCP server and the workers' tokens.
# Redis is pulled at a pinned version and not rolled here; federation joins this list when it exists.
roll="memory hub dispatcher mcp worker-1 worker-2 backup"
rolled=""
step=0

say() {
  step=$((step + 1))
  echo "step $step: $*"
}
run() {
  echo "+ $*"
  if [ "$dry" = 0 ]; then "$@"; fi
}
healthy() {
  # $1: service. Its container's health as Docker reports it, after `up --wait` returned.
  if [ "$dry" = 1 ]; then
    echo "+ docker inspect --format {{.State.Health.Status}} \$($compose ps -q $1)"
    [ "${M3SHD_DEPLOY_SIMULATE_FAIL:-}" != "$1" ]
    return
  fi
  id=$($compose ps -q "$1")
  [ -n "$id" ] && [ "$(docker inspect --format '{{.State.Health.Status}}' "$id")" = healthy ]
}
up() {
  # $1: service. Recreate it alone and wait for its healthcheck (one-shots: for a clean exit).
  run $compose up -d --no-deps --wait --wait-timeout 180 "$1"
}

rollback() {
  failed="$1"
  echo "deploy: $failed did not turn healthy; rolling back: $rolled" >&2
  say "roll back to the :previous images"
  for image in $images; do
    # No :previous on a first deploy: nothing to go back to for that image.
    run docker image tag "$image:previous" "$image:local" || true
  done
  for service in $(echo "$rolled" | tr ' ' '\n' | sed '/^$/d' | sed -n '1!G;h;$p'); do
    say "roll back $service"
    up "$service" || true
    healthy "$service" || echo "deploy: $service is not healthy after the rollback either" >&2
  done
  exit 1
}

if [ "$dry" = 0 ] && ! docker compose version >/dev/null 2>&1; then
  echo "deploy.sh: needs the Docker daemon and the compose plugin (or use --dry-run)" >&2
  exit 2
fi

if [ "$tests" = 1 ]; then
  say "test gate"
  run pnpm install --frozen-lockfile
  run pnpm lint
  run pnpm typecheck
  run pnpm test
else
  echo "deploy: --skip-tests: no test gate" >&2
fi

say "secrets"
run sh infra/init-secrets.sh

say "keep the running images as :previous"
for image in $images; do
  if [ "$dry" = 1 ] || docker image inspect "$image:local" >/dev/null 2>&1; then
    run docker image tag "$image:local" "$image:previous"
  fi
done

say "build images"
run $compose build

say "redis"
run $compose up -d --wait redis

for service in $roll; do
  if [ "$service" = worker-1 ]; then
    say "worker tokens"
    run $compose run --rm --no-deps worker-tokens
  fi
  say "roll $service"
  rolled="$rolled $service"
  if ! up "$service" || ! healthy "$service"; then
    rollback "$service"
  fi
done

say "done"
run $compose ps
