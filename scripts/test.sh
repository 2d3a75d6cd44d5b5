#!/usr/bin/env bash
# Runs every check and test of Docket. The README's test command and CI (`.ci/run`) call this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "docket validate workflows/*.yaml"
cargo run --quiet --locked -p docket-api --bin docket -- validate workflows/*.yaml

step "all checks passed"
