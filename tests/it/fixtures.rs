//! The committed fixtures: the format-1 bundle keeps reading with exactly the contents it was
//! written with; every damaged bundle is refused, by `verify` and by `import`, with its own
//! reason, and changes nothing; the README describes the files that are there; and the
//! generator still produces what is committed.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;

// The generator, compiled into this test binary so a test can run it into a temp dir.
#[allow(dead_code)]
#[path = "../../examples/make_fixtures.rs"]
mod make_fixtures;

/// Every damaged fixture and a distinctive part of the reason it must be refused with.
pub const BAD: &[(&str, &str)] = &[
    ("truncated-tail.mule", "file is truncated"),
    ("bit-flip.mule", "entry seq 2: signature does not match"),
    ("not-a-bundle.mule", "not a mule bundle (wrong file type"),
    (
        "zstd-without-header.mule",
        "zstd data without the mule header",
    ),
    (
        "newer-format.mule",
        "bundle format 4 is newer than this mule",
    ),
    (
        "forged-frontier.mule",
        "the sender's signature does not match: the manifest or contents were changed after signing, or the bundle was forged in the name of 55154f42",
    ),
    (
        "signature-missing.mule",
        "the sender's signature at the end of the file is missing or damaged (the file ends before it)",
    ),
    (
        "tampered-body.mule",
        "entry seq 3: signature does not match",
    ),
    (
        "wrong-signature.mule",
        "entry seq 3: signature does not match",
    ),
    (
        "unsigned-tail.mule",
        "entry seq 3 ends a segment but is not signed",
    ),
    (
        "manifest-lies-count.mule",
        "it counts 4 entries, the archive holds 3",
    ),
    (
        "manifest-lies-ranges.mule",
        "it lists seq 2-4 of author d404bc44 where the archive holds seq 1-3 of author d404bc44",
    ),
    (
        "member-dotdot.mule",
        "unexpected archive member `log/../../evil.cbor`",
    ),
    (
        "member-absolute.mule",
        "unexpected archive member `/etc/evil.cbor`",
    ),
    (
        "unknown-member.mule",
        "unexpected archive member `notes.txt`",
    ),
    (
        "decompression-bomb.mule",
        "exceeds 4096 bytes (refused as a possible decompression bomb)",
    ),
];

/// Fixtures whose defect lands wherever a byte of a freshly written bundle happens to be, so
/// a regenerated copy is refused for a reason of its own.
const POSITIONAL: &[&str] = &["bit-flip.mule"];

/// The two writers of `v1/two-writers.mule` (keys from the generator's fixed seeds).
const AUTHOR_A: &str = "bc7cbcb5636375fa1d82434d466724d92377f53b980695dd49d26d0ce12205a5";
const AUTHOR_B: &str = "55154f42065ea5a1bea05463826be2684eb92df92c100027aabaae57ca554207";

