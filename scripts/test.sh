#!/usr/bin/env bash
# The test command: installs what is missing, checks formatting and lints, runs every test.
# Exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh test

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

echo "== cargo build (binaries and the PAM module the tests load)"
cargo build --workspace --bins --lib

echo "== cargo test (debug)"
cargo test --workspace --all-features -- --test-threads=2

echo "== cargo test --release for the PAM module"
cargo test --release -p pam_twofold
