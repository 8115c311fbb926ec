# What the benchmark scripts share; sourced, never run. Measures a command's wall time and
# peak memory with /usr/bin/time, installs what a benchmark needs, and changes 1 % of a tree.
# The sourcing script sets WORK (a scratch folder; time.txt is written there) and `set -euo
# pipefail`.

# need COMMAND PACKAGE: installs PACKAGE from Debian when COMMAND is missing.
need() {
    command -v "$1" >/dev/null 2>&1 || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    }
}

# measure NAME COMMAND…: runs it, records "seconds peak_kib" under NAME and says them with
# the CPU time and the load average, which tell a slow run from a busy machine.
declare -A SECONDS_OF MEMORY_OF
measure() {
    local name=$1
    shift
    sync
    /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" "$@" >/dev/null 2>&1 || {
        echo "$name failed" >&2
        cat "$WORK/time.txt" >&2
        exit 1
    }
    local user system
    read -r SECONDS_OF[$name] MEMORY_OF[$name] user system <"$WORK/time.txt"
    echo "$name: ${SECONDS_OF[$name]} s (user $user s, system $system s), $((MEMORY_OF[$name] / 1024)) MiB, load $(cut -d' ' -f1 /proc/loadavg)" >&2
}

# change_one_percent DIR: appends to every hundredth file below DIR (in name order).
change_one_percent() {
    python3 - "$1" <<'PY'
import os, sys
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs)
for path in files[::100]:
    with open(path, "ab") as f:
        f.write(b"changed")
PY
}

# ratio A B: A / B with two decimals (B at least 0.01).
ratio() { python3 -c "print(f'{$1 / max($2, 0.01):.2f}')"; }
