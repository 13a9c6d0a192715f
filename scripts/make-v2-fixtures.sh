#!/usr/bin/env bash
# Makes fixtures/v2/agenda.mule: a format-2 bundle carrying one blob (fixtures/v2/agenda.pdf, a
# one-page PDF) and the entry that names it. Keys and times are random, so each run makes
# different bytes; tests/it/fixtures.rs checks what any run must hold and keeps reading the
# committed file.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
target/debug/mule --store "$work/s" blob add fixtures/v2/agenda.pdf --kind document \
    --meta '{"meeting": "water committee"}' >/dev/null
target/debug/mule --store "$work/s" export --all -o fixtures/v2/agenda.mule
