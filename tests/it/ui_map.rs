//! `mule ui`'s map routes (issue 17): the box query (documents, or bounded clusters; bad boxes
//! and zooms refused), the extent, writing and deleting points, and photos in and out.

use assert_cmd::prelude::*;

use super::ui::Ui;
use super::*;

/// `count` nodes on a grid near (lat, lon), appended in one go.
fn nodes(store: &Path, count: usize, lat: f64, lon: f64) {
    let lines: String = (0..count)
        .map(|i| {
            let (row, column) = ((i / 100) as f64, (i % 100) as f64);
            format!(
                "{{\"id\":\"n{i}\",\"lat\":{},\"lon\":{}}}\n",
                lat + row * 0.001,
                lon + column * 0.001
            )
        })
        .collect();
    let output = append_lines(store, "map", &lines);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn ui_map_answers_a_box_with_its_documents_and_refuses_bad_boxes_and_zooms() {
    let work = Work::new();
    let store = work.path("a");
    mule(&store)
        .args([
            "map",
            "create",
            r#"{"id":"well","lat":-1.29,"lon":36.82,"tags":{"name":"North well"}}"#,
        ])
        .assert()
        .success();
    let ui = Ui::start(&store);
    let reply = ui.call("GET", "/api/map?bbox=36,-2,37,-1&zoom=12", b"");
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let shown = reply.json();
    assert_eq!(shown["kind"], "documents");
    assert_eq!(shown["documents"][0]["tags"]["name"], "North well");
    assert_eq!(shown["truncated"], false);
    let across = ui
        .call("GET", "/api/map?bbox=170,-2,37,-1&zoom=2", b"")
        .json();
    assert_eq!(across["documents"][0]["id"], "well", "west > east wraps");
    for bad in [
        "/api/map",
        "/api/map?zoom=3",
        "/api/map?bbox=1,2,3&zoom=3",
        "/api/map?bbox=1,2,3,4,5&zoom=3",
        "/api/map?bbox=a,b,c,d&zoom=3",
        "/api/map?bbox=-180,-95,180,90&zoom=3",
        "/api/map?bbox=-181,-90,180,90&zoom=3",
        "/api/map?bbox=-1e999,-90,180,90&zoom=3",
        "/api/map?bbox=NaN,-90,180,90&zoom=3",
        "/api/map?bbox=0,10,1,5&zoom=3",
        "/api/map?bbox=0,0,1,1",
        "/api/map?bbox=0,0,1,1&zoom=25",
        "/api/map?bbox=0,0,1,1&zoom=-1",
        "/api/map?bbox=0,0,1,1&zoom=99999999999999999999",
        "/api/map?bbox=0,0,1,1&zoom=2.5",
    ] {
        let reply = ui.call("GET", bad, b"");
        assert_eq!(reply.status, 400, "{bad}");
        assert!(reply.json()["error"].is_string(), "{bad}");
    }
    let extent = ui.call("GET", "/api/map/extent", b"").json();
    assert_eq!(extent["extent"]["south"], -1.29);
    assert_eq!(extent["extent"]["east"], 36.82);
}

#[test]
fn ui_map_clusters_a_crowded_box_into_a_bounded_answer() {
    let work = Work::new();
    let store = work.path("a");
    // More nodes than an answer may carry features, each far from the others at zoom 24.
    let count = mule::views::map::MAX_FEATURES + 200;
    nodes(&store, count, 10.0, 20.0);
    let ui = Ui::start(&store);
    // The whole world at the deepest zoom: cells are widened so the answer stays bounded.
    for query in [
        "bbox=-180,-90,180,90&zoom=24",
        "bbox=-180,-90,180,90&zoom=0",
        "bbox=19,9,21,11&zoom=12",
    ] {
        let shown = ui.call("GET", &format!("/api/map?{query}"), b"").json();
        assert_eq!(shown["kind"], "clusters", "{query}");
        assert_eq!(shown["nodes"], count, "{query}");
        let clusters = shown["clusters"].as_array().expect("clusters");
        assert!(clusters.len() <= mule::views::map::MAX_FEATURES, "{query}");
        assert_eq!(
            shown["truncated"], false,
            "{query}: cells widen to hold them all"
        );
        let total: u64 = clusters.iter().filter_map(|c| c["count"].as_u64()).sum();
        assert_eq!(total, count as u64, "{query}: every node is in a cluster");
    }
    let zoomed = ui.call("GET", "/api/map?bbox=20,10,20.01,10.01&zoom=18", b"");
    assert_eq!(
        zoomed.json()["kind"],
        "documents",
        "a close box shows documents"
    );
}

#[test]
fn ui_map_writes_points_through_the_replica_and_serves_their_photos() {
    let work = Work::new();
    let store = work.path("a");
    let ui = Ui::start(&store);
    let made = ui.call(
        "POST",
        "/api/map",
        br#"{"lat": 4.5, "lon": -7.25, "tags": {"name": "Spring"}}"#,
    );
    assert_eq!(made.status, 200, "{}", String::from_utf8_lossy(&made.body));
    let id = made.json()["id"].as_str().expect("an id").to_owned();
    let got = json(&store, &["map", "get", &id]);
    assert_eq!(got["tags"]["name"], "Spring");
    let log = stdout(&run(&store, &["--json", "log"]));
    let author = stdout(&run(&store, &["id"]));
    assert!(log.contains(author.trim()), "signed by this device");

    let jpeg = [&[0xff, 0xd8, 0xff, 0xe0][..], &[7u8; 5000]].concat();
    let uploaded = ui.call("POST", "/api/map/photo?name=../../evil.jpg", &jpeg);
    assert_eq!(
        uploaded.status,
        200,
        "{}",
        String::from_utf8_lossy(&uploaded.body)
    );
    let hash = uploaded.json()["hash"].as_str().expect("hash").to_owned();
    let listed = stdout(&run(&store, &["blob", "ls"]));
    assert!(
        listed.contains("evil.jpg") && !listed.contains(".."),
        "{listed}"
    );
    let body = format!(
        r#"{{"type":"node","lat":4.5,"lon":-7.25,"tags":{{"name":"Spring","photo":"blob:{hash}"}}}}"#
    );
    let path = format!("/api/map/doc/{id}");
    assert_eq!(ui.call("PUT", &path, body.as_bytes()).status, 200);
    let details = ui.call("GET", &path, b"").json();
    assert_eq!(details["photos"][0]["hash"], hash.as_str());
    assert_eq!(details["history"].as_array().map(Vec::len), Some(1));
    let photo = ui.call("GET", &format!("/api/map/blob/{hash}"), b"");
    assert_eq!(photo.status, 200);
    assert_eq!(photo.header("content-type"), Some("image/jpeg"));
    assert_eq!(photo.body, jpeg);

    let unknown = "00".repeat(32);
    let missing = ui.call("GET", &format!("/api/map/blob/{unknown}"), b"");
    assert_eq!(missing.status, 404);
    assert_eq!(ui.call("GET", "/api/map/blob/xyz", b"").status, 400);
    assert_eq!(ui.call("PUT", &path, br#"{"lat": 95}"#).status, 400);
    assert_eq!(ui.call("POST", "/api/map", b"not json").status, 400);
    assert_eq!(ui.call("GET", "/api/map/doc/nothing", b"").status, 404);

    assert_eq!(ui.call("DELETE", &path, b"").status, 200);
    assert!(!run(&store, &["map", "get", &id]).status.success());
    assert_eq!(ui.call("DELETE", &path, b"").status, 404, "deleted already");
}
