//! `mule qr scan`: a camera-like MJPEG stream (made by ffmpeg from `qr encode --png` frames,
//! scaled, in perspective, blurred, noisy, JPEG-compressed) piped into `--input -`.

use std::io::Write;
use std::process::Command as Process;

use super::*;

/// What a phone camera filming a screen does to the frames: a margin of screen around the
/// code, 70% scale, a slight perspective, blur, sensor noise, JPEG quality about 60.
const CAMERA: &str = "pad=iw+160:ih+120:80:60:white,scale=iw*0.7:-1,\
    perspective=x0=12:y0=8:x1=W-4:y1=14:x2=6:y2=H-10:x3=W-16:y3=H-3:sense=destination,\
    gblur=sigma=0.8,noise=alls=10:allf=t";

/// Encodes `bundle` as PNG frames in the work folder `name` (extra `qr encode` arguments).
fn png_frames(work: &Work, bundle: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let dir = work.path(name);
    let out = mule_bare()
        .args(["qr", "encode"])
        .arg(bundle)
        .arg("--png")
        .arg(&dir)
        .args(extra)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    dir
}

/// The frames in `dir` (`frame-%05d.png`) filmed as `CAMERA` says, as one MJPEG stream;
/// `select` is an ffmpeg expression choosing the frames kept (by number `n`).
fn camera_stream(ffmpeg: &Path, dir: &Path, select: &str) -> Vec<u8> {
    let filters = format!("select='{select}',{CAMERA}");
    let out = Process::new(ffmpeg)
        .args(["-nostdin", "-loglevel", "error", "-framerate", "12", "-i"])
        .arg(dir.join("frame-%05d.png"))
        .args(["-vf", &filters, "-fps_mode", "passthrough"])
        .args(["-c:v", "mjpeg", "-q:v", "8", "-f", "mjpeg", "pipe:1"])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "{}", stderr(&out));
    out.stdout
}

/// Runs `mule --json qr scan --input -` (with `extra`), writing `stream` to it up to `loops`
/// times, as a screen loops its frames; the writing ends early when mule stops reading, that
/// is when it has every stream.
fn scan(store: &Path, stream: Vec<u8>, loops: usize, extra: &[&str]) -> Output {
    let mut child = mule(store)
        .args(["--json", "qr", "scan", "--input", "-"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mule");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        for _ in 0..loops {
            if stdin.write_all(&stream).is_err() {
                return; // mule is done and closed the pipe
            }
        }
    });
    let out = child.wait_with_output().expect("mule ends");
    writer.join().expect("writer");
    out
}

fn scanned(out: &Output) -> mule::report::QrScanned {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    serde_json::from_slice(&out.stdout).expect("a QrScanned report")
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8")
}

#[test]
fn a_camera_stream_on_stdin_rebuilds_the_bundle_byte_for_byte() {
    let Some(ffmpeg) = outside_tool("ffmpeg", "ffmpeg") else {
        return;
    };
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 300);
    let frames = png_frames(&work, &bundle, "frames", &[]);
    let stream = camera_stream(&ffmpeg, &frames, "1");
    let rebuilt = work.path("rebuilt.mule");
    let report = scanned(&scan(&work.path("dst"), stream, 3, &["-o", text(&rebuilt)]));
    assert_eq!(
        std::fs::read(&rebuilt).expect("rebuilt"),
        std::fs::read(&bundle).expect("bundle")
    );
    assert_eq!(report.sessions.len(), 1);
    assert!(report.sessions[0].done);
    assert!(
        !work.path("dst").exists(),
        "-o writes the bundle, not the store"
    );
}

