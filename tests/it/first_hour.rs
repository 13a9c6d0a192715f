//! What a new user tripped over in the first hour (issue 16): a closed output pipe, the usage
//! line, numbers and words, dates.

use std::process::Stdio;

use crate::{Work, fixture, mule, mule_bare, run, stderr, stdout};

/// `mule import bad.mule | head -1`: a closed output pipe drops the output, but the command's
/// own result stays its exit code.
#[test]
fn a_closed_output_pipe_keeps_a_failed_import_failing() {
    let work = Work::new();
    let exit_with_closed_stdout = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let status = mule(&work.path("store"))
            .args(args)
            .stdout(writer)
            .stderr(Stdio::null())
            .status()
            .expect("run mule");
        status.code()
    };
    let bad = fixture("bad/bit-flip.mule");
    let bad = bad.to_str().expect("utf-8");
    assert_eq!(exit_with_closed_stdout(&["import", bad]), Some(1));
    assert_eq!(exit_with_closed_stdout(&["log"]), Some(0));
}

#[test]
fn the_usage_line_shows_no_store_option_when_mule_store_names_the_store() {
    let work = Work::new();
    let out = mule_bare()
        .env("MULE_STORE", work.path("store"))
        .arg("append")
        .output()
        .expect("run mule");
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(text.contains("Usage: mule append <KIND> <JSON>"), "{text}");
    let help = mule_bare().arg("--help").output().expect("run mule");
    assert!(stdout(&help).contains("MULE_STORE"), "{}", stdout(&help));
}

#[test]
fn numbers_agree_with_their_words() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    let (bundle, exported) = one_note_exported(&work, &a);
    let bundle = bundle.as_str();
    assert!(
        stdout(&exported).contains("(1 entry, "),
        "{}",
        stdout(&exported)
    );
    let imported = stdout(&run(&b, &["import", bundle]));
    assert!(imported.contains("1 bundle read ("), "{imported}");
    let status = stdout(&run(&b, &["status"]));
    assert!(status.contains("entries  1 from 1 author\n"), "{status}");
    assert!(status.contains("imported 1 bundle\n"), "{status}");
    let verified = stdout(&run(&b, &["verify", bundle]));
    assert!(
        verified.contains("ok (1 entry in 1 segment from"),
        "{verified}"
    );
    assert!(run(&a, &["project", "create", "camp"]).status.success());
    let status = stdout(&run(&a, &["status"]));
    assert!(status.contains("this device is an admin"), "{status}");
}