fn log_lines(store: &Path) -> Vec<Value> {
    let out = run(store, &["--json", "log"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn import_into_new_store(work: &Work, name: &str, bundle: &Path) -> PathBuf {
    let store = work.path(name);
    let imported = json(&store, &["import", bundle.to_str().expect("utf-8")]);
    assert_eq!(imported["rejected"], 0, "{imported}");
    store
}

/// The entries of `v1/two-writers.mule`, exactly: hashes pin the canonical entry encoding of
/// format 1, so a change to it shows here.
fn two_writers_log() -> Vec<Value> {
    let (a1, a2, a3) = (
        "523d47b9a603b84bc030c982223a694f27dc163be69822ba4376a4b34e1aa39b",
        "939ad397d575d96fd0ac51c04243cf7bf4a352f21ae74567980385d6d269d270",
        "8a3d2ec58741a6f1627b86eb1c2ecdd33c642fb1bf9d60486de7fb6dc4bf3a11",
    );
    let (b1, b2) = (
        "03f51253969a534fa279ce286e93821ab4ca57bbf00fd36d350f613463e6ef5d",
        "509a60f7466185945368db5bd322a1ec073f6b2696a05957930a7d0a2e6750f9",
    );
    // `mule log` lists author by author (ordered by id), each in seq order.
    vec![
        json!({"author": AUTHOR_B, "seq": 1, "hash": b1, "prev": null, "links": [a2],
               "timestamp": 1_795_000_005_000u64, "kind": "kv",
               "body": {"k": "well-8", "v": "half"}}),
        json!({"author": AUTHOR_B, "seq": 2, "hash": b2, "prev": b1, "links": [],
               "timestamp": 1_795_000_006_000u64, "kind": "cal",
               "body": {"start": "2026-12-01T09:00", "title": "water committee"}}),
        json!({"author": AUTHOR_A, "seq": 1, "hash": a1, "prev": null, "links": [],
               "timestamp": 1_795_000_000_000u64, "kind": "kv",
               "body": {"k": "well-7", "v": "dry"}}),
        json!({"author": AUTHOR_A, "seq": 2, "hash": a2, "prev": a1, "links": [],
               "timestamp": 1_795_000_001_000u64, "kind": "kv",
               "body": {"k": "well-8", "v": "full"}}),
        json!({"author": AUTHOR_A, "seq": 3, "hash": a3, "prev": a2, "links": [],
               "timestamp": 1_795_000_002_000u64, "kind": "map",
               "body": {"id": "n1", "lat": -1.2921, "lon": 36.8219, "tags": {"amenity": "clinic"}}}),
    ]
}

/// Imports a two-writers bundle into a new store; checks its exact entries; returns the status.
fn two_writers_status(work: &Work, name: &str, bundle: &str) -> Value {
    let store = import_into_new_store(work, name, &fixture(bundle));
    assert_eq!(log_lines(&store), two_writers_log(), "{bundle}");
    let status = json(&store, &["status"]);
    assert_eq!(status["entries"], 5);
    assert_eq!(status["authors"], 2);
    assert_eq!(status["frontier"], json!({AUTHOR_A: 3, AUTHOR_B: 2}));
    assert_eq!(status["waiting"], 0);
    status
}

#[test]
fn format_1_fixture_keeps_reading_with_its_exact_contents() {
    let status = two_writers_status(&Work::new(), "s", "v1/two-writers.mule");
    // Format 1 is unsigned: its frontier is no acknowledgement, so B is not a known peer and
    // every export still carries everything to it.
    assert_eq!(status["peers"], json!([]));
}

#[test]
fn format_3_fixture_reads_and_its_signed_frontier_is_believed() {
    let status = two_writers_status(&Work::new(), "s", "v3/two-writers.mule");
    assert_eq!(status["peers"][0]["peer"], AUTHOR_B);
    assert_eq!(
        status["peers"][0]["frontier"],
        json!({AUTHOR_A: 3, AUTHOR_B: 2})
    );
}

#[test]
fn inspect_shows_the_format_1_manifest() {
    let inspect = |json: bool| {
        let mut cmd = mule_bare();
        if json {
            cmd.arg("--json");
        }
        let out = cmd
            .arg("inspect")
            .arg(fixture("v1/two-writers.mule"))
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let manifest: Value = serde_json::from_str(&inspect(true)).expect("JSON");
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["sender"], AUTHOR_B);
    assert_eq!(manifest["entries"], 5);
    assert_eq!(manifest["frontier"], json!({AUTHOR_A: 3, AUTHOR_B: 2}));
    assert_eq!(
        manifest["segments"],
        json!([
            {"kind": "log", "author": AUTHOR_B, "first": 1, "last": 2},
            {"kind": "log", "author": AUTHOR_A, "first": 1, "last": 3},
        ])
    );
    let bytes = std::fs::metadata(fixture("v1/two-writers.mule"))
        .expect("fixture")
        .len();
    assert_eq!(manifest["bytes"], bytes);
    let text = inspect(false);
    assert!(text.contains(&format!("sender   {AUTHOR_B}")), "{text}");
    assert!(text.contains("entries  5 in 2 segments"), "{text}");
    assert!(text.contains(&format!("log/{AUTHOR_A}/1-3.cbor")), "{text}");
}

/// The error lines of a command's stderr (hints are extra lines, not errors).
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("error")).collect()
}

#[test]
fn damaged_bundles_are_refused_with_their_reason_and_change_nothing() {
    let work = Work::new();
    let store = work.path("s");
    assert!(append_lines(&store, "kv", &numbered(0, 3)).status.success());
    let before = state(&store);
    let nowhere = work.path("no-store-here");
    for (name, reason) in BAD {
        let path = fixture(&format!("bad/{name}"));
        let expected = format!("error: {}: ", path.display());
        // `verify` needs no store and must not create one.
        let verify = mule_bare()
            .env("MULE_STORE", &nowhere)
            .arg("verify")
            .arg(&path)
            .output()
            .expect("run");
        // Importing twice: a refused bundle is not recorded, so it is refused again rather
        // than skipped as already imported.
        let imports = [run(&store, &["import", path.to_str().expect("utf-8")]), {
            run(&store, &["import", path.to_str().expect("utf-8")])
        }];
        for (command, out) in
            std::iter::once(("verify", &verify)).chain(imports.iter().map(|o| ("import", o)))
        {
            assert_eq!(out.status.code(), Some(1), "{command} {name}");
            let err = stderr(out);
            let errors = error_lines(&err);
            assert_eq!(errors.len(), 1, "{command} {name}: one error line: {err}");
            assert!(
                err.starts_with(&expected) && errors[0].contains(reason),
                "{command} {name}: expected `{expected}...{reason}`, got: {err}"
            );
        }
        assert!(
            stdout(&imports[1]).contains(&format!("{}: rejected", path.display())),
            "{name}: {}",
            stdout(&imports[1])
        );
        assert_eq!(state(&store), before, "{name} changed the store");
    }
    assert!(!nowhere.exists(), "verify created a store");
}

#[test]
fn verify_reports_damage_as_json_too() {
    let work = Work::new();
    let out = mule_bare()
        .env("MULE_STORE", work.path("unused"))
        .arg("--json")
        .arg("verify")
        .arg(fixture("bad/unsigned-tail.mule"))
        .arg(fixture("v1/two-writers.mule"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], false);
    assert!(
        lines[0]["error"]
            .as_str()
            .expect("error")
            .contains("is not signed")
    );
    assert_eq!(lines[1]["ok"], true);
    assert_eq!(lines[1]["entries"], 5);
    assert_eq!(lines[1]["sender"], AUTHOR_B);
}

#[test]
fn good_bundles_import_beside_every_bad_one() {
    let work = Work::new();
    let store = work.path("s");
    let mut cmd = mule(&store);
    cmd.arg("--json").arg("import");
    for (i, (name, _)) in BAD.iter().enumerate() {
        if i == BAD.len() / 2 {
            cmd.arg(fixture("v1/two-writers.mule"));
        }
        cmd.arg(fixture(&format!("bad/{name}")));
    }
    let out = cmd.output().expect("run");
    assert_eq!(out.status.code(), Some(1), "any refusal fails the run");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(summary["new"], 5);
    assert_eq!(summary["rejected"], BAD.len());
    assert_eq!(summary["bundles"], BAD.len() + 1);
    let files = summary["files"].as_array().expect("files");
    assert_eq!(files[BAD.len() / 2]["status"], "imported");
    let refused = files.iter().filter(|f| f["status"] == "rejected").count();
    assert_eq!(refused, BAD.len());
    assert_eq!(error_lines(&stderr(&out)).len(), BAD.len());
    assert_eq!(log_lines(&store), two_writers_log());
}

/// The `bad/` table of fixtures/README.md: file name -> the reason column's text.
fn readme_rows() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(fixture("README.md")).expect("README");
    let section = readme.split("## bad/").nth(1).expect("a `## bad/` section");
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let reason = cells.get(3)?.trim_matches('`');
            Some((name.to_owned(), reason.to_owned()))
        })
        .collect()
}