#[test]
fn a_scanned_stream_is_imported_into_the_store() {
    let Some(ffmpeg) = outside_tool("ffmpeg", "ffmpeg") else {
        return;
    };
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 200);
    let frames = png_frames(&work, &bundle, "frames", &[]);
    let store = work.path("dst");
    let report = scanned(&scan(&store, camera_stream(&ffmpeg, &frames, "1"), 3, &[]));
    match &report.bundles[..] {
        [mule::report::QrBundle::Imported { imported, .. }] => match imported {
            mule::report::QrImport::Applied(outcome) => assert_eq!(outcome.new, 200),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(state(&store)["entries"], 200, "{}", state(&store));
}

#[test]
fn a_stream_with_a_fifth_of_its_frames_missing_still_rebuilds() {
    let Some(ffmpeg) = outside_tool("ffmpeg", "ffmpeg") else {
        return;
    };
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 400);
    let frames = png_frames(&work, &bundle, "frames", &["--frames", "30"]);
    // Every fifth frame never reaches the camera.
    let stream = camera_stream(&ffmpeg, &frames, "not(eq(mod(n\\,5)\\,4))");
    let rebuilt = work.path("rebuilt.mule");
    scanned(&scan(&work.path("dst"), stream, 3, &["-o", text(&rebuilt)]));
    assert_eq!(
        std::fs::read(&rebuilt).expect("rebuilt"),
        std::fs::read(&bundle).expect("bundle")
    );
}

#[test]
fn two_interleaved_streams_are_both_rebuilt() {
    let Some(ffmpeg) = outside_tool("ffmpeg", "ffmpeg") else {
        return;
    };
    let work = Work::new();
    let (_, first) = incompressible_bundle(&work, 150);
    let second = work.path("second.mule");
    let other_store = work.path("other");
    assert!(
        append_lines(&other_store, "obs", &numbered(0, 120))
            .status
            .success()
    );
    let exported = run(&other_store, &["export", "--all", "-o", text(&second)]);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let a = png_frames(&work, &first, "a", &["--frames", "10"]);
    let b = png_frames(&work, &second, "b", &["--frames", "10"]);
    // One screen showing both streams in turn: a1 b1 a2 b2 ...
    let both = work.folder("both");
    let mut index = 0;
    for (x, y) in super::qr::png_frames(&a)
        .iter()
        .zip(super::qr::png_frames(&b).iter())
    {
        for file in [x, y] {
            index += 1;
            std::fs::copy(file, both.join(format!("frame-{index:05}.png"))).expect("copy");
        }
    }
    let out_dir = work.folder("out");
    let report = scanned(&scan(
        &work.path("dst"),
        camera_stream(&ffmpeg, &both, "1"),
        3,
        &["-o", text(&out_dir)],
    ));
    assert_eq!(report.sessions.len(), 2, "{report:?}");
    for bundle in [&first, &second] {
        let bytes = std::fs::read(bundle).expect("bundle");
        let id = mule::Hash::of(&bytes);
        let rebuilt = out_dir.join(format!("{id}.mule"));
        assert_eq!(std::fs::read(&rebuilt).expect("rebuilt"), bytes);
    }
}

#[test]
fn a_stream_that_ends_incomplete_says_what_is_missing_and_imports_nothing() {
    let Some(ffmpeg) = outside_tool("ffmpeg", "ffmpeg") else {
        return;
    };
    let work = Work::new();
    let (_, bundle) = incompressible_bundle(&work, 300);
    let frames = png_frames(&work, &bundle, "frames", &[]);
    // Only the first three frames.
    let stream = camera_stream(&ffmpeg, &frames, "lt(n\\,3)");
    let store = work.path("dst");
    let before = state(&store);
    let out = scan(&store, stream, 1, &[]);
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).expect("a failure report");
    let message = error["error"].as_str().expect("error text");
    assert!(message.contains("3 of the"), "{message}");
    assert!(message.contains("more"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    assert_eq!(state(&store), before);
}

#[test]
fn without_ffmpeg_scan_says_to_install_it() {
    let work = Work::new();
    let empty = work.folder("bin");
    let out = mule(&work.path("dst"))
        .args(["qr", "scan", "--input", "-"])
        .env("PATH", &empty)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(message.contains("install ffmpeg"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}

#[test]
fn input_ffmpeg_cannot_read_is_a_one_line_error_naming_it() {
    if outside_tool("ffmpeg", "ffmpeg").is_none() {
        return;
    }
    let work = Work::new();
    let notes = work.path("notes.txt");
    std::fs::write(&notes, "not a video\n").expect("write");
    let out = run(&work.path("dst"), &["qr", "scan", "--input", text(&notes)]);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(message.contains("ffmpeg could not read"), "{message}");
    assert!(message.contains("notes.txt"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}
