#!/usr/bin/env bash
# Runs every test: the Rust suites (PostgreSQL on 127.0.0.1:5432 and
# embedded SQLite), then the published @prequel/react SDK against a release
# build.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

log "cargo test"
cargo test --locked

log "cargo build --release"
cargo build --locked --release
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

log "SDK suite (@prequel/react)"
cd tests/sdk
npm ci --no-audit --no-fund
SCOPEGATE_BIN="$target_dir/release/scopegate" npm test
