//! `mule ui`'s /qr page receiving (issue 18): grey camera frames posted to
//! `/api/qr/receive/frame`, decoded on the server, the bundle imported when complete.

use super::ui::{Reply, Ui};
use super::*;

/// Posts `body` as a frame, as the page does (binary, with the app's Origin).
fn post_frame(ui: &Ui, body: &[u8]) -> Reply {
    let headers = [
        format!("Host: {}", ui.host()),
        ui.login(),
        format!("Origin: http://{}", ui.host()),
        "Content-Type: application/octet-stream".to_owned(),
    ];
    ui.send("POST", "/api/qr/receive/frame", &headers, body)
}

/// A frame's body: width and height (u16, little-endian), then the grey pixels.
fn frame_body(png: &Path) -> Vec<u8> {
    let grey = image::open(png).expect("a PNG frame").to_luma8();
    let (width, height) = (grey.width() as u16, grey.height() as u16);
    let mut body = Vec::new();
    body.extend_from_slice(&width.to_le_bytes());
    body.extend_from_slice(&height.to_le_bytes());
    body.extend_from_slice(grey.as_raw());
    body
}

/// `qr encode --png` frames of a bundle of `source`'s key `k` holding `"v"`, sorted.
fn png_frames(work: &Work, source: &Path) -> Vec<PathBuf> {
    assert!(run(source, &["kv", "put", "k", "\"v\""]).status.success());
    let bundle = work.path("all.mule");
    let exported = run(
        source,
        &["export", "--all", "-o", bundle.to_str().expect("utf-8")],
    );
    assert!(exported.status.success(), "{}", stderr(&exported));
    let dir = work.path("frames");
    let encoded = mule_bare()
        .args(["qr", "encode"])
        .arg(&bundle)
        .arg("--png")
        .arg(&dir)
        .output()
        .expect("run");
    assert!(encoded.status.success(), "{}", stderr(&encoded));
    let mut frames: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("frames")
        .map(|e| e.expect("entry").path())
        .collect();
    frames.sort();
    frames
}

#[test]
fn ui_qr_receive_imports_posted_camera_frames() {
    let work = Work::new();
    let (source, target) = (work.path("source"), work.path("target"));
    let frames = png_frames(&work, &source);
    let ui = Ui::start(&target);
    let mut last = Value::Null;
    for frame in &frames {
        let reply = post_frame(&ui, &frame_body(frame));
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        last = reply.json();
        if !last["imported"].is_null() {
            break;
        }
        assert_eq!(last["streams"], 1, "{last}");
    }
    let imported = last["imported"].as_array().expect("imported once complete");
    assert_eq!(imported.len(), 1, "{last}");
    assert_eq!(json(&target, &["kv", "get", "k"])["value"], "v");
}

#[test]
fn ui_qr_receive_refuses_bad_frames() {
    let work = Work::new();
    let ui = Ui::start(&work.path("store"));
    let sized = |width: u16, height: u16, pixels: usize| {
        let mut body = width.to_le_bytes().to_vec();
        body.extend_from_slice(&height.to_le_bytes());
        body.resize(4 + pixels, 128);
        body
    };
    for (body, status) in [
        (Vec::new(), 400),
        (vec![1, 0], 400),
        (sized(10, 10, 99), 400),
        (sized(10, 10, 101), 400),
        (sized(0, 0, 0), 400),
        (sized(1281, 720, 0), 413),
        (sized(1024, 1000, 1024 * 1000), 413),
    ] {
        let reply = post_frame(&ui, &body);
        assert_eq!(reply.status, status, "{} bytes", body.len());
    }
    // Bodies over the server's 1 MiB are refused before they reach the API (`ui.rs`).
    // A grey frame with no code in it is progress of nothing, not an error.
    let blank = post_frame(&ui, &sized(64, 48, 64 * 48)).json();
    assert_eq!(
        (blank["images"].as_u64(), blank["streams"].as_u64()),
        (Some(1), Some(0))
    );
    assert!(blank["imported"].is_null());
    // Stop ends the session: the next frame starts a new one.
    let headers = [
        format!("Host: {}", ui.host()),
        ui.login(),
        format!("Origin: http://{}", ui.host()),
    ];
    let stopped = ui.send("POST", "/api/qr/receive/stop", &headers, b"");
    assert_eq!(stopped.status, 200);
    let again = post_frame(&ui, &sized(64, 48, 64 * 48)).json();
    assert_eq!(again["images"].as_u64(), Some(1), "{again}");
}
