//! `mule ui`'s QR and project pages (issue 17): their API over raw HTTP (see `ui::Ui`).

use super::ui::{Reply, Ui};
use super::*;
use serde_json::json;

/// `call` with a JSON body and the Origin a page of the app sends with a change.
fn change(ui: &Ui, method: &str, path: &str, body: &Value) -> Reply {
    let headers = [
        format!("Host: {}", ui.host()),
        ui.login(),
        format!("Origin: http://{}", ui.host()),
        "Content-Type: application/json".to_owned(),
    ];
    ui.send(method, path, &headers, body.to_string().as_bytes())
}

/// Every frame of the bundle a `POST /api/qr/send` answer plays, as PNG files in `dir`.
fn fetch_frames(ui: &Ui, played: &Value, dir: &Path) {
    std::fs::create_dir_all(dir).expect("frames dir");
    let play = played["play"].as_u64().expect("play");
    for n in 0..played["frames"].as_u64().expect("frames") {
        let frame = ui.call("GET", &format!("/api/qr/frames/{play}/{n}"), b"");
        assert_eq!(frame.status, 200);
        assert_eq!(frame.header("content-type"), Some("image/png"));
        std::fs::write(dir.join(format!("{n:04}.png")), &frame.body).expect("write frame");
    }
}

#[test]
fn ui_qr_plays_frames_another_store_rebuilds() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    for n in 0..3 {
        let value = format!("\"{n}\"");
        assert!(
            run(&a, &["kv", "put", &format!("k{n}"), &value])
                .status
                .success()
        );
    }
    let ui = Ui::start(&a);
    let choices = ui.call("GET", "/api/qr", b"").json();
    assert!(choices["profiles"].as_array().expect("profiles").len() >= 4);
    let send = json!({"what": "all", "profile": "small"});
    let played = change(&ui, "POST", "/api/qr/send", &send).json();
    assert_eq!(played["entries"], 3);
    assert_eq!(
        (played["part"].as_u64(), played["parts"].as_u64()),
        (Some(0), Some(1))
    );
    let k = played["source_frames"].as_u64().expect("k");
    assert_eq!(
        played["frames"].as_u64(),
        Some(2 * k + 3),
        "the qr encode --html loop"
    );
    let frames = work.path("frames");
    fetch_frames(&ui, &played, &frames);
    let decoded = run(
        &b,
        &["qr", "decode", "--import", frames.to_str().expect("utf-8")],
    );
    assert!(decoded.status.success(), "{}", stderr(&decoded));
    assert_eq!(json(&b, &["kv", "get", "k2"])["value"], "2");
    // A frame is immutable, so it may be cached; a newer play retires the older one's frames.
    let play = played["play"].as_u64().expect("play");
    let frame = ui.call("GET", &format!("/api/qr/frames/{play}/0"), b"");
    assert!(
        frame
            .header("cache-control")
            .expect("cache-control")
            .contains("immutable")
    );
    change(&ui, "POST", "/api/qr/send", &send);
    let stale = ui.call("GET", &format!("/api/qr/frames/{play}/0"), b"");
    assert_eq!(stale.status, 404);
    let beyond = format!("/api/qr/frames/{}/{}", play + 1, 2 * k + 3);
    assert_eq!(ui.call("GET", &beyond, b"").status, 404);
    // Every other answer still may not be cached.
    let status = ui.call("GET", "/api/status", b"");
    assert_eq!(status.header("cache-control"), Some("no-store"));
}

#[test]
fn ui_qr_sends_what_a_peer_lacks_and_nothing_when_it_lacks_nothing() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    assert!(run(&a, &["kv", "put", "k", "1"]).status.success());
    let stick = work.path("stick");
    std::fs::create_dir_all(&stick).expect("stick");
    let stick_arg = stick.to_str().expect("utf-8");
    for store in [&a, &b, &a] {
        assert!(run(store, &["sync", stick_arg]).status.success());
    }
    let ui = Ui::start(&a);
    let peers = ui.call("GET", "/api/qr", b"").json()["peers"].clone();
    let peer = peers[0]["peer"].as_str().expect("b told a what it holds");
    let send = json!({"what": "peer", "peer": peer, "profile": "default"});
    assert_eq!(
        change(&ui, "POST", "/api/qr/send", &send).json(),
        json!({"nothing": true})
    );
    let refused = change(
        &ui,
        "POST",
        "/api/qr/send",
        &json!({"what": "peer", "profile": "default"}),
    );
    assert_eq!(refused.status, 400);
    let unknown = json!({"what": "all", "profile": "huge"});
    assert_eq!(change(&ui, "POST", "/api/qr/send", &unknown).status, 400);
}

