#!/usr/bin/env bash
# Scale benchmark (issue 19, "Measure"): builds stores of N entries and of P map points and
# prints, for each whole `mule` process, wall time, CPU (user + sys), peak RSS and a rate per CPU
# second; export and import are also given as a ratio to `zstd -q -3 -T1` compressing the same
# bytes (the bundle's tar), measured in the same run. Fixed-cost commands (one put, one append,
# status) on the N-entry store are the median of REPEAT runs. Not a test: nothing is asserted.
# Times come from wait4(2) (getrusage of the child), so CPU is precise to the microsecond.
#
# Usage: scripts/bench-scale.sh [--entries "100000 1000000 10000000"] [--points "100000 1000000"]
#   --entries "" or --points "" skips that section.
# MULE=path/to/mule picks the binary (default: a release build of this repo).
# BENCH_DIR=dir holds the work files (default: a temporary directory); removed on exit.
# REPEAT=n runs of each fixed-cost command (default 11).
# Needs: python3, zstd, df. Tables (Markdown) on stdout, progress on stderr; run on an idle
# machine. 10M entries needs about 7 GB of free disk and an hour or more on 2 cores.
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown
set -euo pipefail

ENTRIES="100000 1000000 10000000"
POINTS="100000 1000000"
REPEAT=${REPEAT:-11}
while [ $# -gt 0 ]; do
    case "$1" in
        --entries) ENTRIES=${2?--entries needs a list}; shift 2 ;;
        --points) POINTS=${2?--points needs a list}; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/{/^# shellcheck/d;/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
for n in $ENTRIES $POINTS; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "not a positive count: $n" >&2; exit 2; }
done
for tool in python3 zstd df; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${BENCH_DIR:-}" ]; then
    mkdir -p "$BENCH_DIR"
    WORK=$(mktemp -d "$BENCH_DIR/bench-scale.XXXXXX")
else
    WORK=$(mktemp -d)
fi
trap 'rm -rf "$WORK"' EXIT
if [ -z "${MULE:-}" ]; then
    echo "building mule (release)..." >&2
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin mule
    MULE="${CARGO_TARGET_DIR:-$ROOT/target}/release/mule"
fi
[ -x "$MULE" ] || { echo "no mule binary at $MULE" >&2; exit 2; }

# Free space: about 650 bytes an entry (JSON lines, kv lines, two stores, the bundle, its tar and
# the zstd baseline, one size at a time) and 700 bytes a point, plus 10% headroom.
max_of() { local m=0 v; for v in "$@"; do ((v > m)) && m=$v; done; echo "$m"; }
# shellcheck disable=SC2086 # the lists split into counts on purpose
need_kib=$(( ($(max_of 0 $ENTRIES) * 650 + $(max_of 0 $POINTS) * 700) * 11 / 10 / 1024 ))
free_kib=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
if ((free_kib < need_kib)); then
    echo "not enough free space in $WORK: $((free_kib / 1024)) MiB free, about" \
        "$((need_kib / 1024)) MiB needed (set BENCH_DIR to a roomier disk)" >&2
    exit 1
fi
echo "work dir $WORK: $((free_kib / 1024)) MiB free, about $((need_kib / 1024)) MiB needed" >&2

# measure [--repeat R] [--stdin FILE | --input TEXT] -- COMMAND...
# Runs COMMAND (stdout discarded) R times and prints "WALL_S CPU_S MAXRSS_KIB": the median wall
# and CPU (user + sys) time of the runs and the largest peak RSS, from wait4(2). On failure it
# prints the command's stderr and exits with its status.
cat >"$WORK/measure.py" <<'PY'
import os, statistics, subprocess, sys, time
args, repeat, stdin, text = sys.argv[1:], 1, None, None
while args[0] != "--":
    flag, value, args = args[0], args[1], args[2:]
    if flag == "--repeat": repeat = int(value)
    elif flag == "--stdin": stdin = value
    elif flag == "--input": text = value.encode()
