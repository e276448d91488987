#!/usr/bin/env bash
# Runs every test. The Rust suites of the workspace need PostgreSQL on
# 127.0.0.1:5432 and use embedded SQLite. The published @prequel/react SDK
# runs against a release build, and docker-compose.yml is checked against
# the Compose Specification. Last, the embedding example (examples/) runs in
# headless Chromium (/usr/bin/chromium, Debian package chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

log "cargo test --workspace"
cargo test --locked --workspace

log "cargo build --release --locked --workspace"
cargo build --release --locked --workspace
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

log "SDK suite (@prequel/react)"
(
    cd tests/sdk
    npm ci --no-audit --no-fund
    SCOPEGATE_BIN="$target_dir/release/scopegate" npm test
)

log "docker-compose.yml against the Compose Specification schema"
(
    cd tests/deploy
    npm ci --no-audit --no-fund
    npm test
)

log "embedding example: build the page (examples/web)"
(
    cd examples/web
    npm ci --no-audit --no-fund
    npm run build
)

log "embedding example in Chromium (tests/e2e)"
(
    cd tests/e2e
    npm ci --no-audit --no-fund
    SCOPEGATE_BIN="$target_dir/release/scopegate" \
        PROXY_BIN="$target_dir/release/scopegate-backend-proxy" \
        npm test
)
