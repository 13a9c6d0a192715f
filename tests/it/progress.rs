//! Progress that tells the truth (issue 19): `--progress-json` lines on stderr count up to
//! their totals, nothing shows when no terminal is there, and a terminal gets a bar.

use std::fs::File;

use mule::progress::{Operation, Progress};

use super::json::reads_back;
use super::*;

/// Entries enough for several segments (4,096 entries each), so progress is told more than once.
const ENTRIES: usize = 9_000;

/// Runs `command` (mule with `args`), which must succeed.
fn succeeded(mut command: Command, args: &[&str]) -> std::process::Output {
    let output = command.output().expect("run mule");
    assert!(
        output.status.success(),
        "mule {args:?}: {}",
        stderr(&output)
    );
    output
}

/// Runs `mule --store STORE --progress-json ARGS...` with `stdin`, which must succeed; returns
/// its progress lines, checked: each reads back into [`Progress`] (and docs/json.md names its
/// fields), all of `operation`, with counts that never go down and totals that never change,
/// the last one done. Returns the last line.
fn progress_of(store: &Path, args: &[&str], stdin: Stdio, operation: Operation) -> Progress {
    let mut command = mule(store);
    command.arg("--progress-json").args(args).stdin(stdin);
    let output = succeeded(command, args);
    let lines: Vec<Progress> = stderr(&output)
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("a JSON line on stderr");
            reads_back::<Progress>(&value);
            serde_json::from_value(value).expect("a progress line")
        })
        .collect();
    let last = lines.last().expect("progress was told").clone();
    for pair in lines.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(after.entries >= before.entries, "{before:?} then {after:?}");
        assert!(after.bytes >= before.bytes, "{before:?} then {after:?}");
        assert_eq!(
            (after.entries_total, after.bytes_total),
            (before.entries_total, before.bytes_total)
        );
        assert_ne!(before, after, "a line says something new");
    }
    for line in &lines {
        assert_eq!(line.operation, operation);
        assert!(line.entries <= line.entries_total.unwrap_or(u64::MAX));
        assert!(line.bytes <= line.bytes_total.unwrap_or(u64::MAX));
    }
    assert_eq!(
        Some(last.entries),
        last.entries_total.or(Some(last.entries))
    );
    assert_eq!(Some(last.bytes), last.bytes_total.or(Some(last.bytes)));
    last
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8")
}

/// `ENTRIES` kv puts in a file.
fn lines_file(work: &Work) -> PathBuf {
    let input = work.path("lines.jsonl");
    let lines: String = (0..ENTRIES)
        .map(|i| format!("{{\"k\":\"key-{i}\",\"v\":{i}}}\n"))
        .collect();
    std::fs::write(&input, lines).expect("write input");
    input
}

#[test]
fn long_operations_count_entries_and_bytes_up_to_their_totals() {
    let work = Work::new();
    let (laptop, phone) = (work.path("laptop"), work.path("phone"));
    let input = lines_file(&work);
    let size = |path: &Path| std::fs::metadata(path).expect("size").len();

    let stdin = Stdio::from(File::open(&input).expect("open input"));
    let appended = progress_of(&laptop, &["append", "kv", "-"], stdin, Operation::Append);
    assert_eq!(appended.entries, ENTRIES as u64);
    assert_eq!(appended.bytes_total, Some(size(&input)), "stdin is a file");

    let bundle = work.path("all.mule");
    let export = ["export", "--all", "-o", text(&bundle)];
    let exported = progress_of(&laptop, &export, Stdio::null(), Operation::Export);
    assert_eq!(exported.entries_total, Some(ENTRIES as u64));

    let import = ["import", text(&bundle)];
    let imported = progress_of(&phone, &import, Stdio::null(), Operation::Import);
    assert_eq!(imported.entries, ENTRIES as u64);
    assert_eq!(imported.bytes_total, Some(size(&bundle)));

    let reindexed = progress_of(&phone, &["reindex"], Stdio::null(), Operation::Reindex);
    assert_eq!(reindexed.entries_total, Some(ENTRIES as u64));

    let stick = work.folder("stick");
    let sync = ["sync", text(&stick)];
    let synced = progress_of(&phone, &sync, Stdio::null(), Operation::Sync);
    assert_eq!(
        synced.entries, ENTRIES as u64,
        "all of them written to the stick"
    );
}

