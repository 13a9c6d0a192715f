#!/usr/bin/env bash
# First run: builds mule (release), says where the binary is, then shows a sneakernet round trip
# between two stores of its own through a folder standing in for a USB stick. The demo lives in
# a temporary folder it names and removes at the end: your default store is never touched.
#
# Usage: scripts/roundtrip.sh [--keep]   --keep leaves the demo folder for you to look at.
# MULE_BIN=/path/to/mule skips the build and runs the demo with that binary.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

keep=false
case "${1:-}" in
    --keep) keep=true ;;
    "") ;;
    *) echo "usage: scripts/roundtrip.sh [--keep]" >&2; exit 2 ;;
esac

if [ -n "${MULE_BIN:-}" ]; then
    bin=$MULE_BIN
else
    echo "== building mule: the first build takes some 7 minutes on 2 cores; later ones are quick"
    cargo build --release --locked --manifest-path "$ROOT/Cargo.toml"
    bin=${CARGO_TARGET_DIR:-$ROOT/target}/release/mule
    echo "== the mule binary is $bin"
    echo "   to type \`mule\` anywhere: cargo install --path \"$ROOT\" --locked   (copies it to ~/.cargo/bin)"
fi

demo=$(mktemp -d "${TMPDIR:-/tmp}/mule-demo.XXXXXX")
if $keep; then
    echo "== the demo stays in $demo (remove it with: rm -r \"$demo\")"
else
    trap 'rm -rf "$demo"' EXIT
fi
a=$demo/laptop-a
b=$demo/laptop-b
stick=$demo/stick
mkdir -p "$stick"
on_a() { "$bin" --store "$a" "$@"; }
on_b() { "$bin" --store "$b" "$@"; }

echo "== a demo on two temporary stores in $demo; your own store is not touched"
echo "== laptop A ($a) puts a value and syncs the stick ($stick)"
on_a id
on_a kv put well-7 '"dry"'
on_a sync "$stick"
echo "== laptop B ($b) syncs the stick, puts a newer value and syncs again"
on_b sync "$stick"
on_b kv put well-7 '"wet"'
on_b sync "$stick"
echo "== laptop A syncs again: it now shows B's value"
on_a sync "$stick"
on_a kv get well-7
on_a status
if ! $keep; then
    echo "== done; the demo folder is removed"
fi
