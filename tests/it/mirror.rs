//! `mule mirror`: stores kept in step in a throwaway PostgreSQL/PostGIS cluster that each test
//! starts on 127.0.0.1 (as the `postgres` user when the tests run as root) and stops.

use std::io::{BufRead, BufReader};
use std::process::Child;

use assert_cmd::assert::OutputAssertExt;
use postgres::{Client, NoTls};

use super::*;

/// A PostgreSQL cluster of its own in a temporary directory, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Whether its programs run as the `postgres` user (the tests run as root, which
    /// PostgreSQL refuses).
    as_postgres: bool,
}

impl Cluster {
    /// Starts a cluster, or says why the running test is skipped (no PostgreSQL or PostGIS).
    fn start() -> Option<Cluster> {
        let Some((bin, version)) = postgres_install() else {
            return skip(
                "PostgreSQL is not installed (Debian package postgresql; scripts/test installs it)",
            );
        };
        let postgis = format!("/usr/share/postgresql/{version}/extension/postgis.control");
        if !Path::new(&postgis).is_file() {
            return skip(&format!(
                "PostGIS is not installed for PostgreSQL {version} (Debian package \
                 postgresql-{version}-postgis-3; scripts/test installs it)"
            ));
        }
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("mule-pg")
            .tempdir()
            .expect("temp dir");
        let cluster = Cluster {
            bin,
            port: free_port(),
            as_postgres,
            dir,
        };
        for sub in ["data", "sock"] {
            std::fs::create_dir(cluster.dir.path().join(sub)).expect("mkdir");
        }
        if as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown");
            assert!(owned.success());
        }
        let data = cluster.path("data");
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_server();
        Some(cluster)
    }

    /// Starts the server (waiting until it accepts connections).
    fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.path("sock")
        );
        let (data, log) = (self.path("data"), self.path("data/log"));
        self.run(
            "pg_ctl",
            &["-D", &data, "-w", "-l", &log, "-o", &options, "start"],
        );
    }

    /// Stops the server at once, ending every connection.
    fn stop_server(&self) {
        let data = self.path("data");
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Runs one of the cluster's programs (as `postgres` when needed); it must succeed.
    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run a PostgreSQL program");
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}",
            program.display(),
            stdout(&out),
            stderr(&out)
        );
    }

    /// A new database; its URL.
    fn database(&self, name: &str) -> String {
        self.client("postgres")
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.url(name)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn client(&self, database: &str) -> Client {
        Client::connect(&self.url(database), NoTls).expect("connect")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_server();
    }
}

/// The newest PostgreSQL server installed the Debian way: its `bin` directory and version.
fn postgres_install() -> Option<(PathBuf, String)> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    let (version, bin) = found.pop()?;
    Some((bin, version.to_string()))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs `mule mirror URL --json ARGS` for `store`, which must succeed; its report.
fn mirror(store: &Path, url: &str, args: &[&str]) -> Value {
    json(store, &[&["mirror", url][..], args].concat())
}

