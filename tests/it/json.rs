//! Every command's `--json` output reads back into its report type (`mule::report`, described
//! in docs/json.md) and writes out the same JSON: a field added, renamed, retyped or dropped on
//! either side fails here (issue 14).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use mule::report;

use super::*;

/// Checks that `line` reads into `T` and that `T` writes it out unchanged, and that
/// docs/json.md names each of its fields (a renamed field fails here, not in someone's script).
pub fn reads_back<T: DeserializeOwned + Serialize>(line: &Value) {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md"))
        .expect("docs/json.md");
    for key in line
        .as_object()
        .map(|fields| fields.keys())
        .into_iter()
        .flatten()
    {
        assert!(
            docs.contains(key.as_str()),
            "docs/json.md does not name the field `{key}` of {line}"
        );
    }
    let typed: T = serde_json::from_value(line.clone())
        .unwrap_or_else(|e| panic!("{line} is not a {}: {e}", std::any::type_name::<T>()));
    let again = serde_json::to_value(&typed).expect("serialize");
    assert_eq!(
        &again,
        line,
        "{} drops or changes a field",
        std::any::type_name::<T>()
    );
}

/// The JSON lines of `output`, each checked against `T`.
fn lines_of<T: DeserializeOwned + Serialize>(output: &Output, args: &[&str]) -> Vec<Value> {
    let lines: Vec<Value> = stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert!(
        !lines.is_empty(),
        "mule {args:?} printed nothing: {}",
        stderr(output)
    );
    lines.iter().for_each(reads_back::<T>);
    lines
}

/// Runs `mule --store STORE --json ARGS...`, which must succeed; checks every line against `T`.
fn check<T: DeserializeOwned + Serialize>(store: &Path, args: &[&str]) -> Vec<Value> {
    let output = mule(store).arg("--json").args(args).output().expect("run");
    assert!(
        output.status.success(),
        "mule {args:?}: {}",
        stderr(&output)
    );
    lines_of::<T>(&output, args)
}

/// [`check`] for a command that fails (exit 1) and still reports.
fn check_failed<T: DeserializeOwned + Serialize>(store: &Path, args: &[&str]) -> Vec<Value> {
    let output = mule(store).arg("--json").args(args).output().expect("run");
    assert_eq!(
        output.status.code(),
        Some(1),
        "mule {args:?}: {}",
        stderr(&output)
    );
    lines_of::<T>(&output, args)
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8")
}

#[test]
fn the_store_and_log_commands_print_their_report_types() {
    let work = Work::new();
    let store = work.path("store");
    check::<report::Id>(&store, &["id"]);
    check::<report::Appended>(&store, &["append", "obs", r#"{"t": 1}"#]);
    let mut command = mule(&store);
    command.args(["--json", "append", "obs", "-"]);
    let output = feed(command, &numbered(0, 3));
    assert!(output.status.success(), "{}", stderr(&output));
    lines_of::<report::AppendedLines>(&output, &["append", "obs", "-"]);
    check::<report::LogEntry>(&store, &["log"]);
    check::<report::Status>(&store, &["status"]);
    check::<report::Reindexed>(&store, &["reindex"]);
    check::<report::Fsck>(&store, &["fsck"]);
}

#[test]
fn the_view_commands_print_their_report_types() {
    let work = Work::new();
    let store = work.path("store");
    check::<report::Written>(&store, &["kv", "put", "well-7", r#""dry""#]);
    check::<mule::views::kv::Value>(&store, &["kv", "get", "well-7"]);
    check::<report::Key>(&store, &["kv", "list"]);
    check::<report::Written>(&store, &["kv", "del", "well-7"]);

    let doc = r#"{"id": "A", "lat": 64.5, "lon": -147.6, "tags": {"name": "well"}}"#;
    check::<report::DocWritten>(&store, &["map", "create", doc]);
    check::<report::DocWritten>(
        &store,
        &["map", "put", "A", r#"{"lat": 64.6, "lon": -147.6}"#],
    );
    check::<report::MapVersion>(&store, &["map", "get", "A"]);
    check::<report::MapVersion>(&store, &["map", "query", "64,65", "-148,-147"]);
    let geojson = work.path("points.geojson");
    let feature = r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.7, 59.9]}, "properties": {"name": "Oslo"}}"#;
    std::fs::write(
        &geojson,
        format!(
            r#"{{"type": "FeatureCollection", "features": [{feature},
                {{"type": "Feature", "id": "gone", "geometry": null, "properties": {{}}}}]}}"#
        ),
    )
    .expect("write geojson");
    check::<report::MapImported>(&store, &["map", "import", text(&geojson)]);
    check::<report::DocWritten>(&store, &["map", "del", "A"]);
    let pmtiles = work.path("area.pmtiles");
    std::fs::write(&pmtiles, [&b"PMTiles\x03"[..], &[0; 200]].concat()).expect("write");
    check::<report::BlobAdded>(&store, &["map", "basemap", "add", text(&pmtiles)]);
    check::<report::BasemapShown>(&store, &["map", "basemap", "ls"]);
    check::<report::Written>(&store, &["map", "basemap", "rm"]);

    let clock = ["--tz", "Europe/Oslo", "--now", "2026-11-25T10:00"];
    let added = check::<report::EventWritten>(
        &store,
        &[
            &["cal", "add", "every other friday at 4pm until march"],
            &clock[..],
        ]
        .concat(),
    );
    let id = added[0]["id"].as_str().expect("an id").to_owned();
    check::<report::EventWritten>(
        &store,
        &[
            &["cal", "put", &id, "dec 5 9:30am", "--title", "DMV"],
            &clock[..],
        ]
        .concat(),
    );
    let all_day = check::<report::EventWritten>(
        &store,
        &[&["cal", "add", "dec 24 all day"], &clock[..]].concat(),
    );
    // Issue 16: the event in the shape of a `cal query` line, times with their offset.
    assert_eq!(added[0]["start"], "2026-11-27T16:00:00+01:00", "{added:?}");
    assert_eq!(added[0]["all_day"], false, "{added:?}");
    assert_eq!(added[0]["recurring"], true, "{added:?}");
    assert_eq!(added[0]["version"], added[0]["hash"], "{added:?}");
    assert_eq!(
        all_day[0]["start"], "2026-12-24T00:00:00+01:00",
        "{all_day:?}"
    );
    assert_eq!(
        all_day[0]["end"], "2026-12-25T00:00:00+01:00",
        "{all_day:?}"
    );
    assert_eq!(all_day[0]["except"], json!([]), "{all_day:?}");
    check::<report::Occurrence>(
        &store,
        &[
            "cal",
            "query",
            "2026-12-01",
            "2026-12-31",
            "--tz",
            "Europe/Oslo",
        ],
    );
    let ics = work.path("cal.ics");
    check::<report::IcsWritten>(&store, &["cal", "export", "--ics", text(&ics)]);
    check::<report::DocWritten>(&store, &["cal", "rm", &id]);
}

