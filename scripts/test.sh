#!/usr/bin/env bash
# The project's test command (README, run by .ci/run on a fresh Debian machine): installs the
# system programs that tests drive for real when they are missing, then runs every test.
# A test that needs one of these programs never skips: it is installed here instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, as "command:package" pairs.
wanted=(
  # Folder pairs (tests/folders_*.rs): a loop-mounted ext4 drive unmounted mid-run, an
  # exFAT stick over FUSE, a real flock holder, immutable folders.
  mkfs.ext4:e2fsprogs
  chattr:e2fsprogs
  losetup:mount
  flock:util-linux
  mkfs.exfat:exfatprogs
  mount.exfat-fuse:exfat-fuse
  Xvfb:xvfb   # tests/window_process.rs opens the real window on a virtual display
  xdotool:xdotool   # and presses Enter (Sync now) in it
)

missing=()
for pair in "${wanted[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

exec cargo test --locked "$@"