/// Every row of `sql` as its columns joined by `|` (text as it is, other values as JSON),
/// sorted.
fn rows(client: &mut Client, sql: &str) -> Vec<String> {
    let mut out: Vec<String> = client
        .query(
            &format!(
                "SELECT (SELECT json_agg(value) FROM json_each(row_to_json(t)))::text FROM ({sql}) t"
            ),
            &[],
        )
        .expect(sql)
        .iter()
        .map(|r| {
            let row: Value = serde_json::from_str(r.get(0)).expect("JSON");
            let columns = row.as_array().expect("a row").iter();
            columns
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    out.sort();
    out
}

fn count(client: &mut Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).expect(sql).get(0)
}

/// What the derived tables show, for comparing databases: every row of kv, map_features (with
/// the geometry as text), cal_events and cal_occurrences.
fn derived(client: &mut Client) -> Vec<String> {
    [
        "SELECT key, value, encode(version, 'hex'), conflict FROM mule.kv",
        "SELECT doc_id, type, encode(version, 'hex'), heads, tags, ST_AsText(geom) FROM mule.map_features",
        "SELECT event_id, encode(version, 'hex'), title, conflict FROM mule.cal_events",
        "SELECT event_id, encode(version, 'hex'), starts, ends FROM mule.cal_occurrences",
    ]
    .iter()
    .flat_map(|sql| rows(client, sql))
    .collect()
}

/// Points, a line, and a multipolygon with a hole (a field with a pond), around Fairbanks; one
/// point far away.
const FIELDS: &str = r#"{"type": "FeatureCollection", "features": [
 {"type": "Feature", "id": "well", "properties": {"name": "well"},
  "geometry": {"type": "Point", "coordinates": [-147.72, 64.84]}},
 {"type": "Feature", "id": "far", "properties": {"name": "far well"},
  "geometry": {"type": "Point", "coordinates": [10.0, 10.0]}},
 {"type": "Feature", "id": "track", "properties": {"name": "track"},
  "geometry": {"type": "LineString", "coordinates": [[-147.9, 64.7], [-147.75, 64.78], [-146.0, 66.0]]}},
 {"type": "Feature", "id": "fields", "properties": {"name": "fields", "crop": "barley"},
  "geometry": {"type": "MultiPolygon", "coordinates": [
    [[[-147.8, 64.8], [-147.6, 64.8], [-147.6, 64.9], [-147.8, 64.9], [-147.8, 64.8]],
     [[-147.75, 64.82], [-147.65, 64.82], [-147.65, 64.88], [-147.75, 64.88], [-147.75, 64.82]]],
    [[[-140.0, 60.0], [-139.0, 60.0], [-139.0, 61.0], [-140.0, 60.0]]]]}}
]}"#;

/// A store with kv values, the map of [`FIELDS`] and a weekly event.
fn field_store(work: &Work, name: &str) -> PathBuf {
    let store = work.path(name);
    for (key, value) in [("team", r#""north""#), ("count", "3"), ("gone", "1")] {
        mule(&store)
            .args(["kv", "put", key, value])
            .assert()
            .success();
    }
    mule(&store).args(["kv", "del", "gone"]).assert().success();
    let geojson = work.path(&format!("{name}.geojson"));
    std::fs::write(&geojson, FIELDS).expect("write");
    mule(&store)
        .args(["map", "import"])
        .arg(&geojson)
        .assert()
        .success();
    mule(&store)
        .args([
            "cal",
            "add",
            "standup every monday at 9am",
            "--tz",
            "UTC",
            "--now",
            "2026-11-25T10:00",
        ])
        .assert()
        .success();
    store
}

#[test]
fn a_store_mirrors_into_postgis_showing_what_its_views_show() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let work = Work::new();
    let store = field_store(&work, "a");
    let url = cluster.database("hq");
    let done = mirror(
        &store,
        &url,
        &[
            "--occurrences-from",
            "2026-01-01",
            "--occurrences-until",
            "2027-01-01",
        ],
    );
    super::json::reads_back::<mule::mirror::Mirrored>(&done);
    let entries = json(&store, &["status"])["entries"].clone();
    assert_eq!(done["entries"], entries, "{done}");
    assert_eq!(done["entries_in_database"], entries);
    let mut db = cluster.client("hq");
    assert_eq!(
        rows(&mut db, "SELECT key, value FROM mule.kv"),
        ["count|3", "team|north"],
        "a deleted key has no row"
    );
    assert_eq!(
        rows(
            &mut db,
            "SELECT body FROM mule.entries WHERE body->>'k' = 'team'"
        ),
        [r#"{"k":"team","v":"north"}"#],
        "the log's bodies as jsonb"
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) FROM mule.entries"),
        entries.as_i64().expect("count")
    );
    // A box around Fairbanks: PostGIS finds what `mule map query` finds there.
    let query = lines(
        &store,
        &["map", "query", "64.75,64.85", "-147.8,-147.7", "--geojson"],
    );
    let mut expected: Vec<String> = query[0]["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect();
    expected.sort();
    assert_eq!(expected, ["fields", "track", "well"]);
    let found = rows(
        &mut db,
        "SELECT doc_id FROM mule.map_features
         WHERE ST_Intersects(geom, ST_MakeEnvelope(-147.8, 64.75, -147.7, 64.85, 4326))
           AND tags <> '{}'",
    );
    assert_eq!(found, expected);
    let shape = rows(
        &mut db,
        "SELECT ST_GeometryType(geom), ST_NumGeometries(geom), ST_NumInteriorRings(ST_GeometryN(geom, 1)),
                ST_SRID(geom)
         FROM mule.map_features WHERE doc_id = 'fields'",
    );
    assert_eq!(
        shape,
        ["ST_MultiPolygon|2|1|4326"],
        "two polygons, the first with a hole"
    );
    // The pond is not part of the fields.
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM mule.map_features
             WHERE doc_id = 'fields' AND ST_Contains(geom, ST_SetSRID(ST_MakePoint(-147.7, 64.85), 4326))"
        ),
        0
    );
    // Every Monday of the window, as `mule cal query` lists them.
    let occurrences = lines(
        &store,
        &["cal", "query", "2026-01-01", "2026-12-31", "--tz", "UTC"],
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) FROM mule.cal_occurrences"),
        occurrences.len() as i64
    );
    assert_eq!(
        rows(
            &mut db,
            "SELECT title, tz, rrule IS NOT NULL FROM mule.cal_events"
        ),
        ["standup|UTC|true"]
    );
}

