#!/usr/bin/env bash
# Benchmarks a remote folder pair (right side: a folder on `rclone serve webdav` on
# loopback) against rclone itself on the same server, in one run: a first sync into an
# empty folder vs `rclone copy`, a re-sync with no change vs `rclone check` (and `rclone
# bisync`, rclone's own two-way sync), and a re-sync after changing 1 % of the files vs
# `rclone copy`. Prints a markdown table (seconds, peak
# memory of the center and of its rclone rcd, rclone's own peak).
#
# Both sides use the same remote (an rclone.conf of the benchmark's own) with the WebDAV
# pacer off (pacer_min_sleep = 0): rclone's default 10 ms between calls is politeness toward
# real servers and would make both sides ~15× slower on loopback, and Debian 12's rclone
# 1.60 cannot turn it off, so the current rclone is used.
#
# Every command starts with the server's directory cache run out (it keeps listings 1 s):
# otherwise `rclone check` ran on listings `rclone copy` had just warmed, and Sync Center's
# run never did. The no-change round runs NOCHANGE_RUNS times (Sync Center and check in
# turn, then bisync) and reports the medians: one run of a third of a second says little on
# a shared machine.
# The first sync runs FIRST_RUNS times in turn with rclone copy, each into a folder of its
# own, for the same reason (runs of the same command differed by a fifth here). Which of
# the two goes first alternates from run to run: four `rclone copy` in a row on one server
# took 16.7, 15.7, 15.6 and 14.3 s, so always going first is a handicap of its own.
#
# Usage: scripts/bench-remote.sh [NFILES] [WORKDIR] [RCLONE]
#        (defaults: 10000 /tmp/bench-remote, the tests' rclone or rclone on PATH;
#        BENCH_CLI=/path/to/synccenter measures another build, e.g. an older one)
set -euo pipefail

NFILES=${1:-10000}
WORK=${2:-/tmp/bench-remote}
REPO=$(cd "$(dirname "$0")/.." && pwd)
RCLONE=${3:-$REPO/target/test-tools/rclone-venv/bin/rclone}
[ -x "$RCLONE" ] || RCLONE=$(command -v rclone)
MKTREE=/work/shared/tools/mktree.py
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

cd "$REPO"
nice -n 19 cargo build --release --quiet
CLI=${BENCH_CLI:-$REPO/target/release/synccenter}
NOCHANGE_RUNS=${NOCHANGE_RUNS:-11}
FIRST_RUNS=${FIRST_RUNS:-5}

rm -rf "$WORK"
mkdir -p "$WORK/home/config"
# The server's folder is in memory (/dev/shm), as a real server's disk is not this
# machine's: on the same disk, Sync Center's flush of the local side before it records a
# batch (syncfs) also wrote out every file the server had just received.
SERVED=${SERVED:-/dev/shm/bench-remote-served}
rm -rf "$SERVED"
for i in $(seq "$FIRST_RUNS"); do mkdir -p "$SERVED/sc$i" "$SERVED/copy$i"; done
echo "Making $NFILES files in $WORK/src…" >&2
python3 "$MKTREE" "$WORK/src" "$NFILES"

USER_NAME=bench
PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$RCLONE" serve webdav "$SERVED" --addr 127.0.0.1:0 --user "$USER_NAME" --pass "$PASSWORD" \
    --dir-cache-time 1s --config /dev/null 2>"$WORK/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true; rm -rf "$SERVED"' EXIT
PORT=""
for _ in $(seq 100); do
    PORT=$(grep -o '127\.0\.0\.1:[0-9]*' "$WORK/server.log" | head -1 | cut -d: -f2 || true)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "the WebDAV server did not start: $(cat "$WORK/server.log")" >&2; exit 1; }

export RCLONE_CONFIG="$WORK/rclone.conf"
OBSCURED=$(printf '%s\n' "$PASSWORD" | "$RCLONE" obscure -)
cat >"$RCLONE_CONFIG" <<EOF
[bench]
type = webdav
url = http://127.0.0.1:$PORT/
vendor = other
user = $USER_NAME
pass = $OBSCURED
pacer_min_sleep = 0
EOF
echo "rclone = \"$RCLONE\"" >"$WORK/home/config/folders.toml"
for i in $(seq "$FIRST_RUNS"); do
    "$CLI" --home "$WORK/home" folder add "p$i" "$WORK/src" "bench:sc$i" >/dev/null
done

# larger A B: the larger number (a function, as `[ … ] && …` ends a `set -e` loop when false).
larger() { echo $(($1 > $2 ? $1 : $2)); }

