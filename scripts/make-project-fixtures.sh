#!/usr/bin/env bash
# Makes fixtures/v1/project/: a project "Camp" as mule writes it (sealed bundles, invite text,
# project key). Keys, ids and ciphertexts are random, so each run makes different bytes; the
# tests (tests/it/fixtures.rs) check what any run must hold, and keep reading the committed ones.
#
#   scripts/make-project-fixtures.sh [OUT_DIR]   (default: fixtures/v1/project)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-fixtures/v1/project}"
mkdir -p "$out"
cargo build --quiet
mule=target/debug/mule
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The root creates the project, writes two values, and makes two invites that last a century:
# one for the field device below, one left unused for the tests to join with.
$mule --store "$work/root" project create Camp >/dev/null
$mule --store "$work/root" kv put well-7 '"dry"' >/dev/null
$mule --store "$work/root" kv put well-8 '"full"' >/dev/null
field_invite="$($mule --store "$work/root" project invite --expires 36500d 2>/dev/null)"
$mule --store "$work/root" project invite --expires 36500d >"$out/camp.invite" 2>/dev/null
$mule --store "$work/root" project key >"$out/camp.agekey"
$mule --store "$work/root" export --all -o "$out/camp-root.mule" >/dev/null

# The field device joins and writes one value over the root's, from its own chain.
$mule --store "$work/field" project join "$field_invite" >/dev/null
$mule --store "$work/field" import "$out/camp-root.mule" >/dev/null
$mule --store "$work/field" kv put well-8 '"half"' >/dev/null
$mule --store "$work/field" export -o "$out/camp-field.mule" >/dev/null
ls -l "$out"
