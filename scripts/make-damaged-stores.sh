#!/usr/bin/env bash
# Makes fixtures/damaged-stores/<defect>/: small stores (store.sqlite, views.sqlite, device.key)
# damaged the way a person with the sqlite3 shell, or a bad disk, damages them. Each starts as
# the same store (kv a="x" and b=3, map node A, one calendar event), then one UPDATE, DROP or
# overwrite names its defect. Keys and times are random, so each run makes different bytes;
# tests/it/damaged.rs checks what mule must do with each (never panic, name the file and the
# damaged place, rebuild views, report log damage in fsck) and keeps reading the committed files.
# Run it again when views' VIEWS_VERSION changes: a views file of an older version is rebuilt for
# that reason before its damage is seen, and the tests expect the damage to be what mule notes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
mule="${CARGO_TARGET_DIR:-target}/debug/mule"
out=fixtures/damaged-stores
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

base="$work/base"
"$mule" --store "$base" kv put a '"x"' >/dev/null
"$mule" --store "$base" kv put b 3 >/dev/null
"$mule" --store "$base" map create '{"id":"A","lat":64.5,"lon":-147.6}' >/dev/null
"$mule" --store "$base" cal add "dec 5 2026 9:30am standup" >/dev/null

# damage NAME FILE SQL: a copy of the base store with SQL run on FILE, its pages made small. A
# damaged log comes without views (mule builds them from the log, when it can read it).
damage() {
    local dir="$out/$1"
    rm -rf "$dir"
    mkdir -p "$dir"
    # With their write-ahead logs: mule leaves the last writes there between commands.
    cp "$base/device.key" "$base"/store.sqlite* "$base"/views.sqlite* "$dir/"
    python3 - "$dir" "$2" "$3" <<'PY'
import sqlite3, sys
folder, damaged, sql = sys.argv[1:]
for name in ["store.sqlite", "views.sqlite"]:
    db = sqlite3.connect(f"{folder}/{name}", isolation_level=None)
    if name == damaged:
        db.executescript(sql)
    # 512-byte pages keep a store of a dozen empty tables near 12 KB.
    for pragma in ["journal_mode=DELETE", "page_size=512"]:
        db.execute(f"PRAGMA {pragma}")
    db.execute("VACUUM")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
PY
    rm -f "$dir"/*.sqlite-wal "$dir"/*.sqlite-shm
    if [ "$2" = store.sqlite ]; then rm "$dir/views.sqlite"; fi
}

# Views (views.sqlite): derived, so mule rebuilds them with a note; fsck --repair rebuilds them.
damage views-kv-value-not-json views.sqlite "UPDATE kv_versions SET value = 'not json{' WHERE key = 'a';"
damage views-kv-value-blob views.sqlite "UPDATE kv_versions SET value = x'0102' WHERE key = 'a';"
damage views-kv-hash-wrong-size views.sqlite "UPDATE kv_versions SET hash = x'0102' WHERE key = 'a';"
damage views-table-dropped views.sqlite "DROP TABLE kv_superseded;"
damage views-frontier-negative-seq views.sqlite "UPDATE views_frontier SET seq = -5;"
damage views-cal-doc-not-an-event views.sqlite "UPDATE cal_versions SET doc = '{}';"
damage views-map-doc-not-json views.sqlite "UPDATE map_versions SET doc = 'nojson';"
damage views-not-a-database views.sqlite ""
printf 'this is not an SQLite database\n' > "$out/views-not-a-database/views.sqlite"

# The log (store.sqlite): what derives from the rows (frontier, head, kinds) fsck --repair
# rebuilds; a damaged row it reports with its place and cannot fix.
damage store-author-id-wrong-size store.sqlite "UPDATE authors_v1 SET author = x'0102';"
damage store-author-id-text store.sqlite "UPDATE authors_v1 SET author = 'zz';"
damage store-head-wrong-size store.sqlite "UPDATE authors_v1 SET head = x'01';"
damage store-frontier-negative store.sqlite "UPDATE authors_v1 SET frontier = -1;"
damage store-kinds-blob store.sqlite "UPDATE segments_v1 SET kinds = x'00';"
damage store-segment-seq-negative store.sqlite "UPDATE segments_v1 SET first = -3;"
damage store-segment-data-garbage store.sqlite "UPDATE segments_v1 SET data = x'00112233';"
damage store-author-row-deleted store.sqlite "DELETE FROM authors_v1;"
damage store-acknowledgement-wrong-size store.sqlite "INSERT INTO peers_v2 VALUES (x'01', 1, 3);"
du -sh "$out"
