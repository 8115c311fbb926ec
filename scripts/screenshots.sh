#!/usr/bin/env bash
# Screenshots of the window for docs/screenshots: the logon dialog of the demo handler, the
# results once it is done, conflicts, and the main window during a 20,000-file folder pair
# sync with Results listing its changed files, and a preview.
# Runs under Xvfb (see shared/tools/screenshot.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
shots=docs/screenshots
tool=${SCREENSHOT_TOOL:-/work/shared/tools/screenshot.sh}

# Mesa's software OpenGL, for eframe's glow renderer on a display without a GPU.
if ! ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1 || ! ldconfig -p | grep 'libEGL.so.1' >/dev/null; then
  apt-get update -qq >/dev/null && apt-get install -y -qq libgl1-mesa-dri libegl1 libgl1 >/dev/null
fi

# SYNCCENTER_BIN=target/debug/synccenter takes the binary the tests built instead.
bin=${SYNCCENTER_BIN:-./target/release/synccenter}
[ -n "${SYNCCENTER_BIN:-}" ] || cargo build --release --bin synccenter

home=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$home" "$work"' EXIT
# With no window manager nobody gives the window the keyboard: xdotool does, once it shows.
# A private XDG data folder: the window's remembered size, tab and theme start fresh.
export XDG_DATA_HOME="$work/xdg"
run="SYNCCENTER_DEMO=1 SYNCCENTER_DEMO_STEP_MS=400 $bin --home $home & \
  xdotool search --sync --name 'Sync Center' windowfocus; wait"

# Click Sync now; the
# demo asks for the mail password first; type it, Enter logs on, and the sync runs.
"$tool" "$work/sc" "$run" \
  wait:4 click:55,20 wait:2 shot:logon \
  type:demo key:Return wait:35 click:93,50 wait:1 shot:results

# Conflicts, seeded in the store's conflicts file: the Conflicts tab with both versions.
conflicts_home=$(mktemp -d)
trap 'rm -rf "$home" "$work" "$conflicts_home"' EXIT
mkdir -p "$conflicts_home/data"
python3 - "$conflicts_home/data/conflicts.json" <<'PY'
import json, sys, time
now = int(time.time() * 1000)
def side(label, where, size, modified):
    return {"label": label, "location": where, "exists": size is not None, "is_dir": False,
            "size": size, "modified": modified}
json.dump([
    {"item": {"handler": "demo", "item": "photos"}, "item_name": "Photos",
     "id": "IMG_0042.jpg", "path": "Holiday/IMG_0042.jpg",
     "left": side("This computer", "/home/ann/Pictures", 2400000, now - 3600000),
     "right": side("Server", "photos.example.org", 2100000, now - 600000),
     "detected": now - 300000, "resolution": None},
    {"item": {"handler": "demo", "item": "contacts"}, "item_name": "Contacts",
     "id": "bob.vcf", "path": "bob.vcf",
     "left": side("This computer", "/home/ann/Contacts", 812, now - 7200000),
     "right": side("Server", "dav.example.org", None, None),
     "detected": now - 200000, "resolution": None},
], open(sys.argv[1], "w"))
PY
"$tool" "$work/sc" "SYNCCENTER_DEMO=1 $bin --home $conflicts_home & \
  xdotool search --sync --name 'Sync Center' windowfocus; wait" \
  wait:4 click:163,50 wait:1 shot:conflicts

# Folder pairs: a 20,000-file first sync (mktree.py) beside a small pair. The main window while
# it copies (files, bytes, speed), then Results with the big pair's changed files opened.
pairs_home=$(mktemp -d)
pairs=$(mktemp -d)
trap 'rm -rf "$home" "$work" "$conflicts_home" "$pairs_home" "$pairs"' EXIT
python3 "${MKTREE:-../shared/tools/mktree.py}" "$pairs/Pictures" 20000
mkdir -p "$pairs/Backup/Pictures" "$pairs/Notes" "$pairs/Backup/Notes"
for n in 1 2 3; do echo "note $n" >"$pairs/Notes/note-$n.txt"; done
$bin --home "$pairs_home" folder add Pictures "$pairs/Pictures" "$pairs/Backup/Pictures" >/dev/null
$bin --home "$pairs_home" folder add Notes "$pairs/Notes" "$pairs/Backup/Notes" >/dev/null
# Enter is Sync now (the shot is taken while it copies: PAIRS_WAIT seconds later); the Results
# tab, then "Changed files of Pictures".
# At 1280×720 the status column has room for files, bytes, speed and the file's name.
"$tool" "$work/sc" "$bin --home $pairs_home & \
  xdotool search --sync --name 'Sync Center' windowsize 1280 720 windowfocus; wait" \
  wait:6 key:Return wait:${PAIRS_WAIT:-1.8} shot:pairs \
  wait:40 click:93,50 wait:1 click:${FILES_X:-170},${FILES_Y:-187} wait:2 shot:activity

