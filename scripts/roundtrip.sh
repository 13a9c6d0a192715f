#!/usr/bin/env bash
# A sneakernet round trip: your default store and a second store exchange entries through a
# folder standing in for a USB stick. Builds mule first.
#
# Usage: scripts/roundtrip.sh [FOLDER]   (default: a new temporary folder)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
mule() { "$ROOT/target/release/mule" "$@"; }

STICK=${1:-$(mktemp -d)}
OTHER=$(mktemp -d)/laptop-b
mkdir -p "$STICK"

echo "== your default store (set MULE_STORE or --store to use another)"
mule id
mule append note "{\"text\": \"hello from $(hostname)\", \"at\": \"$(date -Is)\"}"
echo "== sync it to the stick: $STICK"
mule sync "$STICK"
echo "== laptop B ($OTHER) syncs the stick: imports, then writes its own entry back"
mule --store "$OTHER" sync "$STICK"
mule --store "$OTHER" append note '{"text": "hello back from laptop B"}'
mule --store "$OTHER" sync "$STICK"
echo "== your store syncs again and now holds both"
mule sync "$STICK"
mule status
mule log | tail -n 3
