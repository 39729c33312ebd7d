#!/usr/bin/env bash
# Installs the Debian 12 packages twofold needs to build and to run its tests.
# Usage: install-deps.sh [run|test]   (run: only what building and running need; test: everything)
# Idempotent; run as root (or with sudo). Rust (cargo ≥ 1.88) must already be on PATH.
set -euo pipefail
profile="${1:-test}"

run_packages=(build-essential pkg-config libpam0g-dev)
test_packages=(
  # build
  build-essential pkg-config libpam0g-dev
  # PAM tests: real libpam, pamtester, a real sshd and ssh client, expect/paramiko, the peer module
  libpam-modules libpam-runtime pamtester openssh-server openssh-client expect python3-paramiko
  libpam-google-authenticator oathtool util-linux procps iproute2
  # delivery tests: a real SMTP server
  python3-aiosmtpd openssl ca-certificates
  # web tests: headless Chromium, Node for the independent OIDC relying party
  chromium chromium-driver curl
  # PostgreSQL client tools (the server is optional; its tests skip when it is not reachable)
  postgresql-client
)
packages=("${run_packages[@]}")
[ "$profile" = test ] && packages+=("${test_packages[@]}")
# Node.js for the independent OIDC relying party: Debian's nodejs and npm, unless a Node.js with
# npm is already installed (a NodeSource build bundles npm and conflicts with Debian's npm).
if [ "$profile" = test ] && ! { command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; }; then
  packages+=(nodejs npm)
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: not root; skipping apt-get (install these yourself: ${packages[*]})" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo is not on PATH; install Rust ≥ 1.88 (rustup) and re-run" >&2
  exit 1
fi
