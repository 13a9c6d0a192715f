//! The map view through the CLI: the seed demo, edits, forks and their winner, deletions,
//! the antimeridian, GeoJSON in and out.

use assert_cmd::prelude::*;
use predicates::prelude::*;
use serde_json::Value;

use super::*;

fn lines(store: &Path, args: &[&str]) -> Vec<Value> {
    let out = run(store, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn ids(docs: &[Value]) -> Vec<&str> {
    docs.iter().map(|d| d["id"].as_str().expect("id")).collect()
}

fn seed_demo(store: &Path) {
    for doc in [
        r#"{"id":"A","lat":64.5,"lon":-147.6}"#,
        r#"{"id":"B","lat":63.9,"lon":-147.6}"#,
        r#"{"id":"C","lat":-23.4,"lon":-46.6}"#,
    ] {
        mule(store).args(["map", "create", doc]).assert().success();
    }
}

#[test]
fn the_seed_demo_query_finds_a_and_b_not_c() {
    let work = Work::new();
    let store = work.path("s");
    seed_demo(&store);
    let found = lines(&store, &["map", "query", "61,65", "-148,-144"]);
    assert_eq!(ids(&found), ["A", "B"]);
    assert_eq!(found[0]["type"], "node");
    assert_eq!(found[0]["version"].as_str().expect("version").len(), 64);
    let out = run(&store, &["map", "create", r#"{"lat":1,"lon":2}"#]);
    let generated = stdout(&out).trim().to_owned();
    assert_eq!(generated.len(), 16);
    assert_eq!(lines(&store, &["map", "get", &generated])[0]["lat"], 1);
}

#[test]
fn ways_come_with_their_other_nodes() {
    let work = Work::new();
    let store = work.path("s");
    seed_demo(&store);
    mule(&store)
        .args([
            "map",
            "create",
            r#"{"id":"W","type":"way","refs":["A","C"],"tags":{"highway":"track"}}"#,
        ])
        .assert()
        .success();
    let found = lines(&store, &["map", "query", "64,65", "-148,-147"]);
    assert_eq!(ids(&found), ["A", "W", "C"]);
    let out = run(&store, &["map", "query", "64,65", "-148,-147", "--geojson"]);
    let geojson: Value = serde_json::from_slice(&out.stdout).expect("GeoJSON");
    assert_eq!(geojson["type"], "FeatureCollection");
    // Issue 15: A and C are only W's vertices, not features of their own.
    assert_eq!(geojson["features"].as_array().expect("features").len(), 1);
    let way = &geojson["features"][0];
    assert_eq!(way["id"], "W");
    assert_eq!(way["geometry"]["type"], "LineString");
    assert_eq!(
        way["geometry"]["coordinates"][1],
        serde_json::json!([-46.6, -23.4])
    );
}

#[test]
fn edits_move_nodes_and_deleted_documents_never_show() {
    let work = Work::new();
    let store = work.path("s");
    seed_demo(&store);
    mule(&store)
        .args(["map", "put", "A", r#"{"lat":10,"lon":10}"#])
        .assert()
        .success();
    assert_eq!(
        ids(&lines(&store, &["map", "query", "61,65", "-148,-144"])),
        ["B"]
    );
    assert_eq!(
        ids(&lines(&store, &["map", "query", "9,11", "9,11"])),
        ["A"]
    );
    mule(&store).args(["map", "del", "B"]).assert().success();
    assert!(lines(&store, &["map", "query", "61,65", "-148,-144"]).is_empty());
    mule(&store)
        .args(["map", "get", "B"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no map document `B`"));
}

#[test]
fn concurrent_edits_fork_and_every_replica_shows_the_same_winner() {
    let work = Work::new();
    let (a, b, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    mule(&a)
        .args(["map", "create", r#"{"id":"P","lat":1,"lon":1}"#])
        .assert()
        .success();
    mule(&a).arg("sync").arg(&stick).assert().success();
    mule(&b).arg("sync").arg(&stick).assert().success();
    mule(&a)
        .args(["map", "put", "P", r#"{"lat":2,"lon":2}"#])
        .assert()
        .success();
    mule(&b)
        .args(["map", "put", "P", r#"{"lat":3,"lon":3}"#])
        .assert()
        .success();
    for store in [&a, &b, &a] {
        mule(store).arg("sync").arg(&stick).assert().success();
    }
    let (shown_a, shown_b) = (
        lines(&a, &["map", "get", "P"]),
        lines(&b, &["map", "get", "P"]),
    );
    assert_eq!(shown_a, shown_b);
    assert_eq!(shown_a.len(), 1);
    assert_eq!(lines(&a, &["map", "get", "P", "--forks"]).len(), 2);
    assert_eq!(lines(&a, &["map", "query", "0,5", "0,5"]).len(), 1);
    assert_eq!(
        lines(&a, &["map", "query", "0,5", "0,5", "--forks"]).len(),
        2
    );
    // A deletion on one side and an edit on the other: deletion wins, no ghost point.
    mule(&a).args(["map", "del", "P"]).assert().success();
    mule(&b)
        .args(["map", "put", "P", r#"{"lat":4,"lon":4}"#])
        .assert()
        .success();
    for store in [&a, &b, &a] {
        mule(store).arg("sync").arg(&stick).assert().success();
    }
    assert!(lines(&a, &["map", "query", "0,5", "0,5"]).is_empty());
    assert!(lines(&b, &["map", "query", "0,5", "0,5"]).is_empty());
}

#[test]
fn nodes_on_the_poles_the_antimeridian_and_cell_borders_are_found() {
    let work = Work::new();
    let store = work.path("s");
    // Grid cells are 1/64 degree: 0.015625 is a cell border, 0.0156 just inside the first cell.
    for (id, lat, lon) in [
        ("north-east", 90.0, 180.0),
        ("south-west", -90.0, -180.0),
        ("border", 0.015625, 0.015625),
        ("inside", 0.0156, 0.0156),
    ] {
        let doc = format!(r#"{{"id":"{id}","lat":{lat},"lon":{lon}}}"#);
        mule(&store)
            .args(["map", "create", &doc])
            .assert()
            .success();
    }
    let query = |lat: &str, lon: &str| {
        let mut found: Vec<String> = ids(&lines(&store, &["map", "query", lat, lon]))
            .into_iter()
            .map(str::to_owned)
            .collect();
        found.sort();
        found
    };
    assert_eq!(query("-90,90", "-180,180").len(), 4);
    assert_eq!(query("89.99,90", "179.99,180"), ["north-east"]);
    assert_eq!(query("-90,-89.99", "-180,-179.99"), ["south-west"]);
    assert_eq!(query("0.015625,1", "0.015625,1"), ["border"]);
    assert_eq!(query("0,0.015625", "0,0.015625"), ["border", "inside"]);
    assert_eq!(query("0,0.0156", "0,0.0156"), ["inside"]);
    assert!(query("0.0157,1", "0,0.0156").is_empty());
}

#[test]
fn boxes_across_the_antimeridian_work() {
    let work = Work::new();
    let store = work.path("s");
    for doc in [
        r#"{"id":"east","lat":-17.7,"lon":178.4}"#,
        r#"{"id":"west","lat":-13.8,"lon":-171.8}"#,
        r#"{"id":"far","lat":-15,"lon":0}"#,
    ] {
        mule(&store).args(["map", "create", doc]).assert().success();
    }
    let mut found = ids(&lines(&store, &["map", "query", "-20,-10", "170,-170"]))
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    found.sort();
    assert_eq!(found, ["east", "west"]);
    mule(&store)
        .args(["map", "query", "10,0", "1,2"])
        .assert()
        .code(1);
    mule(&store)
        .args(["map", "query", "0,10", "1,200"])
        .assert()
        .code(1);
}

#[test]
fn geojson_files_import_as_documents() {
    let work = Work::new();
    let store = work.path("s");
    let file = work.path("sites.geojson");
    std::fs::write(
        &file,
        r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","id":"well-1","geometry":{"type":"Point","coordinates":[36.8,-1.3]},"properties":{"amenity":"drinking_water"}},
          {"type":"Feature","properties":{"id":"field-9","crop":"maize"},"geometry":{"type":"Polygon","coordinates":[[[36.0,-1.0],[36.1,-1.0],[36.1,-1.1],[36.0,-1.0]]]}},
          {"type":"Feature","properties":{},"geometry":{"type":"MultiPoint","coordinates":[[0,0]]}}
        ]}"#,
    )
    .expect("write");
    let out = run(
        &store,
        &["--json", "map", "import", file.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // Issue 15: the MultiPoint is a relation over one node now, not skipped.
    assert_eq!(summary["documents"], 7);
    assert_eq!(summary["skipped"], 0);
    let well = &lines(&store, &["map", "get", "well-1"])[0];
    assert_eq!(well["tags"]["amenity"], "drinking_water");
    let field = &lines(&store, &["map", "get", "field-9"])[0];
    assert_eq!(field["type"], "way");
    let refs = field["refs"].as_array().expect("refs");
    assert_eq!(refs.len(), 4);
    assert_eq!(refs[0], refs[3], "a closed ring reuses its first node");
    assert_eq!(
        ids(&lines(
            &store,
            &["map", "query", "-1.05,-0.95", "35.95,36.05"]
        )),
        ["field-9/0", "field-9", "field-9/1", "field-9/2"]
    );
    std::fs::write(&file, "{not json").expect("write");
    mule(&store)
        .args(["map", "import"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("sites.geojson"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// The grid index finds exactly the nodes a scan of every node finds, for any box, including
    /// boxes across the antimeridian and nodes moved by later edits.
    #[test]
    fn the_spatial_index_agrees_with_a_full_scan(
        nodes in proptest::collection::vec((-90.0..=90.0f64, -180.0..=180.0f64), 1..120),
        moves in proptest::collection::vec((0..120usize, -90.0..=90.0f64, -180.0..=180.0f64), 0..30),
        boxes in proptest::collection::vec((-90.0..=90.0f64, 0.0..40.0f64, -180.0..=180.0f64, -180.0..=180.0f64), 1..12),
    ) {
        use mule::entry::body_from_json;
        use mule::store::{Draft, Store};
        use mule::views::{Views, map::BBox};
        let work = tempfile::tempdir().expect("temp");
        let mut store = Store::open(&work.path().join("s")).expect("open");
        let draft = |id: usize, (lat, lon): (f64, f64), links| Draft {
            kind: "map".into(),
            body: body_from_json(&serde_json::json!({"id": format!("n{id}"), "lat": lat, "lon": lon})).expect("body"),
            links,
            timestamp: 1,
        };
        // Besides random nodes: nodes on every box's corners and edges, and just outside them,
        // where an off-by-one cell would show.
        let mut positions: Vec<(f64, f64)> = nodes.clone();
        for &(south, height, west, east) in &boxes {
            let north = (south + height).min(90.0);
            for lat in [south, north, (south + north) / 2.0, south - 1e-9, north + 1e-9] {
                for lon in [west, east, west - 1e-9, east + 1e-9] {
                    positions.push((lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0)));
                }
            }
        }
        let mut heads = store
            .append(positions.iter().enumerate().map(|(i, &p)| draft(i, p, vec![])).collect())
            .expect("append");
        for &(i, lat, lon) in &moves {
            let i = i % positions.len();
            positions[i] = (lat, lon);
            heads[i] = store.append(vec![draft(i, (lat, lon), vec![heads[i]])]).expect("move")[0];
        }
        let mut views = Views::open(store.dir()).expect("views");
        views.catch_up(&store).expect("catch up");
        for (south, height, west, east) in boxes {
            let north = (south + height).min(90.0);
            let bbox = BBox { south, north, west, east };
            let inside_lon = |lon: f64| if west <= east { lon >= west && lon <= east } else { lon >= west || lon <= east };
            let mut expected: Vec<String> = positions
                .iter()
                .enumerate()
                .filter(|(_, (lat, lon))| *lat >= south && *lat <= north && inside_lon(*lon))
                .map(|(i, _)| format!("n{i}"))
                .collect();
            expected.sort();
            let mut found: Vec<String> = views.map().query(&bbox, false).expect("query")
                .iter()
                .filter_map(|v| v.doc.as_ref().and_then(|d| d["id"].as_str()).map(str::to_owned))
                .collect();
            found.sort();
            proptest::prop_assert_eq!(found, expected);
        }
    }
}

#[test]
fn coordinates_keep_every_digit_and_boxes_on_them_find_them() {
    let work = Work::new();
    let store = work.path("s");
    let doc = r#"{"id":"p","lat":0.30000000000000004,"lon":-57.840803908498756}"#;
    mule(&store).args(["map", "create", doc]).assert().success();
    let got = lines(&store, &["map", "get", "p"]);
    assert_eq!(got[0]["lon"].to_string(), "-57.840803908498756");
    assert_eq!(got[0]["lat"].to_string(), "0.30000000000000004");
    let found = lines(
        &store,
        &[
            "map",
            "query",
            "0.30000000000000004,1",
            "-60,-57.840803908498756",
        ],
    );
    assert_eq!(ids(&found), ["p"]);
}

/// Issue 15: the hand-written file of country-like shapes (`fixtures/geojson/countries.geojson`).
fn import_countries(store: &Path) -> Value {
    let file = fixture("geojson/countries.geojson");
    let out = run(
        store,
        &["--json", "map", "import", file.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn countries_file() -> Value {
    let text = std::fs::read_to_string(fixture("geojson/countries.geojson")).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn world_geojson(store: &Path) -> Vec<Value> {
    let out = run(store, &["map", "query", "-90,90", "-180,180", "--geojson"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let geojson: Value = serde_json::from_slice(&out.stdout).expect("GeoJSON");
    geojson["features"].as_array().expect("features").clone()
}

/// A feature's name: its `name` or `NAME` property, else its `id` (features without an id get
/// one on import).
fn feature_name(feature: &Value) -> String {
    let properties = &feature["properties"];
    [&properties["name"], &properties["NAME"], &feature["id"]]
        .into_iter()
        .find(|v| !v.is_null())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .expect("a feature with an id or a name")
}

/// A geometry with every number as an f64 (a file's `7` and mule's `7.0` are the same place).
fn as_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => serde_json::json!(n.as_f64().expect("finite")),
        Value::Array(items) => Value::Array(items.iter().map(as_floats).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), as_floats(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn multipolygons_and_collections_import_as_relations_and_only_null_geometries_are_skipped() {
    let work = Work::new();
    let store = work.path("s");
    let summary = import_countries(&store);
    assert_eq!(summary["skipped"], 2);
    assert_eq!(
        summary["skipped_features"],
        serde_json::json!([
            {"index": 8, "id": "ATL", "name": "Atlantis"},
            {"index": 9, "id": null, "name": "Mu"},
        ])
    );
    let country = &lines(&store, &["map", "get", "ARC"])[0];
    assert_eq!(country["type"], "relation");
    assert_eq!(country["tags"]["type"], "multipolygon");
    assert_eq!(country["tags"]["NAME"], "Archipelago");
    let roles: Vec<&Value> = country["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| &m["role"])
        .collect();
    assert_eq!(roles, ["outer", "outer"]);
    let island = &lines(&store, &["map", "get", "ARC/1"])[0];
    assert_eq!(island["refs"].as_array().expect("refs").len(), 4);
    // The hole is kept: an inner ring.
    let enclosing = &lines(&store, &["map", "get", "ENC"])[0];
    assert_eq!(enclosing["members"][1]["role"], "inner");
    assert_eq!(enclosing["members"][1]["ref"], "ENC/1");
    let wells = &lines(&store, &["map", "get", "7"])[0];
    assert_eq!(wells["tags"]["type"], "collection");
    assert_eq!(wells["members"][1]["type"], "node");
    let peak = &lines(&store, &["map", "get", "peak"])[0];
    assert_eq!(peak["tags"]["ele"], 3482.5);
    let out = run(
        &store,
        &[
            "map",
            "import",
            fixture("geojson/countries.geojson")
                .to_str()
                .expect("utf-8"),
        ],
    );
    assert!(stdout(&out).contains(r#"skipped feature 8 (id "ATL"): null geometry"#));
    assert!(stdout(&out).contains(r#"skipped feature 9 (name "Mu"): null geometry"#));
}

#[test]
fn an_imported_file_exports_with_the_same_geometries() {
    let work = Work::new();
    let store = work.path("s");
    import_countries(&store);
    let exported = world_geojson(&store);
    let file = countries_file();
    let imported: Vec<&Value> = file["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| !f["geometry"].is_null())
        .collect();
    // One feature per feature of the file: no vertex and no ring of a relation on its own.
    let mut names: Vec<String> = exported.iter().map(feature_name).collect();
    let mut expected: Vec<String> = imported.iter().map(|f| feature_name(f)).collect();
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
    for feature in imported {
        let name = feature_name(feature);
        let back = exported
            .iter()
            .find(|f| feature_name(f) == name)
            .expect("exported");
        assert_eq!(
            as_floats(&back["geometry"]),
            as_floats(&feature["geometry"]),
            "{name}"
        );
        assert!(back["properties"].get("geojson:type").is_none(), "{name}");
    }
    // The export reads back: another store imports it and exports the same geometries.
    let copy = work.path("exported.geojson");
    let collection = serde_json::json!({"type": "FeatureCollection", "features": exported});
    std::fs::write(&copy, collection.to_string()).expect("write");
    let other = work.path("t");
    mule(&other)
        .args(["map", "import"])
        .arg(&copy)
        .assert()
        .success();
    let geometries = |features: &[Value]| -> std::collections::BTreeMap<String, Value> {
        features
            .iter()
            .map(|f| (feature_name(f), as_floats(&f["geometry"])))
            .collect()
    };
    assert_eq!(geometries(&world_geojson(&other)), geometries(&exported));
}

#[test]
fn importing_a_file_twice_changes_nothing() {
    let work = Work::new();
    let store = work.path("s");
    let first = import_countries(&store);
    let before = lines(&store, &["map", "query", "-90,90", "-180,180"]);
    let second = import_countries(&store);
    assert_eq!(
        lines(&store, &["map", "query", "-90,90", "-180,180"]),
        before
    );
    assert_eq!(first["unchanged"], 0);
    assert_eq!(second["documents"], 0);
    assert_eq!(second["unchanged"], first["documents"]);
    // A file with one feature changed writes that feature's document only.
    let text = std::fs::read_to_string(fixture("geojson/countries.geojson")).expect("fixture");
    let changed = work.path("changed.geojson");
    std::fs::write(&changed, text.replace("Thabana", "Thabana Ntlenyana")).expect("write");
    let out = run(
        &store,
        &["--json", "map", "import", changed.to_str().expect("utf-8")],
    );
    let third: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(third["documents"], 1);
    assert_eq!(
        lines(&store, &["map", "get", "peak"])[0]["tags"]["name"],
        "Thabana Ntlenyana"
    );
}

/// Issue 19: features are read as the file streams: newline-delimited GeoJSON (with or without
/// RFC 8142's record separators) imports as a FeatureCollection does; a later feature with the
/// id of an earlier one supersedes it, with no fork; a bad feature or a cut-off file imports
/// nothing and names the file.
#[test]
fn newline_delimited_geojson_imports_and_a_later_feature_wins() {
    let work = Work::new();
    let store = work.path("s");
    let feature = |id: &str, name: &str, lon: f64| {
        format!(
            r#"{{"type":"Feature","id":"{id}","geometry":{{"type":"Point","coordinates":[{lon},1.5]}},"properties":{{"name":"{name}"}}}}"#
        )
    };
    let file = work.path("wells.geojsonl");
    let text = [
        feature("w1", "old well", 30.0),
        format!("\u{1e}{}", feature("w2", "pump", 31.0)),
        feature("w1", "new well", 32.0),
    ]
    .join("\n");
    std::fs::write(&file, text).expect("write");
    let path = file.to_str().expect("utf-8");
    let imported = json(&store, &["map", "import", path]);
    assert_eq!(imported["documents"], 3);
    let w1 = lines(&store, &["map", "get", "w1"]);
    assert_eq!(w1.len(), 1, "one current version, no fork: {w1:?}");
    assert_eq!(w1[0]["tags"]["name"], "new well");
    let status = json(&store, &["status"]);
    for bad in [
        format!(
            "{}\n{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[999,1]}}}}",
            feature("w3", "x", 1.0)
        ),
        format!(
            r#"{{"type":"FeatureCollection","features":[{},"#,
            feature("w4", "y", 2.0)
        ),
    ] {
        std::fs::write(&file, bad).expect("write");
        let out = run(&store, &["map", "import", path]);
        assert!(!out.status.success());
        let stderr = stderr(&out);
        assert!(stderr.contains("wells.geojsonl"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert_eq!(json(&store, &["status"])["entries"], status["entries"]);
    }
}

#[test]
fn a_box_around_an_island_returns_the_whole_country() {
    let work = Work::new();
    let store = work.path("s");
    import_countries(&store);
    // Only the island's nodes are in the box; the relation brings the mainland along.
    let found = lines(&store, &["map", "query", "53.9,54.6", "15.4,16.3"]);
    let found_ids = ids(&found);
    assert_eq!(&found_ids[..3], ["ARC/1/0", "ARC/1/1", "ARC/1/2"]);
    assert_eq!(found_ids[3..6], ["ARC/1", "ARC", "ARC/0"]);
    assert_eq!(found.len(), 6 + 4, "and the mainland's four nodes");
    // A rebuild indexes relation members as the entry-by-entry catch-up did.
    mule(&store).arg("reindex").assert().success();
    assert_eq!(
        lines(&store, &["map", "query", "53.9,54.6", "15.4,16.3"]),
        found
    );
    let out = run(
        &store,
        &["map", "query", "53.9,54.6", "15.4,16.3", "--geojson"],
    );
    let geojson: Value = serde_json::from_slice(&out.stdout).expect("GeoJSON");
    let features = geojson["features"].as_array().expect("features");
    assert_eq!(features.len(), 1);
    assert_eq!(features[0]["geometry"]["type"], "MultiPolygon");
    assert_eq!(
        features[0]["geometry"]["coordinates"]
            .as_array()
            .expect("polygons")
            .len(),
        2
    );
}
