#!/usr/bin/env bash
# The project's test command (README, run by .ci/run on a fresh Debian machine): installs the
# system programs that tests drive for real when they are missing, runs every test, then
# builds the Debian package and checks it (scripts/package.sh).
# A test that needs one of these programs never skips: it is installed here instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, as "command:package" pairs.
wanted=(
  dbus-daemon:dbus            # a private session bus for the running instance's tests
  gdbus:libglib2.0-bin        # calls the instance as other programs do
  Xvfb:xvfb                   # a real X server for the window, idle and tray tests
  xdotool:xdotool             # finds windows, moves the pointer (idle)
  import:imagemagick          # screenshots of the window and the tray
  status-notifier-watcher:haskell-status-notifier-item-utils  # a real tray watcher…
  gtk-sni-tray-standalone:haskell-gtk-sni-tray-utils          # …and a real tray host
  desktop-file-validate:desktop-file-utils  # the desktop entry's validator
  appstreamcli:appstream      # the metainfo's validator
  unshare:util-linux          # a user namespace with a low inotify watch limit
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

cargo test --locked "$@"
# The whole suite (no arguments) also builds the .deb and checks it (lintian, apt).
if [ $# -eq 0 ]; then
  scripts/package.sh
fi