#[test]
fn a_piped_append_counts_bytes_without_a_total() {
    let work = Work::new();
    let mut command = mule(&work.path("s"));
    command.args(["--progress-json", "--json", "append", "obs", "-"]);
    let output = feed(command, &numbered(0, 10));
    assert!(output.status.success(), "{}", stderr(&output));
    let last: Progress =
        serde_json::from_str(stderr(&output).lines().last().expect("a line")).expect("progress");
    assert_eq!((last.entries, last.bytes_total), (10, None));
    assert_eq!(last.bytes, numbered(0, 10).len() as u64);
    let report: Value = serde_json::from_slice(&output.stdout).expect("the report on stdout");
    assert_eq!(report["appended"], 10);
}

#[test]
fn a_geojson_import_counts_features_and_bytes_of_the_file() {
    let work = Work::new();
    let file = work.path("points.geojson");
    let features: Vec<Value> = (0..1_000)
        .map(|i| {
            serde_json::json!({"type": "Feature", "id": format!("p{i}"),
                "geometry": {"type": "Point", "coordinates": [i as f64 / 100.0, 1.0]},
                "properties": {}})
        })
        .collect();
    let collection = serde_json::json!({"type": "FeatureCollection", "features": features});
    std::fs::write(&file, collection.to_string()).expect("write");
    let import = ["map", "import", text(&file)];
    let store = work.path("s");
    let imported = progress_of(&store, &import, Stdio::null(), Operation::MapImport);
    assert_eq!(imported.entries, 1_000);
    let size = std::fs::metadata(&file).expect("size").len();
    assert_eq!(imported.bytes_total, Some(size));
}

#[test]
fn without_a_terminal_nothing_shows_on_stderr() {
    let work = Work::new();
    let (store, other) = (work.path("s"), work.path("t"));
    let input = lines_file(&work);
    let bundle = work.path("all.mule");
    let stdin = File::open(&input).expect("open input");
    let runs: [(&Path, Vec<&str>, Stdio); 4] = [
        (&store, vec!["append", "kv", "-"], Stdio::from(stdin)),
        (
            &store,
            vec!["export", "--all", "-o", text(&bundle)],
            Stdio::null(),
        ),
        (&other, vec!["import", text(&bundle)], Stdio::null()),
        (&other, vec!["reindex"], Stdio::null()),
    ];
    for (store, args, stdin) in runs {
        let mut command = mule(store);
        command
            .args(&args)
            .stdin(stdin)
            .env("MULE_PROGRESS_DELAY_MS", "0");
        let output = succeeded(command, &args);
        assert_eq!(stderr(&output), "", "mule {args:?} wrote to stderr");
    }
}

/// Under a pseudo-terminal (util-linux `script`), with the bar's one-second delay set to none,
/// a bulk append draws a bar with its counts, and clears it before the report.
#[test]
fn a_terminal_shows_a_bar_with_entries_and_bytes() {
    let Some(script) = outside_tool("script", "util-linux") else {
        return;
    };
    let work = Work::new();
    let input = lines_file(&work);
    let output = Command::new(script)
        .args([
            "-qec",
            r#""$MULE" --store "$STORE" append kv - < "$INPUT""#,
            "/dev/null",
        ])
        .env("MULE", env!("CARGO_BIN_EXE_mule"))
        .env("STORE", work.path("s"))
        .env("INPUT", &input)
        .env("SHELL", "/bin/sh")
        .env("MULE_PROGRESS_DELAY_MS", "0")
        .env_remove("MULE_STORE")
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    let shown = stdout(&output);
    assert!(output.status.success(), "{shown}{}", stderr(&output));
    assert!(shown.contains("appending ["), "no bar in {shown:?}");
    assert!(shown.contains(" entries"), "no entry count in {shown:?}");
    assert!(shown.contains("KiB/"), "no bytes of the total in {shown:?}");
    assert!(shown.contains("/s)"), "no rate in {shown:?}");
    assert!(shown.contains(&format!("appended {ENTRIES} entries")));
}
