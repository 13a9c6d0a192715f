//! `mule sync s3://…`: stores syncing through a bucket of moto's S3 server, started by each
//! test on 127.0.0.1 (the Python package moto; scripts/test installs it).

use std::io::{BufRead, BufReader};
use std::process::Child;

use assert_cmd::assert::OutputAssertExt;

use super::*;

/// A moto S3 server on a free port of 127.0.0.1, stopped when dropped.
struct S3 {
    server: Child,
    endpoint: String,
}

impl S3 {
    /// Starts the server and waits until it says it listens; `None` (skipped) without moto.
    fn start() -> Option<S3> {
        let program = outside_tool("moto_server", "moto[server] from PyPI")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let stderr = BufReader::new(server.stderr.take().expect("stderr"));
        let mut said = String::new();
        for line in stderr.lines() {
            let line = line.expect("read moto's output");
            said.push_str(&line);
            if line.contains("Running on") {
                break;
            }
        }
        assert!(
            said.contains("Running on"),
            "moto_server did not start: {said}"
        );
        Some(S3 {
            server,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Runs Python with boto3 against the server (an independent client): `code` sees `s3`.
    fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', \
             aws_secret_access_key='test', region_name='us-east-1')\n{code}",
            self.endpoint
        );
        let out = Command::new("python3")
            .args(["-c", &script])
            .output()
            .expect("python3");
        assert!(out.status.success(), "boto3: {}", stderr(&out));
        stdout(&out)
    }

    fn create_bucket(&self, name: &str) {
        self.boto(&format!("s3.create_bucket(Bucket='{name}')"));
    }

    /// The object keys in `bucket`.
    fn keys(&self, bucket: &str) -> Vec<String> {
        let listed = self.boto(&format!(
            "for o in s3.list_objects_v2(Bucket='{bucket}').get('Contents', []): print(o['Key'])"
        ));
        listed.lines().map(str::to_owned).collect()
    }

    /// `mule --store STORE ARGS` with this server's endpoint and test credentials.
    fn mule(&self, store: &Path, args: &[&str]) -> Command {
        let mut command = mule(store);
        command
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true");
        command
    }

    fn sync(&self, store: &Path, url: &str) -> Value {
        let out = self
            .mule(store, &["--json", "sync", url])
            .output()
            .expect("run mule");
        assert!(out.status.success(), "sync {url}: {}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        super::json::reads_back::<mule::report::BucketSynced>(&report);
        report
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn value(store: &Path, key: &str) -> Value {
    json(store, &["kv", "get", key])["value"].clone()
}

#[test]
fn two_stores_sync_through_a_bucket_as_through_a_folder() {
    let Some(s3) = S3::start() else {
        return;
    };
    s3.create_bucket("drop");
    let work = Work::new();
    let (ship, shore) = (work.path("ship"), work.path("shore"));
    mule(&ship)
        .args(["kv", "put", "position", "\"54N 3E\""])
        .assert()
        .success();
    mule(&shore)
        .args(["kv", "put", "weather", "\"gale\""])
        .assert()
        .success();
    let url = "s3://drop/voyage-7";
    let first = s3.sync(&ship, url);
    assert_eq!(
        (&first["uploaded"], &first["downloaded"]),
        (&1.into(), &0.into()),
        "{first}"
    );
    let written = first["written"].as_str().expect("a bundle");
    assert!(
        written.starts_with("s3://drop/voyage-7/") && written.ends_with(".mule"),
        "{written}"
    );
    let second = s3.sync(&shore, url);
    assert_eq!(second["new"], 1, "{second}");
    assert_eq!(s3.sync(&ship, url)["new"], 1);
    assert_eq!(value(&shore, "position"), "54N 3E");
    assert_eq!(value(&ship, "weather"), "gale");
    // Every object is a whole bundle under the prefix; a second sync downloads nothing again.
    let keys = s3.keys("drop");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("voyage-7/") && k.ends_with(".mule")),
        "{keys:?}"
    );
    let again = s3.sync(&ship, url);
    assert_eq!(again["downloaded"], 0, "{again}");
    assert_eq!(again["new"], 0);
}

#[test]
fn a_sync_killed_mid_upload_leaves_no_bundle_in_the_bucket() {
    let Some(s3) = S3::start() else {
        return;
    };
    s3.create_bucket("drop");
    let work = Work::new();
    let (ship, shore) = (work.path("ship"), work.path("shore"));
    // 12 MiB that do not compress: a bundle over one upload part (8 MiB), so it goes up as a
    // multipart upload.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let noise: Vec<u8> = (0..12 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    let photo = work.path("photo.raw");
    std::fs::write(&photo, &noise).expect("write");
    mule(&ship)
        .arg("blob")
        .arg("add")
        .arg(&photo)
        .assert()
        .success();
    let url = "s3://drop/voyage-7";
    let killed = s3
        .mule(&ship, &["sync", url])
        .env(mule::fault::ENV, "bucket-upload:abort")
        .output()
        .expect("run mule");
    assert_eq!(
        killed.status.code(),
        Some(mule::fault::ABORT_EXIT),
        "{}",
        stderr(&killed)
    );
    assert!(
        s3.keys("drop").is_empty(),
        "no object appears before its upload completes"
    );
    let uploads =
        s3.boto("print(len(s3.list_multipart_uploads(Bucket='drop').get('Uploads', [])))");
    assert_eq!(
        uploads.trim(),
        "1",
        "the parts were sent, the upload never completed"
    );
    // The next sync uploads it whole, and the other store takes it in.
    assert_eq!(s3.sync(&ship, url)["uploaded"], 1);
    assert_eq!(s3.keys("drop").len(), 1);
    s3.sync(&shore, url);
    let got = work.path("got.raw");
    let blobs = json(&shore, &["blob", "ls"]);
    let root = blobs["hash"].as_str().expect("the blob's hash").to_owned();
    mule(&shore)
        .args(["blob", "get", &root, "-o"])
        .arg(&got)
        .assert()
        .success();
    assert!(
        std::fs::read(&got).expect("read") == noise,
        "the photo arrived byte for byte"
    );
}

#[test]
fn a_missing_bucket_is_one_line_naming_it() {
    let Some(s3) = S3::start() else {
        return;
    };
    let work = Work::new();
    let store = work.path("ship");
    mule(&store)
        .args(["kv", "put", "a", "1"])
        .assert()
        .success();
    let before = state(&store);
    let out = s3
        .mule(&store, &["sync", "s3://no-such-bucket/x"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("s3://no-such-bucket/x") && text.contains("listing"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{text}"
    );
    assert_eq!(state(&store), before);
}

#[test]
fn credentials_and_endpoint_come_from_the_aws_shared_files_too() {
    let Some(s3) = S3::start() else {
        return;
    };
    s3.create_bucket("drop");
    let work = Work::new();
    let store = work.path("ship");
    mule(&store)
        .args(["kv", "put", "a", "1"])
        .assert()
        .success();
    let (credentials, config) = (work.path("credentials"), work.path("config"));
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = wrong\n\n[field]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .expect("write");
    std::fs::write(
        &config,
        format!(
            "[profile field]\nregion = us-east-1\nendpoint_url = {}\n",
            s3.endpoint
        ),
    )
    .expect("write");
    let mut command = mule(&store);
    for variable in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ENDPOINT",
    ] {
        command.env_remove(variable);
    }
    let out = command
        .args(["--json", "sync", "s3://drop/ship"])
        .env("AWS_PROFILE", "field")
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_ALLOW_HTTP", "true")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(s3.keys("drop").len(), 1);
}
