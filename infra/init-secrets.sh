#!/bin/sh
# Writes the secret files infra/compose.yml mounts (compose `secrets:`), once: an existing file is
# kept, so re-running never rotates a key under a running mesh. Needs only node (for randomness).
#   sh infra/init-secrets.sh [DIR]        (default: infra/secrets beside this script)
# Files are 0600. The containers run as uid 10001 and compose bind-mounts file secrets with their
# host ownership, so when run as root the files are given to 10001; otherwise chown them yourself
# (sudo chown 10001:10001 infra/secrets/*) or the services cannot read them.
set -eu
dir="${1:-$(dirname "$0")/secrets}"
mkdir -p "$dir"
chmod 700 "$dir"
umask 077

# One random value: prefix + N random bytes in an encoding.
rand() { node -e "process.stdout.write('$1' + require('node:crypto').randomBytes($2).toString('$3'))"; }

make() {
  name="$1"
  shift
  if [ -s "$dir/$name" ]; then
    echo "kept    $dir/$name"
    return
  fi
  "$@" > "$dir/$name.tmp"
  echo >> "$dir/$name.tmp"
  mv "$dir/$name.tmp" "$dir/$name"
  chmod 600 "$dir/$name"
  echo "wrote   $dir/$name"
}

make master_token rand m3shd_master_ 32 base64url
make provenance_key rand "" 32 hex
make memory_service_token rand m3shd_mem_ 32 base64url
# A one-key KEK ring in the memory service's format (apps/memory, `kek generate`).
make memory_kek rand m3shd-kek-v1: 32 base64url

if [ "$(id -u)" = 0 ]; then
  chown 10001:10001 "$dir" "$dir"/* 2>/dev/null || true
fi
echo "Keep a copy of $dir/memory_kek and $dir/provenance_key offline: backups hold no keys."