#[test]
fn mirroring_again_copies_only_what_is_new_and_a_fork_shows_the_winner() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let work = Work::new();
    let (a, b, drop) = (work.path("a"), work.path("b"), work.folder("drop"));
    mule(&a)
        .args([
            "map",
            "create",
            r#"{"id":"P","lat":1,"lon":1,"tags":{"name":"camp"}}"#,
        ])
        .assert()
        .success();
    let url = cluster.database("hq");
    assert_eq!(mirror(&a, &url, &[])["entries"], 1);
    for store in [&a, &b, &a] {
        mule(store).arg("sync").arg(&drop).assert().success();
    }
    // Concurrent edits of P, then both stores hold both.
    mule(&a)
        .args([
            "map",
            "put",
            "P",
            r#"{"lat":2,"lon":2,"tags":{"name":"camp A"}}"#,
        ])
        .assert()
        .success();
    mule(&b)
        .args([
            "map",
            "put",
            "P",
            r#"{"lat":3,"lon":3,"tags":{"name":"camp B"}}"#,
        ])
        .assert()
        .success();
    mule(&b)
        .args(["kv", "put", "from-b", "1"])
        .assert()
        .success();
    for store in [&a, &b, &a] {
        mule(store).arg("sync").arg(&drop).assert().success();
    }
    let again = mirror(&a, &url, &[]);
    assert_eq!(
        again["entries"], 3,
        "only the entries written since: {again}"
    );
    assert_eq!(mirror(&a, &url, &[])["entries"], 0, "nothing new");
    let winner = lines(&a, &["map", "get", "P"]);
    let mut db = cluster.client("hq");
    assert_eq!(
        rows(
            &mut db,
            "SELECT encode(version, 'hex'), heads, tags->>'name', ST_X(geom) FROM mule.map_features
             WHERE doc_id = 'P'"
        ),
        [format!(
            "{}|2|{}|{}",
            winner[0]["version"].as_str().expect("version"),
            winner[0]["tags"]["name"].as_str().expect("name"),
            winner[0]["lon"]
        )]
    );
    assert_eq!(rows(&mut db, "SELECT key FROM mule.kv"), ["from-b"]);
}

/// A store of about 9,000 entries: kv puts over 300 keys (each replacing the last), and a map
/// of 1,000 points.
fn busy_store(work: &Work) -> PathBuf {
    let store = field_store(work, "busy");
    let puts: String = (0..8_000)
        .map(|i| format!("{{\"k\":\"key-{}\",\"v\":{i}}}\n", i % 300))
        .collect();
    assert!(append_lines(&store, "kv", &puts).status.success());
    let points: String = (0..1_000)
        .map(|i| {
            format!(
                "{{\"id\":\"pt-{i}\",\"lat\":{},\"lon\":{},\"tags\":{{\"n\":{i}}}}}\n",
                f64::from(i % 90),
                f64::from(i % 180)
            )
        })
        .collect();
    assert!(append_lines(&store, "map", &points).status.success());
    store
}

