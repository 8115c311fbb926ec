#!/usr/bin/env bash
# Builds the Debian package with cargo-deb and checks it: lintian reports no errors, and apt
# can install it (dependencies resolve). Run by scripts/test.sh after the tests.
#   scripts/package.sh [--release]   (default: the dev profile's binary that `cargo test` built)
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
need=()
command -v lintian >/dev/null || need+=(lintian)
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
command -v strip >/dev/null || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if ! cargo deb --version >/dev/null 2>&1; then
  # About 5 minutes on 2 cores beside other builds (measured); once per machine.
  # Pinned: later versions may refuse the dev profile used here.
  cargo install --locked cargo-deb --version 3.8.0
fi

# The dev binary `cargo test` built: a release build would double the time in CI.
profile=(--profile dev)
[ "${1:-}" = "--release" ] && profile=()
rm -rf target/debian
cargo deb --locked "${profile[@]}"
deb=$(ls target/debian/*.deb)
echo "built $deb"
dpkg-deb --contents "$deb" | awk '{print $6}'

# lintian: no errors (warnings are printed for the reader).
lintian --fail-on error --tag-display-limit 0 "$deb"
# apt can install it on this machine: every dependency resolves.
$sudo apt-get install --simulate -qq "./$deb" >/dev/null
echo "package ok: $deb"
