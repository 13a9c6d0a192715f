#!/usr/bin/env bash
# Measures mule against the targets in the README's performance section.
#
# Usage: scripts/bench.sh [N]     (N entries, default 1000000)
# Needs: cargo, python3, zstd, tar. Prints a Markdown table; run it on an idle machine.
set -euo pipefail

N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
MULE="$ROOT/target/release/mule"

now_ms() { date +%s%3N; }
# Runs a command, discarding its output, and prints how long it took in milliseconds.
timed() {
    local start end
    start=$(now_ms)
    "$@" >/dev/null
    end=$(now_ms)
    echo $((end - start))
}
# Best of three runs of a command (setup via a shell function named by $1 runs before each).
best_of_3() {
    local setup=$1 best=999999999 t
    shift
    for _ in 1 2 3; do
        "$setup"
        t=$(timed "$@")
        ((t < best)) && best=$t
    done
    echo "$best"
}
none() { :; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

python3 "$ROOT/scripts/gen-entries.py" "$N" >"$WORK/entries.jsonl"
BODY_BYTES=$(($(wc -c <"$WORK/entries.jsonl") / N))

fresh_a() { rm -rf "$WORK/a"; "$MULE" --store "$WORK/a" id >/dev/null; }
append_ms=$(best_of_3 fresh_a sh -c "\"$MULE\" --store \"$WORK/a\" append obs - < \"$WORK/entries.jsonl\"")
append_rate=$((N * 1000 / append_ms))

export_ms=$(best_of_3 none "$MULE" --store "$WORK/a" export --all -o "$WORK/all.mule")
bundle_bytes=$(stat -c %s "$WORK/all.mule")

zstd -q -dc "$WORK/all.mule" >"$WORK/all.tar"
baseline_ms=$(best_of_3 none zstd -q -3 -T1 -f "$WORK/all.tar" -o "$WORK/all.tar.zst")
baseline_bytes=$(stat -c %s "$WORK/all.tar.zst")

fresh_b() { rm -rf "$WORK/b"; "$MULE" --store "$WORK/b" id >/dev/null; }
import_ms=$(best_of_3 fresh_b "$MULE" --store "$WORK/b" import "$WORK/all.mule")
reimport_ms=$(best_of_3 none "$MULE" --store "$WORK/b" import "$WORK/all.mule")

# Delta export: 100 new entries on top of the big store, and on top of a 10,000-entry store.
delta() {
    local store=$1 since
    since=$("$MULE" --store "$store" status --json | python3 -c 'import json,sys; f=json.load(sys.stdin)["frontier"]; print(",".join(f"{a}:{s}" for a,s in f.items()))')
    head -n 100 "$WORK/entries.jsonl" | "$MULE" --store "$store" append obs - >/dev/null
    best_of_3 none "$MULE" --store "$store" export --since "$since" -o "$WORK/delta.mule"
}
delta_big_ms=$(delta "$WORK/a")
rm -rf "$WORK/small"
head -n 10000 "$WORK/entries.jsonl" | "$MULE" --store "$WORK/small" append obs - >/dev/null
delta_small_ms=$(delta "$WORK/small")

# 100,000 entries each way, for comparison with git bundle create / git fetch.
rm -rf "$WORK/h"
head -n 100000 "$WORK/entries.jsonl" | "$MULE" --store "$WORK/h" append obs - >/dev/null
export_100k_ms=$(best_of_3 none "$MULE" --store "$WORK/h" export --all -o "$WORK/h.mule")
fresh_i() { rm -rf "$WORK/i"; }
import_100k_ms=$(best_of_3 fresh_i "$MULE" --store "$WORK/i" import "$WORK/h.mule")

# Views: rebuild the kv view from N key/value puts, and one `kv get` (a whole process).
python3 "$ROOT/scripts/gen-entries.py" "$N" --kv >"$WORK/kv.jsonl"
"$MULE" --store "$WORK/kv" append kv - <"$WORK/kv.jsonl" >/dev/null
reindex_ms=$(best_of_3 none "$MULE" --store "$WORK/kv" reindex)
reindex_rate=$((N * 1000 / reindex_ms))
kv_get_ms=$(best_of_3 none "$MULE" --store "$WORK/kv" kv get site-7)

cat <<TABLE
| measurement ($N entries, ~$BODY_BYTES-byte JSON bodies) | result | target |
|---|---|---|
| bulk append from stdin | $append_rate entries/s ($append_ms ms) | >= 300,000 entries/s |
| baseline: zstd -3 -T1 of the bundle's tar | $baseline_ms ms, $baseline_bytes bytes | |
| export --all | $export_ms ms = $(ratio "$export_ms" "$baseline_ms")x baseline | <= 2x |
| import into an empty store | $import_ms ms = $(ratio "$import_ms" "$baseline_ms")x baseline | <= 5x |
| bundle size | $bundle_bytes bytes = $(ratio "$bundle_bytes" "$baseline_bytes")x baseline, $(ratio "$bundle_bytes" "$N") bytes/entry | <= 1.1x, < 60 bytes/entry |
| re-import of the same bundle | $reimport_ms ms | < 50 ms |
| delta export of 100 new entries, $N-entry store | $delta_big_ms ms | < 100 ms |
| delta export of 100 new entries, 10,000-entry store | $delta_small_ms ms | same as above |
| export of 100,000 entries | $export_100k_ms ms | 10x faster than git bundle create (~5.5 s) |
| import of 100,000 entries | $import_100k_ms ms | 10x faster than git fetch (~8.4 s) |
| rebuild the kv view from $N puts (mule reindex) | $reindex_rate entries/s ($reindex_ms ms) | >= 200,000 entries/s |
| mule kv get, whole process, $N-put store | $kv_get_ms ms | |
TABLE
