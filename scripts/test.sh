#!/usr/bin/env bash
# The test command: installs what is missing, checks formatting and lints, runs every test.
# Exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh test

# PostgreSQL tests run when 127.0.0.1:5432 answers and print SKIPPED lines when it does not.
# Start a local cluster if one is installed but stopped (no-op elsewhere).
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && command -v pg_ctlcluster >/dev/null 2>&1; then
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
fi

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