cmd = args[1:]
walls, cpus, peak = [], [], 0
for _ in range(repeat):
    source = open(stdin, "rb") if stdin else subprocess.PIPE if text is not None else subprocess.DEVNULL
    with open(os.environ["MEASURE_ERR"], "wb") as err:
        start = time.monotonic()
        child = subprocess.Popen(cmd, stdin=source, stdout=subprocess.DEVNULL, stderr=err)
        if text is not None:
            child.stdin.write(text)
            child.stdin.close()
        _, status, usage = os.wait4(child.pid, 0)
        walls.append(time.monotonic() - start)
    child.returncode = code = os.waitstatus_to_exitcode(status)
    if stdin:
        source.close()
    if code != 0:
        sys.stderr.write(open(os.environ["MEASURE_ERR"], errors="replace").read()[-2000:])
        sys.exit(code if code > 0 else 1)
    cpus.append(usage.ru_utime + usage.ru_stime)
    peak = max(peak, usage.ru_maxrss)
print(f"{statistics.median(walls):.6f} {statistics.median(cpus):.6f} {peak}")
PY
export MEASURE_ERR="$WORK/stderr.txt"
measure() { python3 "$WORK/measure.py" "$@"; }

# The CPU seconds of a measurement, or nothing when it failed.
cpu_of() { if [ "$1" != failed ]; then echo "$1" | awk '{ print $2 }'; fi; }
# calc PROGRAM [NAME=VALUE...]: runs an awk BEGIN block with the values set and c(x), x rounded
# with thousands separators; q(a, b), a / b or 0 when b is 0. (awk: python3 takes 0.2-0.5 s to
# start on a busy machine, too slow for every cell.)
calc() {
    local program=$1 vars=() kv
    shift
    for kv in "$@"; do vars+=(-v "$kv"); done
    awk "${vars[@]}" 'function c(x,  s, r) { s = sprintf("%.0f", x); r = ""
            while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
            return s r }
        function q(a, b) { return b > 0 ? a / b : 0 }
        BEGIN { '"$program"' }'
}

# One table row for a measured bulk operation: OP N RESULT [ZSTD_CPU [COUNT]]. The rate is COUNT
# (default N) per CPU second, none when COUNT is "-"; the last column is CPU / ZSTD_CPU, blank
# when ZSTD_CPU is empty, left out when it is "-". A failed measurement gives a row saying so.
row() {
    local op=$1 n=$2 result=$3 zstd_cpu=${4:-} count=${5:-$2}
    calc 'last = zstd == "-" ? "" : zstd == "" ? " |" : sprintf(" %.2fx |", q(cpu, zstd))
        if (result == "failed") { printf "| %s | %s | failed | | | |%s\n", op, c(n), last; exit }
        split(result, r, " ")
        rate = count == "-" ? "" : c(q(count, r[2]))
        printf "| %s | %s | %.2f | %.2f | %.1f | %s |%s\n", op, c(n), r[1], r[2], r[3] / 1024, rate, last' \
        op="$op" n="$n" result="$result" zstd="$zstd_cpu" count="$count" cpu="$(cpu_of "$result")"
}
# A fixed-cost row: OP N RESULT (median wall and CPU in ms).
fixed_row() {
    calc 'if (result == "failed") { printf "| %s | %s | failed | | |\n", op, c(n); exit }
        split(result, r, " ")
        printf "| %s | %s | %.1f | %.1f | %.1f |\n", op, c(n), r[1] * 1000, r[2] * 1000, r[3] / 1024' \
        op="$1" n="$2" result="$3"
}
# try [measure args...]: prints the measurement, or "failed" (and says so on stderr).
try() {
    measure "$@" || { echo "  FAILED: ${*: -3}" >&2; echo failed; }
}
fresh() { rm -rf "$1"; "$MULE" --store "$1" id >/dev/null; }
progress() { echo "[$(date +%T)] $*" >&2; }

cat <<HEAD
## mule at scale