# Preview: a small pair synced once, then changed on both sides; the toolbar's Preview.
preview_home=$(mktemp -d)
preview=$(mktemp -d)
trap 'rm -rf "$home" "$work" "$conflicts_home" "$pairs_home" "$pairs" "$preview_home" "$preview"' EXIT
mkdir -p "$preview/Documents/Docs" "$preview/Backup"
for n in 1 2 3; do echo "report $n" >"$preview/Documents/Docs/report$n.txt"; done
echo photo >"$preview/Backup/beach.jpg"
$bin --home "$preview_home" folder add Documents "$preview/Documents" "$preview/Backup" >/dev/null
$bin --home "$preview_home" sync Documents --no-prompt >/dev/null
echo new >"$preview/Documents/new.txt"
echo "changed on the right" >"$preview/Backup/Docs/report2.txt"
rm "$preview/Documents/Docs/report3.txt"
mv "$preview/Backup/beach.jpg" "$preview/Backup/holiday.jpg"
"$tool" "$work/sc" "$bin --home $preview_home & \
  xdotool search --sync --name 'Sync Center' windowfocus; wait" \
  wait:4 click:210,20 wait:2 shot:preview

# The window at 640×400 during a sync: a click on a name selects its row and gives the list
# the keyboard, Enter is Sync now, then the demo password; the selected row keeps its bar
# and, with the list focused again, its focus ring.
small_home=$(mktemp -d)
trap 'rm -rf "$home" "$work" "$conflicts_home" "$pairs_home" "$pairs" "$preview_home" "$preview" "$small_home"' EXIT
"$tool" "$work/sc" "SYNCCENTER_DEMO=1 SYNCCENTER_DEMO_STEP_MS=400 $bin --home $small_home & \
  xdotool search --sync --name 'Sync Center' windowfocus windowsize 640 400; wait" \
  wait:4 click:95,179 key:Return wait:2 \
  type:demo key:Return wait:2 click:95,179 wait:1 shot:small

# The window sits at the top left of the virtual screen: keep just the window.
crop() {
  python3 - "$1" "$2" <<'PY'
import struct, sys, zlib
src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
pos, chunks = 8, {}
idat = b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR": w, h, depth, color = struct.unpack(">IIBB", body[:10])
    if kind == b"IDAT": idat += body
    pos += 12 + n
bpp = {2: 3, 6: 4}[color]
raw = zlib.decompress(idat)
stride = w * bpp
rows, prev = [], bytearray(stride)
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
# The window's extent: rows and columns that are not the black root window.
def dark(px): return max(px) < 8
cw = max(x for x in range(w) if not dark(rows[h // 4][x * bpp:x * bpp + 3])) + 1
ch = max(y for y in range(h) if not dark(rows[y][bpp * 4:bpp * 4 + 3])) + 1
out = b"".join(b"\0" + r[:cw * bpp] for r in rows[:ch])
def chunk(k, b): return struct.pack(">I", len(b)) + k + b + struct.pack(">I", zlib.crc32(k + b) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", cw, ch, 8, color, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(out, 9)) + chunk(b"IEND", b"")
open(dst, "wb").write(png)
PY
}
mkdir -p "$shots"
crop "$work/sc-logon.png" "$shots/logon.png"
crop "$work/sc-results.png" "$shots/results.png"
crop "$work/sc-conflicts.png" "$shots/conflicts.png"
crop "$work/sc-pairs.png" "$shots/main.png"
crop "$work/sc-activity.png" "$shots/activity.png"
crop "$work/sc-preview.png" "$shots/preview.png"
crop "$work/sc-small.png" "$shots/small.png"
echo "wrote main.png, logon.png, results.png, conflicts.png, activity.png, preview.png and small.png in $shots"
