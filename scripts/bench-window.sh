#!/usr/bin/env bash
# The window never slows the work: the same first sync of a folder pair (20,000 files made by
# mktree.py) from the real window on a virtual X display with Mesa's software OpenGL, and from
# the terminal, alternately in one run. Each run's time is the one its own record gives
# (finished − started, written by the engine), so both are measured the same way; the
# window's CPU is what its process used from the keypress that started the run to the run's
# end, the terminal's what its whole process used. Prints a markdown table.
#
# Usage: scripts/bench-window.sh [NFILES] [ROUNDS] [WORKDIR]   (defaults: 20000 3 /tmp/bench-window)
set -euo pipefail

NFILES=${1:-20000}
ROUNDS=${2:-3}
WORK=${3:-/tmp/bench-window}
REPO=$(cd "$(dirname "$0")/.." && pwd)
MKTREE=${MKTREE:-$REPO/../shared/tools/mktree.py}

need() {
    command -v "$1" >/dev/null 2>&1 || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    }
}
need Xvfb xvfb
need xdotool xdotool
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if ! ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1 || ! ldconfig -p | grep -q 'libEGL.so.1'; then
    apt-get update -qq >/dev/null && apt-get install -y -qq libgl1-mesa-dri libegl1 libgl1 >/dev/null
fi

cd "$REPO"
# SYNCCENTER_BIN measures another build (an earlier commit's, say) the same way.
if [ -z "${SYNCCENTER_BIN:-}" ]; then
    cargo build --release --quiet --bin synccenter
fi
CLI=${SYNCCENTER_BIN:-$REPO/target/release/synccenter}

rm -rf "$WORK"
mkdir -p "$WORK"
echo "Making $NFILES files in $WORK/src…" >&2
python3 "$MKTREE" "$WORK/src" "$NFILES"

display=:$(((RANDOM % 400) + 500))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
runtime=$(mktemp -d)
chmod 700 "$runtime"
window=""
cleanup() {
    [ -n "$window" ] && kill "$window" 2>/dev/null
    kill "$xvfb" 2>/dev/null
    rm -rf "$runtime"
}
trap cleanup EXIT
sleep 1

# A fresh home with one pair into an empty folder: every run is the same first sync.
fresh_pair() {
    local home=$1
    rm -rf "$home" "$WORK/dest"
    mkdir -p "$WORK/dest"
    "$CLI" --home "$home" folder add bench "$WORK/src" "$WORK/dest" >/dev/null
}

# The engine's own record of the run: "seconds" from its started and finished times.
run_seconds() {
    python3 - "$1" <<'PY'
import glob, json, sys
runs = [json.load(open(p)) for p in glob.glob(sys.argv[1] + "/data/history/*.json")]
assert len(runs) == 1, f"{len(runs)} runs recorded"
run = runs[0]
assert all(i["status"] == "succeeded" for i in run["items"]), run["items"]
print(f'{(run["finished"] - run["started"]) / 1000:.2f}')
PY
}

# CPU seconds a process has used so far (user + system).
cpu_of() {
    python3 - "$1" <<'PY'
import os, sys
fields = open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split()
print((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
PY
}

terminal_run() {
    local home=$WORK/home-terminal
    fresh_pair "$home"
    sync
    /usr/bin/time -f "%U %S" -o "$WORK/time.txt" "$CLI" --home "$home" sync bench --no-prompt >/dev/null 2>&1
    local seconds cpu
    seconds=$(run_seconds "$home")
    cpu=$(python3 -c "import sys; u, s = open('$WORK/time.txt').read().split(); print(float(u) + float(s))")
    echo "terminal: $seconds s, $cpu s CPU" >&2
    TERMINAL_SECONDS+=("$seconds")
    TERMINAL_CPU+=("$cpu")
}

window_run() {
    local home=$WORK/home-window
    fresh_pair "$home"
    sync
    DISPLAY=$display XDG_RUNTIME_DIR=$runtime LIBGL_ALWAYS_SOFTWARE=1 XDG_DATA_HOME=$WORK/xdg \
        "$CLI" --home "$home" >"$WORK/window.log" 2>&1 &
    window=$!
    DISPLAY=$display xdotool search --sync --name 'Sync Center' >/dev/null
    # The window takes the keyboard itself; without a window manager, focusing it from
    # outside can be refused (BadMatch), which changes nothing.
    DISPLAY=$display xdotool search --name 'Sync Center' windowfocus >/dev/null 2>&1 || true
    # The pair is listed once its row shows; give the window a moment to list it.
    sleep 3
    local before after seconds
    before=$(cpu_of "$window")
    # Enter is Sync now.
    DISPLAY=$display xdotool key Return
    until compgen -G "$home/data/history/*.json" >/dev/null; do sleep 0.05; done
    after=$(cpu_of "$window")
    kill "$window"
    wait "$window" 2>/dev/null || true
    window=""
    seconds=$(run_seconds "$home")
    local cpu
    cpu=$(python3 -c "print(round($after - $before, 2))")
    echo "window:   $seconds s, $cpu s CPU" >&2
    WINDOW_SECONDS+=("$seconds")
    WINDOW_CPU+=("$cpu")
}

TERMINAL_SECONDS=()
TERMINAL_CPU=()
WINDOW_SECONDS=()
WINDOW_CPU=()
# A first sync of each kind warms the page cache and is not counted.
terminal_run
window_run
TERMINAL_SECONDS=()
TERMINAL_CPU=()
WINDOW_SECONDS=()
WINDOW_CPU=()
for _ in $(seq "$ROUNDS"); do
    terminal_run
    window_run
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
t=$(median "${TERMINAL_SECONDS[@]}")
w=$(median "${WINDOW_SECONDS[@]}")
tc=$(median "${TERMINAL_CPU[@]}")
wc=$(median "${WINDOW_CPU[@]}")
echo
echo "| $NFILES-file first sync (median of $ROUNDS) | time | CPU |"
echo "|---|---|---|"
echo "| terminal (\`synccenter sync\`) | $t s | $tc s |"
echo "| window (Xvfb, LIBGL_ALWAYS_SOFTWARE=1) | $w s | $wc s |"
python3 -c "print(f'| window ÷ terminal | {$w / $t:.2f}× (target ≤ 1.1×) | +{$wc - $tc:.2f} s ({($wc - $tc) / $w * 100:.0f} % of one core over the run) |')"
echo
echo "all runs — terminal: ${TERMINAL_SECONDS[*]} s; window: ${WINDOW_SECONDS[*]} s"
