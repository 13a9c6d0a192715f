//! `mule ui` (issue 17): the real binary on a free port, talked to in raw HTTP over a
//! TcpStream, so every header the server sends and refuses is visible.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use assert_cmd::prelude::*;
use mule::report;

use super::*;

/// A running `mule ui --json --port 0`, stopped when dropped.
pub struct Ui {
    /// The running server.
    pub child: Child,
    /// The port it listens on.
    pub port: u16,
    /// The secret token from its URL.
    pub token: String,
    /// Its first stdout line, parsed.
    pub first_line: Value,
}

/// An answer: status, headers (names lower case), body.
pub struct Reply {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

impl Ui {
    /// Starts the server on `store` and reads its URL line (the server is listening once the
    /// line is out, so no waiting is needed).
    pub fn start(store: &Path) -> Self {
        Self::start_with(store, |_| {})
    }

    /// [`Ui::start`] with the command changed by `configure` first (more arguments, the
    /// environment, standard error).
    pub fn start_with(store: &Path, configure: impl FnOnce(&mut std::process::Command)) -> Self {
        let mut command = mule(store);
        command.args(["--json", "ui", "--port", "0"]);
        configure(&mut command);
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("start mule ui");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the URL line");
        let first_line: Value = serde_json::from_str(&line).expect("a JSON line");
        let url = first_line["url"].as_str().expect("url").to_owned();
        let rest = url
            .strip_prefix("http://127.0.0.1:")
            .expect("a loopback URL");
        let (port, token) = rest.split_once("/?token=").expect("a token in the URL");
        Self {
            child,
            port: port.parse().expect("a port"),
            token: token.to_owned(),
            first_line,
        }
    }

    /// The server's own Host value.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sends `method path` with `headers` (each "Name: value") and `body`; reads the answer.
    pub fn send(&self, method: &str, path: &str, headers: &[String], body: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).expect("send head");
        stream.write_all(body).expect("send body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read the answer");
        parse_reply(&raw)
    }

    /// The cookie header the token is traded for, by the real exchange.
    pub fn login(&self) -> String {
        let reply = self.send(
            "GET",
            &format!("/?token={}", self.token),
            &[format!("Host: {}", self.host())],
            b"",
        );
        assert_eq!(reply.status, 303);
        let cookie = reply.header("set-cookie").expect("a cookie");
        format!("Cookie: {}", cookie.split(';').next().expect("name=value"))
    }