#[test]
fn ui_qr_plays_a_large_export_in_parts() {
    let work = Work::new();
    let a = work.path("a");
    assert!(
        append_lines(&a, "obs", &hashed_lines(30_000))
            .status
            .success()
    );
    let ui = Ui::start(&a);
    let (mut entries, mut part, mut parts) = (0, 0, 1);
    while part < parts {
        let send = json!({"what": "all", "profile": "large", "part": part});
        let played = change(&ui, "POST", "/api/qr/send", &send).json();
        parts = played["parts"].as_u64().expect("parts");
        assert_eq!(played["part"], part);
        let bytes = played["bytes"].as_u64().expect("bytes");
        assert!(bytes <= mule::qr::output::MAX_PLAYED, "{played}");
        entries += played["entries"].as_u64().expect("entries");
        part += 1;
    }
    assert!(parts > 1, "1.2 MB of entries play in parts");
    assert_eq!(entries, 30_000);
}

/// The secrets no answer may carry: the device key's seed and the project's key.
fn secrets(store: &Path) -> Vec<String> {
    let key = std::fs::read_to_string(store.join("device.key")).expect("device.key");
    let seed = key.lines().nth(1).expect("the seed line").trim().to_owned();
    let project = json(store, &["project", "key"])["identity"]
        .as_str()
        .expect("identity")
        .to_owned();
    assert!(project.starts_with("AGE-SECRET-KEY-1"));
    vec![seed, project]
}

#[test]
fn ui_project_answers_never_carry_the_device_or_the_project_key() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    let ui = Ui::start(&a);
    let none = ui.call("GET", "/api/project", b"").json();
    assert_eq!(none["project"], Value::Null);
    let mut answers = vec![none.to_string()];
    let created = change(&ui, "POST", "/api/project", &json!({"name": "Camp"}));
    assert_eq!(
        created.status,
        200,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    answers.push(String::from_utf8_lossy(&created.body).into_owned());
    let invited = change(&ui, "POST", "/api/project/invite", &json!({"admin": false}));
    let invite = invited.json()["invite"]
        .as_str()
        .expect("invite")
        .to_owned();
    assert!(invite.starts_with("mule-invite1:"));
    let joined = run(&b, &["project", "join", &invite]);
    assert!(joined.status.success(), "{}", stderr(&joined));
    let qr = format!("/api/project/invite.png?invite={invite}");
    let png = ui.call("GET", &qr, b"");
    assert_eq!(png.header("content-type"), Some("image/png"));
    let page = ui.call("GET", "/api/project", b"").json();
    assert_eq!(page["project"]["role"], "admin");
    assert_eq!(page["project"]["powers"]["invite"], true);
    for path in [
        "/api/project",
        "/api/status",
        "/api/qr",
        "/project",
        "/pages/project.js",
    ] {
        answers.push(String::from_utf8_lossy(&ui.call("GET", path, b"").body).into_owned());
    }
    answers.push(String::from_utf8_lossy(&invited.body).into_owned());
    for secret in secrets(&a) {
        for answer in &answers {
            let answer = answer.to_lowercase();
            assert!(
                !answer.contains(&secret.to_lowercase()),
                "a secret in {answer}"
            );
        }
    }
}

#[test]
fn ui_project_offers_and_does_only_what_the_cli_allows_this_device() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b"));
    assert!(run(&a, &["project", "create", "Camp"]).status.success());
    let invite = stdout(&run(&a, &["project", "invite"]));
    let root = stdout(&run(&a, &["id"])).trim().to_owned();
    let ui = Ui::start(&b);
    let joined = change(&ui, "POST", "/api/project/join", &json!({"invite": invite}));
    assert_eq!(joined.json()["role"], "member");
    let page = ui.call("GET", "/api/project", b"").json();
    assert_eq!(
        page["project"]["powers"],
        json!({"invite": false, "remove": []})
    );
    let refused = change(&ui, "POST", "/api/project/invite", &json!({}));
    assert_eq!(refused.status, 409);
    assert!(
        refused.json()["error"]
            .as_str()
            .expect("error")
            .contains("not an admin")
    );
    let removal = change(
        &ui,
        "DELETE",
        &format!("/api/project/members/{root}"),
        &json!(null),
    );
    assert_eq!(removal.status, 409);
    let again = change(&ui, "POST", "/api/project", &json!({"name": "Other"}));
    assert_eq!(again.status, 409);
    assert!(
        again.json()["error"]
            .as_str()
            .expect("error")
            .contains("already belongs")
    );
    let bad = change(
        &ui,
        "POST",
        "/api/project/join",
        &json!({"invite": "mule-invite1:xx"}),
    );
    assert_eq!(bad.status, 400);
    let foreign = ui.call(
        "GET",
        "/api/project/invite.png?invite=https://example.com",
        b"",
    );
    assert_eq!(foreign.status, 400, "only invites are drawn");
}
