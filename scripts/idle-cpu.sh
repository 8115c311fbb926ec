#!/usr/bin/env bash
# Measures the CPU a `--background` instance uses while nothing happens: 20 items (folder
# pairs, watched for changes), two schedules, the idle trigger on, on a private session bus.
#   scripts/idle-cpu.sh [BINARY] [SECONDS]    (default: target/release/synccenter, 60 s)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/synccenter}
seconds=${2:-60}
work=$(mktemp -d)
trap 'kill "${pid:-}" "${bus_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

home=$work/home
for n in $(seq 1 20); do
  mkdir -p "$work/left/$n/a/b" "$work/right/$n"
  echo "file $n" > "$work/left/$n/a/b/f.txt"
  "$bin" --home "$home" folder add "pair$n" "$work/left/$n" "$work/right/$n" >/dev/null
done
items=$(seq -f 'pair%g' 1 10 | tr '\n' ' ')
"$bin" --home "$home" schedule add hourly $items --every 1h >/dev/null
"$bin" --home "$home" schedule add nightly pair11 pair12 --daily 03:00 >/dev/null
python3 - "$home/config/resident.json" <<'PY'
import json, sys
path = sys.argv[1]
settings = json.load(open(path))
settings.update(sync_on_change=True, idle_after_seconds=900)
json.dump(settings, open(path, "w"))
PY

dbus-daemon --session --nofork --print-address=1 > "$work/bus" 2>/dev/null & bus_pid=$!
sleep 0.5
export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$work/bus")
"$bin" --home "$home" --background 2>"$work/log" & pid=$!
sleep 10   # start-up: listing, the first sync of every watched pair
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks); start=$(date +%s.%N)
sleep "$seconds"
after=$(ticks); end=$(date +%s.%N)
kill -0 "$pid" || { echo "the instance ended early:" >&2; cat "$work/log" >&2; exit 1; }
runs=$("$bin" --home "$home" results --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
threads=$(ls "/proc/$pid/task" | wc -l)
echo "instance alive with $threads threads; $runs run(s) recorded (the first sync of the watched pairs)"
python3 -c "
used = ($after - $before) / $hz
wall = $end - $start
print(f'{used:.3f} s of CPU in {wall:.1f} s: {100 * used / wall:.3f} % of one core')
"