    /// A request with the right Host and the cookie.
    pub fn call(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        let headers = [format!("Host: {}", self.host()), self.login()];
        self.send(method, path, &headers, body)
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        // The server runs until stopped; a failure here leaves nothing to clean up.
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

#[test]
fn ui_refuses_requests_without_the_secret() {
    let work = Work::new();
    let ui = Ui::start(&work.path("a"));
    let host = format!("Host: {}", ui.host());
    for path in ["/api/status", "/api/kv", "/app.js"] {
        let reply = ui.send("GET", path, std::slice::from_ref(&host), b"");
        assert_eq!(reply.status, 401, "{path}");
        assert!(reply.json()["error"].is_string(), "a report::Failure");
    }
    // A page a person opens says, in words, where the secret is.
    for path in ["/", "/notes", "/?token=0123"] {
        let reply = ui.send("GET", path, std::slice::from_ref(&host), b"");
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(String::from_utf8_lossy(&reply.body).contains("mule ui --open"));
    }
    let forged = format!("Cookie: mule_token_{}={}x", ui.port, ui.token);
    let reply = ui.send("GET", "/api/status", &[host, forged], b"");
    assert_eq!(reply.status, 401);
}

#[test]
fn ui_trades_the_token_for_a_strict_http_only_cookie() {
    let work = Work::new();
    let ui = Ui::start(&work.path("a"));
    let host = format!("Host: {}", ui.host());
    let path = format!("/notes?token={}", ui.token);
    let reply = ui.send("GET", &path, std::slice::from_ref(&host), b"");
    assert_eq!(reply.status, 303);
    assert_eq!(
        reply.header("location"),
        Some("/notes"),
        "the token leaves the URL"
    );
    let cookie = reply.header("set-cookie").expect("a cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let page = ui.send("GET", "/notes", &[host, ui.login()], b"");
    assert_eq!(page.status, 200);
}

#[test]
fn ui_refuses_a_host_that_is_not_its_own() {
    let work = Work::new();
    let ui = Ui::start(&work.path("a"));
    let cookie = ui.login();
    let rebound = format!("Host: attacker.example:{}", ui.port);
    let reply = ui.send("GET", "/api/status", &[rebound, cookie.clone()], b"");
    assert_eq!(reply.status, 403, "DNS rebinding");
    let reply = ui.send("GET", "/api/status", std::slice::from_ref(&cookie), b"");
    assert_eq!(reply.status, 403, "no Host at all");
    let local = format!("Host: localhost:{}", ui.port);
    assert_eq!(
        ui.send("GET", "/api/status", &[local, cookie], b"").status,
        200
    );
}

#[test]
fn ui_refuses_changes_from_another_origin() {
    let work = Work::new();
    let store = work.path("a");
    let ui = Ui::start(&store);
    let (host, cookie) = (format!("Host: {}", ui.host()), ui.login());
    let evil = "Origin: http://attacker.example".to_owned();
    for method in ["PUT", "POST", "DELETE"] {
        let headers = [host.clone(), cookie.clone(), evil.clone()];
        let reply = ui.send(method, "/api/kv/k", &headers, b"1");
        assert_eq!(reply.status, 403, "{method}");
    }
    assert!(
        !run(&store, &["kv", "get", "k"]).status.success(),
        "nothing written"
    );
    let own = format!("Origin: http://{}", ui.host());
    let reply = ui.send("PUT", "/api/kv/k", &[host, cookie, own], b"1");
    assert_eq!(reply.status, 200, "the page's own origin may write");
}

#[test]
fn ui_writes_notes_through_the_replica() {
    let work = Work::new();
    let store = work.path("a");
    let ui = Ui::start(&store);
    let reply = ui.call("PUT", "/api/kv/well%207", br#"{"depth":3}"#);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let written: report::Written = serde_json::from_value(reply.json()).expect("Written");
    // The store is shared with the running server (SQLite WAL, several processes).
    let got = json(&store, &["kv", "get", "well 7"]);
    assert_eq!(got["value"], serde_json::json!({"depth": 3}));
    assert_eq!(got["hash"], written.hash.to_string());

    let listed = ui.call("GET", "/api/kv?prefix=well", b"").json();
    assert_eq!(listed["keys"][0]["key"], "well 7");
    assert_eq!(listed["keys"][0]["values"][0]["value"]["depth"], 3);

    assert_eq!(ui.call("DELETE", "/api/kv/well%207", b"").status, 200);
    assert!(!run(&store, &["kv", "get", "well 7"]).status.success());
    let again = ui.call("DELETE", "/api/kv/well%207", b"");
    assert_eq!(again.status, 404, "no value left to delete");
    assert_eq!(ui.call("PUT", "/api/kv/x", b"not json").status, 400);
}

#[test]
fn ui_lists_concurrent_values_of_a_key() {
    let work = Work::new();
    let a = concurrent_values_of_k(&work);
    let ui = Ui::start(&a);
    let listed = ui.call("GET", "/api/kv?prefix=", b"").json();
    let mut values: Vec<&str> = listed["keys"][0]["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v["value"].as_str().expect("a string"))
        .collect();
    values.sort_unstable();
    assert_eq!(values, ["from a", "from b"]);
}

#[test]
fn ui_status_is_the_status_report() {
    let work = Work::new();
    let store = work.path("a");
    mule(&store)
        .args(["kv", "put", "k", "1"])
        .assert()
        .success();
    let ui = Ui::start(&store);
    let reply = ui.call("GET", "/api/status", b"");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let _: report::Status = serde_json::from_value(reply.json()).expect("a report::Status");
}

#[test]
fn ui_serves_its_pages_and_files_with_their_types() {
    let work = Work::new();
    let ui = Ui::start(&work.path("a"));
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/status", "text/html; charset=utf-8"),
        ("/notes", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/app.css", "text/css; charset=utf-8"),
    ] {
        let reply = ui.call("GET", path, b"");
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
        assert!(reply.header("content-security-policy").is_some(), "{path}");
    }
    assert_eq!(ui.call("GET", "/nowhere", b"").status, 404);
}

#[test]
fn ui_files_load_nothing_from_other_hosts() {
    // The app's own files; the vendored map library names other hosts in its docs and SVG
    // namespaces, so the browser tests check what the page really loads (its network log).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/ui");
    let mut files = 0;
    let mut folders = vec![dir.clone()];
    while let Some(folder) = folders.pop() {
        for file in std::fs::read_dir(&folder).expect("a readable folder") {
            let path = file.expect("a readable entry").path();
            if path.is_dir() && path != dir.join("vendor") {
                folders.push(path);
            } else if path.is_file() {
                assert_local(&path);
                files += 1;
            }
        }
    }
    assert!(
        files >= 10,
        "index.html, app.js, app.css, messages.js, pages/*.js"
    );
    let js = std::fs::read_to_string(dir.join("messages.js")).expect("messages.js");
    assert!(
        js.contains("const messages = {\n  en: {"),
        "one message table"
    );
}

/// Fails when the app file at `path` names another host.
fn assert_local(path: &Path) {
    let text = std::fs::read_to_string(path).expect("a text file");
    for scheme in ["http://", "https://", "//cdn", "@import"] {
        assert!(!text.contains(scheme), "{} holds {scheme}", path.display());
    }
}

#[test]
fn ui_refuses_a_request_body_over_its_limit() {
    let work = Work::new();
    let ui = Ui::start(&work.path("a"));
    let mut stream = TcpStream::connect(("127.0.0.1", ui.port)).expect("connect");
    let head = format!(
        "PUT /api/kv/k HTTP/1.1\r\nHost: {}\r\n{}\r\nContent-Length: 999999999\r\n\r\n",
        ui.host(),
        ui.login()
    );
    stream.write_all(head.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    assert_eq!(parse_reply(&raw).status, 413);
}

#[test]
fn ui_listens_beyond_loopback_only_when_told() {
    let work = Work::new();
    let output = run(&work.path("a"), &["ui", "--listen", "0.0.0.0"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--allow-remote"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn ui_serves_a_connection_past_its_limit_once_one_ends() {
    let work = Work::new();
    let ui = Ui::start(&work.path("a"));
    let cookie = ui.login();
    // Connections that send nothing hold their slot (until the read timeout).
    let idle: Vec<TcpStream> = (0..mule::ui::MAX_CONNECTIONS)
        .map(|_| TcpStream::connect(("127.0.0.1", ui.port)).expect("connect"))
        .collect();
    let mut waiting = TcpStream::connect(("127.0.0.1", ui.port)).expect("connect");
    let head = format!(
        "GET /status HTTP/1.1\r\nHost: {}\r\n{cookie}\r\n\r\n",
        ui.host()
    );
    waiting.write_all(head.as_bytes()).expect("send");
    drop(idle);
    let mut raw = Vec::new();
    waiting.read_to_end(&mut raw).expect("read");
    assert_eq!(parse_reply(&raw).status, 200, "queued, then served");
}

/// The app's scripts share one global scope: a top-level name defined in two files, or one
/// that is also a property of `window` (`history`, `name`, `status`, ...), silently replaces
/// the other (a page's `function history()` once broke every page's navigation).
#[test]
fn ui_scripts_define_each_global_name_once_and_none_of_the_windows() {
    const WINDOW: &[&str] = &[
        "history",
        "name",
        "status",
        "open",
        "close",
        "stop",
        "print",
        "find",
        "focus",
        "blur",
        "scroll",
        "event",
        "length",
        "parent",
        "top",
        "self",
        "location",
        "origin",
        "navigator",
        "screen",
        "frames",
        "closed",
        "opener",
        "alert",
        "confirm",
        "prompt",
        "fetch",
        "menubar",
        "toolbar",
        "external",
        "performance",
        "crypto",
        "caches",
        "document",
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/ui");
    let mut files = vec![dir.join("messages.js"), dir.join("app.js")];
    let mut pages: Vec<_> = std::fs::read_dir(dir.join("pages"))
        .expect("pages")
        .map(|f| f.expect("entry").path())
        .collect();
    pages.sort();
    files.extend(pages);
    let mut defined: std::collections::HashMap<String, PathBuf> = Default::default();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a script");
        for line in text.lines().filter(|l| !l.starts_with(char::is_whitespace)) {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .filter(|w| !w.is_empty())
                .collect();
            let name = match words.as_slice() {
                ["async", "function", name, ..] | ["function", name, ..] => name,
                ["const" | "let" | "var" | "class", name, ..] => name,
                _ => continue,
            };
            assert!(
                !WINDOW.contains(name),
                "{} defines `{name}` at the top level, replacing window.{name}",
                file.display()
            );
            if let Some(first) = defined.insert((*name).to_owned(), file.clone()) {
                panic!(
                    "`{name}` is defined at the top level of both {} and {}",
                    first.display(),
                    file.display()
                );
            }
        }
    }
    assert!(defined.contains_key("definePage"), "app.js was read");
}

/// Stores `a` and `b` in `work`, each having put key `k` ("from a", "from b") before syncing
/// through a folder, so that `a` (returned) holds both values of `k` as concurrent heads.
pub fn concurrent_values_of_k(work: &Work) -> PathBuf {
    let (a, b, stick) = (work.path("a"), work.path("b"), work.folder("stick"));
    for (store, value) in [(&a, r#""from a""#), (&b, r#""from b""#)] {
        mule(store)
            .args(["kv", "put", "k", value])
            .assert()
            .success();
    }
    for store in [&a, &b, &a] {
        mule(store).arg("sync").arg(&stick).assert().success();
    }
    a
}