/// Starts `mule mirror` with batches of `batch` entries, reporting progress on stderr.
fn spawn_mirror(store: &Path, url: &str, batch: &str) -> Child {
    mule(store)
        .args(["--json", "--progress-json", "mirror", url, "--batch", batch])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mule mirror")
}

#[test]
fn a_mirror_killed_at_random_points_continues_without_losing_or_doubling_a_row() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let work = Work::new();
    let store = busy_store(&work);
    let (url, clean) = (cluster.database("killed"), cluster.database("clean"));
    let mut random: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    while kills < 20 {
        // Batches of 10: about 1,000 of them, more than 20 runs of at most 3 progress lines
        // (one per 100 ms) can commit, so every run is killed.
        let mut child = spawn_mirror(&store, &url, "10");
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        // Kill after a random number (1-3) of progress lines: the mirror is then somewhere in
        // its next batch (staging, recomputing, committing) or between two.
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let wait_lines = 1 + random % 3;
        let mut seen = 0;
        for line in stderr.lines() {
            let line = line.expect("read stderr");
            if line.starts_with("{\"progress\"") {
                seen += 1;
            }
            if seen == wait_lines {
                break;
            }
        }
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let status = child.wait().expect("wait");
        if status.success() {
            break; // It finished before the kill.
        }
        kills += 1;
    }
    assert_eq!(
        kills, 20,
        "the mirror finished before it was killed 20 times"
    );
    let finished = mirror(&store, &url, &[]);
    assert_eq!(
        mirror(&store, &clean, &[])["entries"],
        json(&store, &["status"])["entries"]
    );
    let (mut killed_db, mut clean_db) = (cluster.client("killed"), cluster.client("clean"));
    assert_eq!(
        finished["entries_in_database"],
        json(&store, &["status"])["entries"],
        "{finished}"
    );
    assert_eq!(derived(&mut killed_db), derived(&mut clean_db));
    for table in [
        "entries",
        "kv_versions",
        "map_versions",
        "map_refs",
        "cal_versions",
    ] {
        let sql = format!("SELECT count(*) FROM mule.{table}");
        assert_eq!(
            count(&mut killed_db, &sql),
            count(&mut clean_db, &sql),
            "{table}"
        );
    }
    assert_eq!(
        count(&mut killed_db, "SELECT count(*) FROM mule.kv"),
        lines(&store, &["kv", "list"]).len() as i64,
        "one value per key, as in the store"
    );
}

#[test]
fn two_stores_mirroring_into_one_database_at_once_show_their_union() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let work = Work::new();
    let (a, b, both, drop) = (
        field_store(&work, "a"),
        busy_store(&work),
        work.path("both"),
        work.folder("drop"),
    );
    // The same key and the same map document written in both offices.
    for store in [&a, &b] {
        mule(store)
            .args(["kv", "put", "shared", &format!("\"{}\"", store.display())])
            .assert()
            .success();
    }
    let url = cluster.database("hq");
    let (mut first, mut second) = (spawn_mirror(&a, &url, "40"), spawn_mirror(&b, &url, "40"));
    assert!(first.wait().expect("wait").success());
    assert!(second.wait().expect("wait").success());
    for store in [&a, &b, &both] {
        mule(store).arg("sync").arg(&drop).assert().success();
    }
    let union = cluster.database("merged");
    let done = mirror(&both, &union, &[]);
    let (mut hq, mut reference) = (cluster.client("hq"), cluster.client("merged"));
    assert_eq!(
        count(&mut hq, "SELECT count(*) FROM mule.entries"),
        done["entries"].as_i64().expect("count")
    );
    assert_eq!(derived(&mut hq), derived(&mut reference));
    assert_eq!(
        rows(&mut hq, "SELECT conflict FROM mule.kv WHERE key = 'shared'"),
        ["true", "true"]
    );
    assert_eq!(count(&mut hq, "SELECT count(*) FROM mule.mirrors"), 2);
    // A third store holding what both mirrored: every row is there already.
    let third = mirror(&both, &url, &[]);
    assert_eq!(third["entries"], done["entries"], "{third}");
    assert_eq!(third["entries_in_database"], done["entries"]);
    assert_eq!(derived(&mut hq), derived(&mut reference));
}