# peaks TIMER: the highest VmHWM (KiB: resident, the mapped program included) of the center
# under TIMER (/usr/bin/time) and of the rclone rcd under the center, and the highest sum of
# both processes' anonymous resident memory (RssAnon: heap and stacks, without the program's
# file pages), sampled every 0.1 s until TIMER ends (GNU time's own figure is the largest of
# the two processes, as wait4 reports a reaped child's peak too). It reads /proc with bash's
# builtins only: a sampler that started pgrep and awk ten times a second took CPU from the
# measured run on a 2-core machine. rclone's runs are sampled too, so both share the
# sampler's cost (their peak is GNU time's).
peaks() {
    local timer=$1 center_peak=0 rcd_peak=0 anon_peak=0 center kids rcds pid anon children name
    local tick="$WORK/tick"
    rm -f "$tick"
    mkfifo "$tick"
    exec 9<>"$tick"
    while kill -0 "$timer" 2>/dev/null; do
        kids=()
        read -r -a kids 2>/dev/null <"/proc/$timer/task/$timer/children" || true
        for center in "${kids[@]}"; do
            status_of "$center"
            center_peak=$((HWM > center_peak ? HWM : center_peak))
            anon=$ANON
            for children in /proc/"$center"/task/*/children; do
                rcds=()
                read -r -a rcds 2>/dev/null <"$children" || true
                for pid in "${rcds[@]}"; do
                    read -r name 2>/dev/null <"/proc/$pid/comm" || continue
                    [ "$name" = rclone ] || continue
                    status_of "$pid"
                    rcd_peak=$((HWM > rcd_peak ? HWM : rcd_peak))
                    anon=$((anon + ANON))
                done
            done
            anon_peak=$((anon > anon_peak ? anon : anon_peak))
        done
        read -r -t 0.1 -u 9 _ || true
    done
    exec 9<&-
    echo "$center_peak $rcd_peak $anon_peak"
}

# status_of PID: sets HWM and ANON (KiB) from /proc/PID/status, 0 when it has ended.
status_of() {
    local key value
    HWM=0 ANON=0
    while read -r key value _; do
        case $key in
            VmHWM:) HWM=$value ;;
            RssAnon:) ANON=$value ;;
        esac
    done 2>/dev/null <"/proc/$1/status" || true
}

# shellcheck source=scripts/bench-common.sh
source "$REPO/scripts/bench-common.sh"
# measure NAME COMMAND…: runs it, records "seconds peak_kib" under NAME. It takes the place
# of bench-common's: it also samples the memory of the center's rclone rcd while it runs.
declare -A RCD_OF ANON_OF
measure() {
    local name=$1
    shift
    sync
    sleep 2 # the server's 1 s directory cache runs out
    local start end sampler
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$WORK/time.txt" "$@" >"$WORK/$name.out" 2>&1 &
    local timer=$!
    peaks "$timer" >"$WORK/peaks.txt" &
    sampler=$!
    wait "$timer" || {
        echo "$name failed:" >&2
        cat "$WORK/$name.out" "$WORK/time.txt" >&2
        exit 1
    }
    # The end is taken when the command ends, not when the sampler notices (up to 0.1 s
    # later), and in milliseconds: GNU time's %e has two decimals, a tenth of a no-change
    # run's gap.
    end=$(date +%s%N)
    wait "$sampler"
    SECONDS_OF[$name]=$(printf '%d.%03d' $(((end - start) / 1000000000)) $(((end - start) / 1000000 % 1000)))
    read -r MEMORY_OF[$name] <"$WORK/time.txt"
    case $name in sc-*) read -r MEMORY_OF[$name] RCD_OF[$name] ANON_OF[$name] <"$WORK/peaks.txt" ;; esac
    echo "$name: ${SECONDS_OF[$name]} s, $((MEMORY_OF[$name] / 1024)) MiB (rcd $((${RCD_OF[$name]:-0} / 1024)) MiB, anonymous together $((${ANON_OF[$name]:-0} / 1024)) MiB)" >&2
}

# run_round ROUND [RUN]: Sync Center's sync of pair RUN (1 unless told), rclone copy into
# copyRUN and rclone check of it, as sc-ROUND, copy-ROUND and check-ROUND; Sync Center goes
# first in odd runs, rclone in even ones.
run_round() {
    local round=$1 run=${2:-1}
    [ $((run % 2)) -eq 1 ] && measure "sc-$round" "$CLI" --home "$WORK/home" sync "p$run" --no-prompt
    measure "copy-$round" "$RCLONE" copy "$WORK/src" "bench:copy$run"
    measure "check-$round" "$RCLONE" check "$WORK/src" "bench:copy$run" --size-only
    [ $((run % 2)) -eq 1 ] || measure "sc-$round" "$CLI" --home "$WORK/home" sync "p$run" --no-prompt
}


# median NAME RUNS: the median of NAME-1 … NAME-RUNS's seconds, and their highest memory.
median() {
    local name=$1 runs=$2 i
    SECONDS_OF[$name]=$(for i in $(seq "$runs"); do echo "${SECONDS_OF[$name-$i]}"; done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    MEMORY_OF[$name]=0 RCD_OF[$name]=0 ANON_OF[$name]=0
    for i in $(seq "$runs"); do
        MEMORY_OF[$name]=$(larger "${MEMORY_OF[$name]}" "${MEMORY_OF[$name-$i]}")
        RCD_OF[$name]=$(larger "${RCD_OF[$name]}" "${RCD_OF[$name-$i]:-0}")
        ANON_OF[$name]=$(larger "${ANON_OF[$name]}" "${ANON_OF[$name-$i]:-0}")
    done
}

# The server is warmed up first, as a server in use is: a fresh `rclone serve webdav` took
# less CPU for each of the first copies it served (2302, 2163, 2101, 1935 ticks for four
# copies of the same tree), which weighed on whichever command ran first.
"$RCLONE" copy "$WORK/src" bench:warmup
"$RCLONE" purge bench:warmup
for i in $(seq "$FIRST_RUNS"); do
    run_round "first-$i" "$i"
done
median sc-first "$FIRST_RUNS"
median copy-first "$FIRST_RUNS"
median check-first "$FIRST_RUNS"
measure copy-nochange "$RCLONE" copy "$WORK/src" bench:copy1
# rclone's own two-way sync, ready to re-sync the same folders (its first run must --resync).
"$RCLONE" bisync "$WORK/src" bench:copy1 --resync --workdir "$WORK/bisync" >"$WORK/resync.out" 2>&1 || {
    echo "rclone bisync --resync failed:" >&2
    cat "$WORK/resync.out" >&2
    exit 1
}
for i in $(seq "$NOCHANGE_RUNS"); do
    [ $((i % 2)) -eq 1 ] && measure "sc-nochange-$i" "$CLI" --home "$WORK/home" sync p1 --no-prompt
    measure "check-nochange-$i" "$RCLONE" check "$WORK/src" bench:copy1 --size-only
    [ $((i % 2)) -eq 1 ] || measure "sc-nochange-$i" "$CLI" --home "$WORK/home" sync p1 --no-prompt
    measure "bisync-nochange-$i" "$RCLONE" bisync "$WORK/src" bench:copy1 --workdir "$WORK/bisync"
done
median sc-nochange "$NOCHANGE_RUNS"
median check-nochange "$NOCHANGE_RUNS"
median bisync-nochange "$NOCHANGE_RUNS"
change_one_percent "$WORK/src"
run_round change

echo
echo "rclone $("$RCLONE" version | head -1 | cut -d' ' -f2), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| $NFILES files | Sync Center | rclone copy | rclone check | Sync Center vs target |"
echo "|---|---|---|---|---|"
# paired_ratios ROUND AGAINST RUNS: each run's Sync Center time over the rclone command's
# that ran beside it (just before or after), and their median (a pair shares the machine's
# state of the moment, which the medians of each column do not).
paired_ratios() {
    local i list=""
    for i in $(seq "$3"); do
        list="$list ${SECONDS_OF[sc-$1-$i]}/${SECONDS_OF[$2-$1-$i]}"
    done
    python3 -c "import statistics, sys; r = [eval(p) for p in sys.argv[1:]]; print(' '.join(f'{x:.2f}' for x in r) + f', median {statistics.median(r):.2f}×')" $list
}

for round in first nochange change; do
    case $round in
        first)
            against=copy
            target="≤ 1.1× rclone copy; medians of $FIRST_RUNS; run by run $(paired_ratios first copy "$FIRST_RUNS")"
            ;;
        nochange)
            against=check
            target="≤ 1.0× rclone check; medians of $NOCHANGE_RUNS; run by run $(paired_ratios nochange check "$NOCHANGE_RUNS"); rclone bisync ${SECONDS_OF[bisync-nochange]} s, Sync Center $(ratio "${SECONDS_OF[sc-nochange]}" "${SECONDS_OF[bisync-nochange]}")× of it"
            ;;
        change) against=copy; target="vs rclone copy" ;;
    esac
    echo "| $round | ${SECONDS_OF[sc-$round]} s | ${SECONDS_OF[copy-$round]} s | ${SECONDS_OF[check-$round]} s | $(ratio "${SECONDS_OF[sc-$round]}" "${SECONDS_OF[$against-$round]}")× ($target) |"
done
peak=0 rcd=0 anon=0 rclone=0
for round in first nochange change; do
    peak=$(larger "$peak" "${MEMORY_OF[sc-$round]}")
    rcd=$(larger "$rcd" "${RCD_OF[sc-$round]}")
    anon=$(larger "$anon" "${ANON_OF[sc-$round]}")
    rclone=$(larger "$rclone" "${MEMORY_OF[copy-$round]}")
done
echo "| peak memory (resident) | center $((peak / 1024)) MiB + its rcd $((rcd / 1024)) MiB = $(((peak + rcd) / 1024)) MiB | $((rclone / 1024)) MiB | $((MEMORY_OF[check-first] / 1024)) MiB | (≤ 80 MB) |"
echo "| peak anonymous memory, center + rcd together | $((anon / 1024)) MiB | | | |"