#[test]
fn inspect_prints_when_the_bundle_was_made_as_a_utc_date() {
    let work = Work::new();
    let store = work.path("store");
    assert!(
        run(&store, &["append", "note", r#"{"text":"one"}"#])
            .status
            .success()
    );
    let bundle = work.path("one.mule");
    let bundle = bundle.to_str().expect("utf-8");
    assert!(
        run(&store, &["export", "--all", "-o", bundle])
            .status
            .success()
    );
    let text = stdout(&run(&store, &["inspect", bundle]));
    let created = text
        .lines()
        .find_map(|line| line.strip_prefix("created  "))
        .unwrap_or_else(|| panic!("no created line: {text}"));
    let parsed = chrono::DateTime::parse_from_rfc3339(created);
    assert!(parsed.is_ok(), "{created}");
    assert!(created.ends_with('Z'), "{created}");
    assert!(text.contains("entries  1 in 1 segment, "), "{text}");
}

/// The demo the README names beside the set-up commands runs on stores of its own: the person's
/// default store stays empty and no temporary folder is left behind.
#[cfg(unix)]
#[test]
fn the_roundtrip_script_leaves_the_default_store_and_the_temp_folder_clean() {
    let work = Work::new();
    let (home, data, tmp) = (work.folder("home"), work.folder("data"), work.folder("tmp"));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/roundtrip.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .env("MULE_BIN", env!("CARGO_BIN_EXE_mule"))
        .env_remove("MULE_STORE")
        .env_remove(mule::fault::ENV)
        .env("HOME", &home)
        .env("XDG_DATA_HOME", &data)
        .env("TMPDIR", &tmp)
        .output()
        .expect("run scripts/roundtrip.sh");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("\"wet\""), "the demo round trip: {text}");
    assert!(
        text.contains(tmp.to_str().expect("utf-8")),
        "names its stores: {text}"
    );
    let default_store = data.join("mule");
    assert!(
        !default_store.exists(),
        "the default store was touched: {text}"
    );
    let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A raw `append kv` (one, or a bulk load on stdin) links the key's current values as `kv put`
/// does, so `kv get` shows the last value, not every earlier one.
#[test]
fn appended_kv_entries_supersede_earlier_values_of_their_key() {
    let work = Work::new();
    let store = work.path("store");
    let lines = "{\"k\":\"a\",\"v\":1}\n{\"k\":\"a\",\"v\":2}\n{\"k\":\"b\",\"v\":1}\n";
    assert!(crate::append_lines(&store, "kv", lines).status.success());
    assert!(
        crate::append_lines(&store, "kv", "{\"k\":\"a\",\"v\":3}\n")
            .status
            .success()
    );
    assert!(
        run(&store, &["append", "kv", r#"{"k":"b","v":2}"#])
            .status
            .success()
    );
    let values = |key: &str| -> Vec<String> {
        let out = stdout(&run(&store, &["kv", "get", key]));
        out.lines()
            .map(|line| line.split_once(' ').expect("hash value").1.to_owned())
            .collect()
    };
    assert_eq!(values("a"), ["3"]);
    assert_eq!(values("b"), ["2"]);
}

/// Runs `mule --store STORE ARGS` with SIGINT (Ctrl-C) raised at the fault point `point`.
fn interrupted_at(store: &std::path::Path, point: &str, args: &[&str]) -> std::process::Output {
    let out = mule(store)
        .env(mule::fault::ENV, format!("{point}:sigint"))
        .args(args)
        .output()
        .expect("run mule");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("interrupted; nothing was changed"),
        "{}",
        stderr(&out)
    );
    out
}

/// Ctrl-C during an export says so and leaves no hidden `.mule-*.part` file in the target folder.
#[test]
fn an_interrupted_export_says_so_and_leaves_no_temporary_file() {
    let work = Work::new();
    let store = work.path("store");
    assert!(
        run(&store, &["append", "note", r#"{"text":"one"}"#])
            .status
            .success()
    );
    let target = work.folder("stick");
    let target_arg = target.to_str().expect("utf-8");
    interrupted_at(
        &store,
        "bundle-write",
        &["export", "--all", "-o", target_arg],
    );
    let left: Vec<_> = std::fs::read_dir(&target).expect("stick").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Ctrl-C during an import or an append rolls the write back, says so, and a later run works.
#[test]
fn an_interrupted_import_or_append_changes_nothing() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    let (bundle, exported) = one_note_exported(&work, &a);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let bundle = bundle.as_str();
    interrupted_at(&b, "import-commit", &["import", bundle]);
    interrupted_at(
        &b,
        "append-commit",
        &["append", "note", r#"{"text":"two"}"#],
    );
    assert!(stdout(&run(&b, &["log"])).is_empty(), "nothing was changed");
    let imported = stdout(&run(&b, &["import", bundle]));
    assert!(imported.contains("1 new"), "{imported}");
}

/// Appends one note to store `a` and exports it all to `one.mule`: the bundle's path and the
/// export's output.
fn one_note_exported(work: &Work, a: &std::path::Path) -> (String, std::process::Output) {
    assert!(
        run(a, &["append", "note", r#"{"text":"one"}"#])
            .status
            .success()
    );
    let bundle = work.path("one.mule").to_str().expect("utf-8").to_owned();
    let exported = run(a, &["export", "--all", "-o", &bundle]);
    (bundle, exported)
}