#[test]
fn the_bundle_and_blob_commands_print_their_report_types() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    let photo = work.path("photo.jpg");
    std::fs::write(&photo, hashed_lines(2000)).expect("write photo");
    check::<report::BlobAdded>(&a, &["blob", "add", text(&photo), "--kind", "photo"]);
    let listed = check::<report::BlobListed>(&a, &["blob", "ls"]);
    let hash = listed[0]["hash"].as_str().expect("a hash").to_owned();
    let copy = work.path("copy.jpg");
    check::<report::BlobWritten>(&a, &["blob", "get", &hash, "-o", text(&copy)]);

    let bundle = work.path("all.mule");
    check::<report::Exported>(&a, &["export", "--all", "-o", text(&bundle)]);
    check::<report::Verified>(&b, &["verify", text(&bundle)]);
    check::<report::Inspected>(&b, &["inspect", text(&bundle)]);
    check::<report::Import>(&b, &["import", text(&bundle)]);
    check::<report::Import>(&b, &["import", text(&bundle)]);
    let broken = work.path("broken.mule");
    std::fs::write(&broken, b"not a bundle").expect("write");
    check_failed::<report::Verified>(&b, &["verify", text(&broken)]);
    check_failed::<report::Import>(&b, &["import", text(&broken)]);
    // b lacks some chunks of a blob it was told about: `status` lists it as incomplete.
    let entries_only = work.path("entries-only.mule");
    let c = work.path("c");
    check::<report::Exported>(
        &a,
        &["export", "--all", "--no-blobs", "-o", text(&entries_only)],
    );
    check::<report::Import>(&c, &["import", text(&entries_only)]);
    let status = check::<report::Status>(&c, &["status"]);
    assert_eq!(
        status[0]["incomplete_blobs"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn the_sync_commands_print_their_report_types() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    check::<report::Written>(&a, &["kv", "put", "well-7", r#""dry""#]);
    let stick = work.folder("stick");
    check::<mule::folder::Report>(&a, &["sync", text(&stick)]);
    // B has nothing of its own: it leaves an acknowledgement (issue 15).
    let acknowledged = check::<mule::folder::Report>(&b, &["sync", text(&stick)]);
    assert_eq!(acknowledged[0]["acknowledged"], true, "{acknowledged:?}");

    let (server, url) =
        super::live::serve(&a, &["--json", "--listen", "127.0.0.1:0", "--peers", "1"]);
    let live = check::<mule::live::Report>(&b, &["sync", &url]);
    // Issue 16: a frontier is an object of author to seq here too, as in status and inspect.
    assert!(live[0]["peer_frontier"].is_object(), "{live:?}");
    let served = server.wait_with_output().expect("serve");
    assert!(served.status.success(), "{}", stderr(&served));
    lines_of::<mule::live::Report>(&served, &["serve"]);

    let peer = format!("{} --store {} sync -", env!("CARGO_BIN_EXE_mule"), text(&a));
    check::<mule::live::Report>(&b, &["sync", "--exec", &peer]);
}

#[test]
fn the_project_commands_print_their_report_types() {
    let work = Work::new();
    let (root, joiner) = (work.path("root"), work.path("joiner"));
    check::<report::ProjectCreated>(&root, &["project", "create", "Camp"]);
    let invited = check::<report::Invited>(&root, &["project", "invite"]);
    let invite = invited[0]["invite"].as_str().expect("an invite").to_owned();
    let joined = check::<report::Joined>(&joiner, &["project", "join", &invite]);
    let author = joined[0]["author"].as_str().expect("an author").to_owned();
    let bundle = work.path("join.mule");
    check::<report::Exported>(&joiner, &["export", "--all", "-o", text(&bundle)]);
    check::<report::Import>(&root, &["import", text(&bundle)]);
    check::<mule::project::Member>(&root, &["project", "members"]);
    check::<report::Status>(&root, &["status"]);
    check::<report::ProjectKey>(&root, &["project", "key"]);
    check::<report::Removed>(&root, &["project", "remove", &author]);
}

#[test]
fn the_qr_commands_print_their_report_types() {
    let work = Work::new();
    let store = work.path("store");
    check::<report::Written>(&store, &["kv", "put", "well-7", r#""dry""#]);
    let bundle = work.path("all.mule");
    check::<report::Exported>(&store, &["export", "--all", "-o", text(&bundle)]);
    let (frames, html, gif) = (
        work.path("frames"),
        work.path("play.html"),
        work.path("a.gif"),
    );
    check::<report::QrEncoded>(
        &store,
        &[
            "qr",
            "encode",
            text(&bundle),
            "--png",
            text(&frames),
            "--html",
            text(&html),
            "--gif",
            text(&gif),
        ],
    );
    let rebuilt = work.path("rebuilt.mule");
    check::<report::QrDecoded>(
        &store,
        &["qr", "decode", text(&frames), "-o", text(&rebuilt)],
    );
    check::<report::QrDecoded>(
        &work.path("other"),
        &["qr", "decode", text(&frames), "--import"],
    );
}

#[test]
fn qr_scan_prints_its_report_type() {
    if outside_tool("ffmpeg", "ffmpeg").is_none() {
        return;
    }
    let work = Work::new();
    let store = work.path("store");
    check::<report::Written>(&store, &["kv", "put", "well-7", r#""dry""#]);
    let bundle = work.path("all.mule");
    check::<report::Exported>(&store, &["export", "--all", "-o", text(&bundle)]);
    let frames = work.path("frames");
    let encode = ["qr", "encode", text(&bundle), "--png", text(&frames)];
    check::<report::QrEncoded>(&store, &encode);
    // ffmpeg reads numbered images as a video.
    let video = frames.join("frame-%05d.png");
    let rebuilt = work.path("rebuilt.mule");
    let scan = ["qr", "scan", "--input", text(&video)];
    check::<report::QrScanned>(&store, &[&scan[..], &["-o", text(&rebuilt)]].concat());
    check::<report::QrScanned>(&work.path("other"), &scan);
}

#[test]
fn qr_receiver_prints_its_report_type() {
    let work = Work::new();
    let page = work.path("receive.html");
    check::<report::ReceiverPage>(
        &work.path("store"),
        &["qr", "receiver", "--html", text(&page)],
    );
}

/// Issue 16: on failure `--json` printed plain text. A failed command prints one
/// `report::Failure` line on stdout (nothing on stderr) and keeps its exit code.
#[test]
fn a_failed_command_prints_a_failure_object() {
    let work = Work::new();
    let store = work.path("store");
    let bundle = work.path("missing.mule");
    for args in [&["kv", "get", "nothing"][..], &["inspect", text(&bundle)]] {
        let output = mule(&store).arg("--json").args(args).output().expect("run");
        assert_eq!(output.status.code(), Some(1), "mule {args:?}");
        assert_eq!(stderr(&output), "", "mule {args:?}");
        let failure = lines_of::<report::Failure>(&output, args);
        assert_eq!(failure.len(), 1, "mule {args:?}: {failure:?}");
        assert!(failure[0]["error"].is_string(), "{failure:?}");
    }
}

#[test]
fn ui_url_line_and_kv_answer_read_back() {
    let work = Work::new();
    let store = work.path("a");
    mule(&store)
        .args(["kv", "put", "k", "1"])
        .output()
        .expect("put");
    let ui = super::ui::Ui::start(&store);
    reads_back::<report::UiStarted>(&ui.first_line);
    let listed = ui.call("GET", "/api/kv", b"").json();
    let lines = listed["keys"].as_array().expect("an array of keys");
    assert_eq!(lines.len(), 1);
    lines.iter().for_each(reads_back::<report::KeyValues>);
}