#[test]
fn blob_bytes_mirror_chunk_by_chunk_and_a_newer_schema_is_left_alone() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let work = Work::new();
    let store = work.path("a");
    // 300 KB of varied bytes: several chunks.
    let photo: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = work.path("photo.jpg");
    std::fs::write(&file, &photo).expect("write");
    mule(&store)
        .args(["blob", "add", "--kind", "photo"])
        .arg(&file)
        .assert()
        .success();
    let url = cluster.database("hq");
    assert_eq!(mirror(&store, &url, &[])["blob_bytes"], 0, "metadata only");
    let mut db = cluster.client("hq");
    assert_eq!(
        rows(&mut db, "SELECT name, size, kind FROM mule.blobs"),
        ["photo.jpg|300000|photo"]
    );
    assert_eq!(mirror(&store, &url, &["--blob-bytes"])["blob_bytes"], 1);
    let bytes: Vec<u8> = db
        .query_one(
            "SELECT string_agg(b.bytes, ''::bytea ORDER BY b.part) FROM mule.blob_bytes b",
            &[],
        )
        .expect("query")
        .get(0);
    assert!(bytes == photo, "the blob's bytes, whole and in order");
    assert!(
        count(&mut db, "SELECT count(*) FROM mule.blob_bytes") > 1,
        "in chunks"
    );
    assert_eq!(
        mirror(&store, &url, &["--blob-bytes"])["blob_bytes"],
        0,
        "once"
    );
    // A database a newer mule has written is refused, untouched.
    db.batch_execute("UPDATE mule.schema_version SET version = 99")
        .expect("update");
    let out = run(&store, &["mirror", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("newer than this mule"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn watch_mirrors_each_change_and_waits_for_a_server_that_went_away() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let work = Work::new();
    let store = work.path("a");
    mule(&store)
        .args(["kv", "put", "first", "1"])
        .assert()
        .success();
    let url = cluster.database("hq");
    let mut child = mule(&store)
        .args(["--json", "mirror", &url, "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut passes = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut said = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut next_pass = || -> Value {
        let line = passes.next().expect("a pass").expect("read");
        serde_json::from_str(&line).expect("a JSON line")
    };
    let mut wait_for = |text: &str| -> String {
        said.by_ref()
            .map(|line| line.expect("read stderr"))
            .find(|line| line.contains(text))
            .unwrap_or_else(|| panic!("mule never said `{text}`"))
    };
    assert_eq!(next_pass()["entries"], 1);
    cluster.stop_server();
    mule(&store)
        .args(["kv", "put", "while-down", "2"])
        .assert()
        .success();
    let warning = wait_for("connecting again");
    assert!(warning.starts_with("warning: "), "{warning}");
    cluster.start_server();
    wait_for("connected again");
    assert_eq!(
        next_pass()["entries"],
        1,
        "the put made while the server was down"
    );
    let mut db = cluster.client("hq");
    assert_eq!(
        rows(&mut db, "SELECT key FROM mule.kv"),
        ["first", "while-down"]
    );
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn a_bad_url_or_an_unreachable_server_is_one_line_naming_it() {
    let work = Work::new();
    let store = field_store(&work, "a");
    let port = free_port();
    for (url, says) in [
        ("http://example.org/x", "is not a PostgreSQL URL"),
        (
            &*format!("postgres://someone:secret@127.0.0.1:{port}/hq"),
            "cannot connect to someone@127.0.0.1",
        ),
    ] {
        let out = run(&store, &["mirror", url]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stderr(&out);
        assert!(text.contains(says), "{text}");
        assert!(
            !text.contains("secret"),
            "the password is never printed: {text}"
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with("error")).count(),
            1,
            "{text}"
        );
    }
    let missing = work.path("no-store");
    let out = run(&missing, &["mirror", "postgres://u@127.0.0.1/db"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no mule store here"),
        "{}",
        stderr(&out)
    );
    assert!(
        !missing.exists(),
        "mirroring a missing store does not create one"
    );
}

/// The JSON lines `mule --json ARGS` prints for `store`.
fn lines(store: &Path, args: &[&str]) -> Vec<Value> {
    let out = run(store, &[&["--json"], args].concat());
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}