#[test]
fn readme_describes_every_bad_fixture_and_its_real_reason() {
    let rows = readme_rows();
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture("bad"))
        .expect("bad/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = BAD.iter().map(|(name, _)| (*name).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "fixtures/bad and the tests' list differ");
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        listed,
        "README rows"
    );
    for (name, reason) in BAD {
        assert!(
            reason.contains(rows[*name].as_str()),
            "README gives `{}` for {name}, the reader says `{reason}`",
            rows[*name]
        );
    }
}

#[test]
fn fixtures_stay_small() {
    for dir in ["v1", "v1/project", "v2", "v3", "bad"] {
        for entry in std::fs::read_dir(fixture(dir)).expect("dir") {
            let entry = entry.expect("entry");
            if entry.path().is_dir() {
                continue;
            }
            let len = entry.metadata().expect("metadata").len();
            assert!(len <= 8 * 1024, "{:?} is {len} bytes", entry.path());
        }
    }
}

#[test]
fn format_2_fixture_keeps_reading_with_its_blob() {
    let work = Work::new();
    let store = import_into_new_store(&work, "s", &fixture("v2/agenda.mule"));
    let pdf = std::fs::read(fixture("v2/agenda.pdf")).expect("pdf");
    let hash = mule::Hash::of(&pdf).to_hex();
    let listed = json(&store, &["blob", "ls"]);
    assert_eq!(
        (&listed["hash"], &listed["name"]),
        (&hash.clone().into(), &"agenda.pdf".into())
    );
    assert_eq!(listed["meta"]["meeting"], "water committee");
    let back = work.path("agenda.pdf");
    json(
        &store,
        &["blob", "get", &hash, "-o", back.to_str().expect("utf-8")],
    );
    assert_eq!(std::fs::read(back).expect("read"), pdf);
    let inspected = json(
        &store,
        &[
            "inspect",
            fixture("v2/agenda.mule").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        (
            &inspected["format"],
            inspected["objects"].as_array().map(Vec::len)
        ),
        (&2.into(), Some(2))
    );
}

#[test]
fn project_fixtures_keep_reading_with_their_invite_and_key() {
    let work = Work::new();
    let project = |name: &str| fixture(&format!("v1/project/{name}"));
    let invite = std::fs::read_to_string(project("camp.invite")).expect("invite");
    let store = work.path("s");
    let joined = json(&store, &["project", "join", invite.trim()]);
    assert_eq!(
        (&joined["name"], &joined["role"]),
        (&"Camp".into(), &"member".into())
    );
    for bundle in ["camp-root.mule", "camp-field.mule"] {
        let imported = json(
            &store,
            &["import", project(bundle).to_str().expect("utf-8")],
        );
        assert_eq!(
            (&imported["rejected"], &imported["left_out"]),
            (&0.into(), &0.into())
        );
    }
    let value = |key: &str| {
        let got = json(&store, &["kv", "get", key]);
        got["value"].clone()
    };
    assert_eq!(
        (value("well-7"), value("well-8")),
        ("dry".into(), "half".into())
    );
    let members = run(&store, &["--json", "project", "members"]);
    let standing: Vec<Value> = stdout(&members)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line")["status"].clone())
        .collect();
    assert_eq!(standing, ["active"; 3], "root, field device, this store");
    // Without the project's key the sealed fixtures say so; `verify` with it reads them.
    let refused = mule_bare()
        .arg("verify")
        .arg(project("camp-root.mule"))
        .output()
        .expect("run");
    assert!(
        stderr(&refused).contains("encrypted for a project"),
        "{}",
        stderr(&refused)
    );
    let verified = json(
        &store,
        &[
            "verify",
            project("camp-field.mule").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        (&verified["ok"], &verified["encrypted"]),
        (&true.into(), &true.into())
    );
    let key = std::fs::read_to_string(project("camp.agekey")).expect("key");
    assert!(
        key.lines().any(|l| l.starts_with("AGE-SECRET-KEY-1")),
        "{key}"
    );
}

/// The reason `mule verify` gives for a file.
fn refusal(path: &Path) -> Option<String> {
    mule::bundle::read_bundle(path, None, |_| Ok(()))
        .err()
        .map(|e| e.reason.to_string())
}

#[test]
fn the_generator_still_makes_the_committed_fixtures() {
    let work = Work::new();
    let fresh = work.path("fresh");
    make_fixtures::generate(&fresh).expect("generate");
    // The same files (v1/project/ comes from scripts/make-project-fixtures.sh)...
    for dir in ["v3", "bad"] {
        let names = |root: &Path| {
            let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
                .expect("dir")
                .map(|e| e.expect("entry").path())
                .filter(|path| path.is_file())
                .map(|path| {
                    path.file_name()
                        .expect("name")
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(&fresh), names(&fixture("")), "{dir}/");
    }
    // ...the same entries in the good bundle...
    let committed = import_into_new_store(&work, "committed", &fixture("v3/two-writers.mule"));
    let regenerated =
        import_into_new_store(&work, "fresh-store", &fresh.join("v3/two-writers.mule"));
    assert_eq!(log_lines(&regenerated), log_lines(&committed));
    // ...and the same defects.
    for (name, _) in BAD {
        let old = refusal(&fixture(&format!("bad/{name}")));
        let new = refusal(&fresh.join("bad").join(name));
        assert!(new.is_some(), "a regenerated {name} is accepted");
        if !POSITIONAL.contains(name) {
            assert_eq!(new, old, "{name}");
        }
    }
}

/// `v1/two-writers.mule` rebuilt, with a PAX extended header before its first segment member if
/// `pax` (the payload size in the manifest adjusted so that check still passes).
fn two_writers_rebuilt(pax: bool) -> Vec<u8> {
    use std::io::Read;
    let file = std::fs::read(fixture("v1/two-writers.mule")).expect("fixture");
    let (header, frame) = file.split_at(mule::bundle::HEADER_LEN);
    let payload = zstd::decode_all(frame).expect("zstd");
    let mut members = Vec::new();
    for member in tar::Archive::new(&payload[..]).entries().expect("tar") {
        let mut member = member.expect("member");
        let name = String::from_utf8(member.path_bytes().to_vec()).expect("name");
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).expect("read");
        members.push((name, bytes));
    }
    let mut manifest: mule::bundle::Manifest =
        serde_ipld_dagcbor::from_slice(&members[0].1).expect("manifest");
    loop {
        let mut tar = tar::Builder::new(Vec::new());
        let manifest_bytes = serde_ipld_dagcbor::to_vec(&manifest).expect("manifest");
        for (i, (name, bytes)) in members.iter().enumerate() {
            let bytes = if i == 0 { &manifest_bytes } else { bytes };
            if pax && i == 1 {
                tar.append_pax_extensions([("comment", &b"hello"[..])])
                    .expect("pax");
            }
            let mut header = tar::Header::new_ustar();
            header.set_path(name).expect("name");
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            tar.append(&header, &bytes[..]).expect("append");
        }
        let archive = tar.into_inner().expect("tar");
        if archive.len() as u64 == manifest.payload {
            let mut out = header.to_vec();
            out.extend(zstd::encode_all(&archive[..], 3).expect("zstd"));
            return out;
        }
        manifest.payload = archive.len() as u64;
    }
}

#[test]
fn bytes_the_format_forbids_are_refused() {
    let work = Work::new();
    let good = std::fs::read(fixture("v1/two-writers.mule")).expect("fixture");
    let mut skippable = good.clone();
    skippable.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0]);
    skippable.extend_from_slice(b"JUNK");
    let mut second_frame = good.clone();
    second_frame.extend(zstd::encode_all(&[][..], 3).expect("zstd"));
    let cases = [
        ("skippable-frame-after.mule", skippable),
        ("second-zstd-frame.mule", second_frame),
        ("pax-header.mule", two_writers_rebuilt(true)),
    ];
    let control = work.path("rebuilt.mule");
    std::fs::write(&control, two_writers_rebuilt(false)).expect("write");
    assert_eq!(refusal(&control), None, "the rebuild itself is sound");
    let mut accepted = Vec::new();
    for (name, bytes) in cases {
        let path = work.path(name);
        std::fs::write(&path, bytes).expect("write");
        if refusal(&path).is_none() {
            accepted.push(name);
        }
    }
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
}
