#!/bin/sh
# Build-time check, run in the image's tree: only production files are there (compiled code, no
# TypeScript sources, tests, benchmarks or docs; no development packages), the CLI loads from dist/,
# and the shipped configuration examples validate.
set -eu
fail() { echo "verify-build: $*" >&2; exit 1; }
[ -f dist/cli/main.js ] || fail "dist/cli/main.js missing (npm run build)"
for p in cli test bench docs scripts node_modules/tsx node_modules/esbuild node_modules/typescript node_modules/vitest; do
  [ ! -e "$p" ] || fail "$p must not be in the image"
done
sources=$(find . -path ./node_modules -prune -o \( -name '*.ts' -o -name '*.tsx' \) -print | grep -v '\.d\.ts$' | head -3)
[ -z "$sources" ] || fail "TypeScript sources in the image: $sources"
node bin/juki-gw.js --help >/dev/null
node bin/juki-gw.js config check
node bin/juki-gw.js config check deploy/config.example.yaml
