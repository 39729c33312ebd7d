#!/usr/bin/env bash
# The main job: builds twofold and runs twofoldd on an embedded SQLite database under
# ./twofold-demo, with a demo web user and a demo OpenID Connect client. It prints where to look.
# Stop it with Ctrl-C; the state (database, keys, sockets) stays in ./twofold-demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh run
cargo build --release -p twofoldd -p twofoldctl -p pam_twofold
bin="${CARGO_TARGET_DIR:-target}/release"
echo
echo "twofoldctl:   $bin/twofoldctl --socket $PWD/twofold-demo/admin.sock users overview"
echo "PAM module:   $bin/libpam_twofold.so (see packaging/pam.d/ to wire it)"
echo
exec $bin/twofoldd --demo ./twofold-demo
