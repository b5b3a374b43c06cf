#!/bin/sh
# Shrinks a `pnpm deploy --prod` output ($1) to what `node dist/index.js` loads: the app's own
# TypeScript sources, tests and benches, source maps, type declarations, and better-sqlite3's
# compiler inputs and objects (its built binary, build/Release/better_sqlite3.node, stays).
# Run in the build stage of every image; the image tests run the pruned output the same way.
set -eu
out="${1:?usage: prune.sh <deploy-dir>}"
rm -rf "$out/src" "$out/test" "$out/bench" "$out/scripts" "$out"/*.ts "$out/tsconfig.json"
find "$out/node_modules" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.cts' -o -name '*.d.mts' \) -type f -delete
for dir in "$out"/node_modules/.pnpm/better-sqlite3@*/node_modules/better-sqlite3; do
  [ -d "$dir" ] || continue
  rm -rf "$dir/deps" "$dir/src" "$dir/build/deps" "$dir/build/Release/obj" "$dir/build/Release/obj.target" \
    "$dir/build/Release/.deps" "$dir/build/Release/test_extension.node" "$dir/build/Release/sqlite3.a"
done
