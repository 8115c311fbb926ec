#!/usr/bin/env bash
# Benchmarks folder pairs at 1,000,000 files against rsync -a, rsync -a + sync and a `find`
# stat walk of both trees: a first sync into an empty folder, a re-sync with no change, and
# a re-sync after changing 1 % of the files. Prints a markdown table (seconds, peak memory
# from /usr/bin/time -f %M, bytes per file). Not run in CI: it needs root (a loop mount)
# and about 2 GB of disk.
#
# The tree has the names and folder shape of `mktree.py DIR 1000000 1` (10,000 nested
# folders) but small contents: each file's size divided by 64 and capped at 100 bytes.
# The full tree is 14 GB and every copy as much again, which the benchmark machine does
# not have; 100-byte files fit in their inodes (ext4 inline_data), so the trees live on an
# ext4 image made for them and take about 0.5 GB each. What is measured is the per-file
# work (scan, compare, create, flush, record), which is what grows with the file count.
#
# Usage: scripts/bench-million.sh [NFILES] [WORKDIR]   (defaults: 1000000 /work/bench-million)
# KEEP=1 leaves the mounted trees in WORKDIR after the run; NOCHANGE=N then re-runs only
# the no-change round N times on those trees (for working on that path) and keeps them.
# BIN=/path/to/synccenter measures that binary instead of building this checkout.
set -euo pipefail

NFILES=${1:-1000000}
WORK=${2:-/work/bench-million}
REPO=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=scripts/bench-common.sh
source "$REPO/scripts/bench-common.sh"
need rsync rsync
need mkfs.ext4 e2fsprogs
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

cd "$REPO"
if [ -n "${BIN:-}" ]; then
    CLI=$BIN
else
    cargo build --release --quiet
    CLI="$REPO/target/release/synccenter"
fi

cleanup() {
    if mountpoint -q "$WORK/mnt"; then umount "$WORK/mnt"; fi
    rm -rf "$WORK"
}
D="$WORK/mnt"


if [ -n "${NOCHANGE:-}" ]; then
    mountpoint -q "$D" || { echo "no kept trees in $WORK (run with KEEP=1 first)" >&2; exit 1; }
    for _ in $(seq "$NOCHANGE"); do
        measure sc "$CLI" --home "$WORK/home" sync p --no-prompt
        measure walk find "$D/src" "$D/sc" -printf '%s %T@\n'
    done
    exit 0
fi

cleanup
[ -n "${KEEP:-}" ] || trap cleanup EXIT
mkdir -p "$WORK/mnt"
# Four trees (source, Sync Center, rsync, rsync + sync) of NFILES files and NFILES/100
# folders each: one inode apiece, 256-byte inodes so a 100-byte file is kept inline.
INODES=$((NFILES * 41 / 10 + 100000))
truncate -s $((INODES / 1000 * 1000 * 1024 + 2 * 1024 * 1024 * 1024)) "$WORK/fs.img"
mkfs.ext4 -q -F -O inline_data -I 256 -N "$INODES" -E lazy_itable_init=0,nodiscard "$WORK/fs.img"
# noatime: with the default relatime, the first program to read a just-made file updates its
# access time, so whichever tool ran first (Sync Center) also wrote 1,000,000 source inodes
# that the tools after it did not (measured: 66.8 s when first, 41–44 s for the same binary
# on an identically made tree after another reader).
mount -o loop,noatime "$WORK/fs.img" "$WORK/mnt"
mkdir -p "$D/sc" "$D/rs" "$D/rs-durable"

echo "Making $NFILES files in $D/src…" >&2
python3 - "$D/src" "$NFILES" <<'PY'
# mktree.py's tree (same random draws, so the same names and folders), contents shrunk.
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
dirs = [""]
for i in range(max(1, n // 100)):
    parent = rng.choice(dirs)
    dirs.append(os.path.join(parent, f"d{i:05d}"))
for d in dirs:
    os.makedirs(os.path.join(root, d), exist_ok=True)
blob = rng.randbytes(1 << 20)
for i in range(n):
    size = min(int(rng.lognormvariate(8.3, 1.5)), 1 << 20)
    off = rng.randrange(0, (1 << 20) - size + 1)
    with open(os.path.join(root, rng.choice(dirs), f"f{i:06d}.dat"), "wb") as f:
        f.write(blob[off:off + min(size // 64, 100)])
PY
echo "Tree: $(du -sh "$D/src" | cut -f1) on disk; image $(du -sh "$WORK/fs.img" | cut -f1)" >&2
"$CLI" --home "$WORK/home" folder add p "$D/src" "$D/sc" >/dev/null

run_round() {
    local round=$1
    measure "sc-$round" "$CLI" --home "$WORK/home" sync p --no-prompt
    measure "rsync-$round" rsync -a "$D/src/" "$D/rs/"
    # Sync Center makes data durable (syncfs) before it records it; rsync does not.
    measure "rsyncsync-$round" sh -c "rsync -a '$D/src/' '$D/rs-durable/' && sync"
    measure "walk-$round" find "$D/src" "$D/sc" -printf '%s %T@\n'
}

run_round first
run_round nochange
change_one_percent "$D/src"
run_round change

echo
echo "| $NFILES files | Sync Center | rsync -a | rsync -a + sync | stat walk of both trees | ratio (target) | Sync Center peak memory |"
echo "|---|---|---|---|---|---|---|"
for round in first nochange change; do
    case $round in
        first) against=rsyncsync; target="≤ 1.0× rsync -a + sync" ;;
        nochange) against=walk; target="≤ 1.0× stat walk" ;;
        change) against=rsync; target="≤ 1.0× rsync -a" ;;
    esac
    kib=${MEMORY_OF[sc-$round]}
    echo "| $round | ${SECONDS_OF[sc-$round]} s | ${SECONDS_OF[rsync-$round]} s | ${SECONDS_OF[rsyncsync-$round]} s | ${SECONDS_OF[walk-$round]} s | $(ratio "${SECONDS_OF[sc-$round]}" "${SECONDS_OF[$against-$round]}")× ($target) | $((kib / 1024)) MiB, $((kib * 1024 / NFILES)) bytes per file |"
done
echo "| rsync -a peak memory | | $((MEMORY_OF[rsync-first] / 1024)) MiB | | | | |"

# PROFILE=DIR: profiles (perf record, flat, with the kernel) a first sync into a new
# empty folder and a no-change re-sync, reports in DIR.
if [ -n "${PROFILE:-}" ]; then
    mkdir -p "$PROFILE"
    rm -rf "$D/rs" "$D/rs-durable" "$WORK/home"
    mkdir "$D/sc2"
    "$CLI" --home "$WORK/home" folder add p "$D/src" "$D/sc2" >/dev/null
    for round in first nochange; do
        sync
        perf record -F 499 -o "$WORK/perf.data" /usr/bin/time -f "%e s, user %U s, system %S s, %M KiB" \
            "$CLI" --home "$WORK/home" sync p --no-prompt 2>"$PROFILE/$round.time" >/dev/null
        perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --percent-limit 0.5 --stdio \
            >"$PROFILE/$round.txt" 2>/dev/null
        echo "profile $round: $(cat "$PROFILE/$round.time")" >&2
    done
fi
