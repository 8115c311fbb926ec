#!/usr/bin/env bash
# Benchmarks folder pairs against rsync -a, unison -batch and a plain stat walk of both
# trees: a first sync into an empty folder, a re-sync with no change, and a re-sync after
# changing 1 % of the files. Prints a markdown table (seconds, peak memory).
#
# Usage: scripts/bench-folders.sh [NFILES] [WORKDIR]     (defaults: 100000 /tmp/bench-folders)
# BASELINE=/path/to/synccenter also times that binary in each round (into its own folder),
# to compare two builds in one run.
set -euo pipefail

NFILES=${1:-100000}
WORK=${2:-/tmp/bench-folders}
REPO=$(cd "$(dirname "$0")/.." && pwd)
MKTREE=/work/shared/tools/mktree.py
# shellcheck source=scripts/bench-common.sh
source "$REPO/scripts/bench-common.sh"

need rsync rsync
need unison unison
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null

cd "$REPO"
cargo build --release --quiet
CLI="$REPO/target/release/synccenter"

rm -rf "$WORK"
mkdir -p "$WORK/sc" "$WORK/rs" "$WORK/rs-durable" "$WORK/un" "$WORK/unison-home"
echo "Making $NFILES files in $WORK/src…" >&2
python3 "$MKTREE" "$WORK/src" "$NFILES"
"$CLI" --home "$WORK/home" folder add p "$WORK/src" "$WORK/sc" >/dev/null
if [ -n "${BASELINE:-}" ]; then
    mkdir -p "$WORK/base"
    "$BASELINE" --home "$WORK/home-base" folder add p "$WORK/src" "$WORK/base" >/dev/null
fi
export UNISON="$WORK/unison-home"

run_round() {
    local round=$1
    measure "sc-$round" "$CLI" --home "$WORK/home" sync p --no-prompt
    if [ -n "${BASELINE:-}" ]; then
        measure "baseline-$round" "$BASELINE" --home "$WORK/home-base" sync p --no-prompt
    fi
    measure "rsync-$round" rsync -a "$WORK/src/" "$WORK/rs/"
    # Sync Center makes data durable (syncfs) before it records it; rsync does not.
    measure "rsyncsync-$round" sh -c "rsync -a '$WORK/src/' '$WORK/rs-durable/' && sync"
    measure "unison-$round" unison "$WORK/src" "$WORK/un" -batch -times -silent -confirmbigdel=false
    measure "walk-$round" find "$WORK/src" "$WORK/sc" -printf '%s %T@\n'
}

run_round first
run_round nochange
change_one_percent "$WORK/src"
run_round change

echo
echo "| $NFILES files | Sync Center | rsync -a | rsync -a + sync | unison -batch | stat walk | Sync Center vs target |"
echo "|---|---|---|---|---|---|---|"
for round in first nochange change; do
    case $round in
        first) against=rsync; target="≤ 1.0× rsync" ;;
        nochange) against=walk; target="≤ 1.3× stat walk" ;;
        change) against=rsync; target="≤ 1.2× rsync" ;;
    esac
    echo "| $round | ${SECONDS_OF[sc-$round]} s | ${SECONDS_OF[rsync-$round]} s | ${SECONDS_OF[rsyncsync-$round]} s | ${SECONDS_OF[unison-$round]} s | ${SECONDS_OF[walk-$round]} s | $(ratio "${SECONDS_OF[sc-$round]}" "${SECONDS_OF[$against-$round]}")× ($target) |"
done
peak=0
for round in first nochange change; do
    m=${MEMORY_OF[sc-$round]}
    [ "$m" -gt "$peak" ] && peak=$m
done
echo "| peak memory | $((peak / 1024)) MiB | $((MEMORY_OF[rsync-first] / 1024)) MiB | | $((MEMORY_OF[unison-first] / 1024)) MiB | | (≤ 60 MB) |"