$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)),
$("$MULE" --version 2>/dev/null || echo mule), zstd $(zstd --version | grep -o 'v[0-9.]*' | head -n 1). Whole processes; CPU is user + sys; rates are per CPU second;
"CPU / zstd" divides by the CPU of \`zstd -q -3 -T1\` compressing the bundle's tar (the same bytes).
HEAD

if [ -n "$ENTRIES" ]; then
    ENTRY_ROWS="" FIXED_ROWS="" SIZE_ROWS=""
    for n in $ENTRIES; do
        progress "$n entries: generating JSON lines"
        python3 "$ROOT/scripts/gen-entries.py" "$n" >"$WORK/entries.jsonl"
        A="$WORK/a" B="$WORK/b" K="$WORK/kv"
        fresh "$A"
        progress "$n entries: append obs -"
        append=$(try --stdin "$WORK/entries.jsonl" -- "$MULE" --store "$A" append obs -)
        progress "$n entries: export --all"
        export=$(try -- "$MULE" --store "$A" export --all -o "$WORK/all.mule")
        zstd -q -dc "$WORK/all.mule" >"$WORK/all.tar"
        progress "$n entries: zstd -3 -T1 of the bundle's tar ($(du -h "$WORK/all.tar" | cut -f1))"
        baseline=$(try -- zstd -q -3 -T1 -f "$WORK/all.tar" -o "$WORK/all.tar.zst")
        zstd_cpu=$(cpu_of "$baseline")
        fresh "$B"
        progress "$n entries: import into an empty store"
        import=$(try -- "$MULE" --store "$B" import "$WORK/all.mule")
        progress "$n entries: re-import (nothing new)"
        reimport=$(try -- "$MULE" --store "$B" import "$WORK/all.mule")
        progress "$n entries: reindex, status, fsck"
        reindex=$(try -- "$MULE" --store "$A" reindex)
        status=$(try -- "$MULE" --store "$A" status)
        fsck=$(try -- "$MULE" --store "$A" fsck)
        progress "$n entries: work dir at its fullest: $(du -sh "$WORK" | cut -f1)"
        json_bytes=$(stat -c %s "$WORK/entries.jsonl")
        store_bytes=$(du -sb "$A" | cut -f1)
        bundle_bytes=$(stat -c %s "$WORK/all.mule")
        tar_bytes=$(stat -c %s "$WORK/all.tar")
        zstd_bytes=$(stat -c %s "$WORK/all.tar.zst" 2>/dev/null || echo 0)
        rm -rf "$B" "$WORK/all.tar" "$WORK/all.tar.zst" "$WORK/entries.jsonl"

        progress "$n entries: fixed-cost commands, $REPEAT runs each"
        put=$(try --repeat "$REPEAT" -- "$MULE" --store "$A" kv put bench-key '{"n":1}')
        one=$(try --repeat "$REPEAT" -- "$MULE" --store "$A" append obs '{"id":"one","n":1}')
        one_stdin=$(try --repeat "$REPEAT" --input $'{"id":"one","n":2}\n' -- \
            "$MULE" --store "$A" append obs -)
        status_fixed=$(try --repeat "$REPEAT" -- "$MULE" --store "$A" status)
        rm -rf "$A" "$WORK/all.mule"

        progress "$n entries: kv puts (gen-entries.py --kv): append kv -, reindex, kv get"
        python3 "$ROOT/scripts/gen-entries.py" "$n" --kv >"$WORK/kv.jsonl"
        fresh "$K"
        kv_append=$(try --stdin "$WORK/kv.jsonl" -- "$MULE" --store "$K" append kv -)
        rm -f "$WORK/kv.jsonl"
        kv_reindex=$(try -- "$MULE" --store "$K" reindex)
        kv_get=$(try --repeat "$REPEAT" -- "$MULE" --store "$K" kv get site-7)
        kv_put=$(try --repeat "$REPEAT" -- "$MULE" --store "$K" kv put site-7 '{"n":1}')
        rm -rf "$K"

        ENTRY_ROWS+="$(row '`append obs -` (bulk, from a file)' "$n" "$append")
$(row 'baseline: `zstd -q -3 -T1` of the bundle'"'"'s tar' "$n" "$baseline" "$zstd_cpu")
$(row '`export --all`' "$n" "$export" "$zstd_cpu")
$(row '`import` into an empty store' "$n" "$import" "$zstd_cpu")
$(row '`import` again (nothing new)' "$n" "$reimport" "" -)
$(row '`reindex` (obs entries: no view reads them)' "$n" "$reindex")
$(row '`status`' "$n" "$status" "" -)
$(row '`fsck`' "$n" "$fsck")
$(row '`append kv -` (bulk puts over N/5 keys)' "$n" "$kv_append")
$(row '`reindex` (kv view of N puts)' "$n" "$kv_reindex")
"
        FIXED_ROWS+="$(fixed_row '`kv put` (obs store)' "$n" "$put")
$(fixed_row '`append obs JSON` (one entry)' "$n" "$one")
$(fixed_row '`append obs -`, one line on stdin' "$n" "$one_stdin")
$(fixed_row '`status`' "$n" "$status_fixed")
$(fixed_row '`kv get` (kv store)' "$n" "$kv_get")
$(fixed_row '`kv put` (kv store, key with values)' "$n" "$kv_put")
"
        SIZE_ROWS+="$(calc 'printf "| %s | %s | %s | %s | %.1f | %s | %s | %.3fx |\n", c(n), c(json),
            c(store), c(bundle), bundle / n, c(tar), c(zstd), q(bundle, zstd)' n="$n" \
            json="$json_bytes" store="$store_bytes" bundle="$bundle_bytes" tar="$tar_bytes" \
            zstd="$zstd_bytes")
"
    done
    cat <<TABLES

### Entries (gen-entries.py, ~98-byte JSON bodies)

| operation | N | wall s | CPU s | peak RSS MiB | entries per CPU s | CPU / zstd |
|---|---|---|---|---|---|---|
${ENTRY_ROWS}
### Fixed cost on the N-entry store (median of $REPEAT runs)

| operation | N | wall ms | CPU ms | peak RSS MiB |
|---|---|---|---|---|
${FIXED_ROWS}
### Sizes

| N | JSON lines bytes | store bytes | bundle bytes | bundle bytes/entry | tar bytes | zstd -3 bytes | bundle / zstd |
|---|---|---|---|---|---|---|---|
${SIZE_ROWS%$'\n'}
TABLES
fi

if [ -n "$POINTS" ]; then
    MAP_ROWS="" MAP_FIXED=""
    for p in $POINTS; do
        progress "$p points: generating GeoJSON"
        python3 "$ROOT/scripts/gen-points.py" "$p" >"$WORK/points.geojson"
        M="$WORK/map"
        fresh "$M"
        progress "$p points: map import ($(du -h "$WORK/points.geojson" | cut -f1))"
        map_import=$(try -- "$MULE" --store "$M" map import "$WORK/points.geojson")
        progress "$p points: map import again, reindex"
        map_again=$(try -- "$MULE" --store "$M" map import "$WORK/points.geojson")
        map_reindex=$(try -- "$MULE" --store "$M" reindex)
        map_get=$(try --repeat "$REPEAT" -- "$MULE" --store "$M" map get p7)
        map_status=$(try --repeat "$REPEAT" -- "$MULE" --store "$M" status)
        rm -rf "$M" "$WORK/points.geojson"
        MAP_ROWS+="$(row '`map import` (FeatureCollection of points)' "$p" "$map_import" -)
$(row '`map import` again (writes nothing)' "$p" "$map_again" -)
$(row '`reindex` (map view)' "$p" "$map_reindex" -)
"
        MAP_FIXED+="$(fixed_row '`map get p7`' "$p" "$map_get")
$(fixed_row '`status`' "$p" "$map_status")
"
    done
    cat <<TABLE

### Map points (gen-points.py)

| operation | P | wall s | CPU s | peak RSS MiB | points per CPU s |
|---|---|---|---|---|---|
${MAP_ROWS}
### Fixed cost on the P-point store (median of $REPEAT runs)

| operation | P | wall ms | CPU ms | peak RSS MiB |
|---|---|---|---|---|
${MAP_FIXED%$'\n'}
TABLE
fi
