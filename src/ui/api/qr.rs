//! `/api/qr`: the QR page sends a bundle as a loop of QR codes on the screen.
//!
//! The page plays frames with the same player as `mule qr encode --html` (`qr/player.js`,
//! served as `/qr-player.js`). That page carries its frames as `data:` URLs and runs inline
//! script, which the app's CSP (`default-src 'self'`) refuses, and should keep refusing: so here
//! the player is a file of the app and each frame an image of this API,
//! `/api/qr/frames/<play>/<n>`, rendered when asked from the bundle kept in [`Playing`]. The
//! CSP stays the same on every route.
//!
//! The page also receives: it films a QR stream with the laptop's camera and posts each frame,
//! grey, to `/api/qr/receive/frame`, and this server decodes it with the same engine as
//! `mule qr scan` ([`live::Decoding`]). Decoding here rather than in the page through
//! WebAssembly: this server runs on the same laptop, so a frame travels no network; rxing in
//! native code is the fastest decoder there is here; and this page then needs no wasm
//! toolchain (the phone page, which has no server, will).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::AuthorId;
use crate::qr::fountain::{Receiver, Sender};
use crate::qr::{self, Profile, live, output};
use crate::replica::{Replica, Selection};

use super::super::http::{Request, Response};
use super::{answer, not_allowed, not_found};

/// What the QR page keeps between requests: the bundle it plays (for the requests of its
/// frames) and the stream its camera receives.
#[derive(Debug, Default)]
pub struct Playing {
    /// Counts the bundles played, so a page never gets frames of a newer one.
    plays: u64,
    current: Option<Play>,
    /// The stream the page's camera is receiving.
    receiving: Option<Receiving>,
    /// Set by a frame received that imported nothing: the store did not change.
    store_untouched: bool,
}

impl Playing {
    /// Whether the last request left the store untouched though it was a POST (a camera
    /// frame that imported nothing); resets it. Pages then need not redraw.
    pub fn take_store_untouched(&mut self) -> bool {
        std::mem::take(&mut self.store_untouched)
    }
}

/// A stream being received from the page's camera: one at a time, started by the first frame,
/// ended by its import, by `receive/stop`, or replaced when idle for [`RECEIVE_IDLE`]. The
/// receiver's own limits bound what it keeps.
#[derive(Debug)]
struct Receiving {
    receiver: Receiver,
    decoding: live::Decoding,
    last_frame: Instant,
}

/// A receive session idle this long is forgotten at the next frame (the page was closed).
const RECEIVE_IDLE: Duration = Duration::from_secs(120);

/// Largest frame posted (pixels): 1280x720, a camera frame scaled down by the page.
const MAX_RECEIVE_PIXELS: usize = 1280 * 720;

/// `POST /api/qr/receive/frame`: progress after the frame, and what came in once complete.
#[derive(Debug, Serialize)]
struct Received {
    /// Frames decoded in this session.
    images: u64,
    /// Distinct codes received, all streams together.
    received: usize,
    /// Codes needed (about), all streams together.
    needed: usize,
    /// Streams seen.
    streams: usize,
    /// Streams rebuilt.
    complete: usize,
    /// Bundle bytes received per second.
    bytes_per_second: f64,
    /// The bundles imported, once every stream seen is rebuilt (the session then ends).
    imported: Option<Vec<ReceivedBundle>>,
}

/// A bundle received and imported.
#[derive(Debug, Serialize)]
struct ReceivedBundle {
    /// The bundle's id.
    id: crate::Hash,
    /// Its size.
    bytes: u64,
    /// What the import did.
    imported: crate::report::QrImport,
}

/// `POST /api/qr/receive/stop`.
#[derive(Debug, Serialize)]
struct Stopped {
    stopped: bool,
}

#[derive(Debug)]
struct Play {
    number: u64,
    sender: Sender,
    profile: Profile,
    /// The frames' PNGs, each rendered when first asked for (a loop plays them again and
    /// again; at most about 4 MB for the largest bundle played).
    rendered: Vec<Option<Vec<u8>>>,
}

/// `GET /api/qr`: what the page offers.
#[derive(Debug, Serialize)]
struct Choices {
    /// The QR profiles (sizes and speeds).
    profiles: &'static [Profile],
    /// Other devices that told this store what they hold: a bundle can carry what one lacks.
    peers: Vec<crate::store::Peer>,
    /// Larger exports play in parts of about this many bytes.
    part_bytes: u64,
}

/// `POST /api/qr/send`: what to play.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Send {
    /// `all`, `unacknowledged` (what some known peer lacks) or `peer`.
    what: String,
    /// The peer, for `peer`.
    peer: Option<AuthorId>,
    /// The profile's name.
    profile: String,
    /// Which part of a large export, from 0.
    #[serde(default)]
    part: usize,
}

/// What the page plays: frames `/api/qr/frames/<play>/0` to `<frames - 1>`, looping.
#[derive(Debug, Serialize)]
struct Played {
    /// Names this bundle's frames.
    play: u64,
    /// Screen frames in the loop.
    frames: usize,
    /// Frames per second the profile plays at.
    fps: f32,
    /// The profile.
    profile: Profile,
    /// Codes a receiver needs at least (K).
    source_frames: usize,
    /// The bundle's size.
    bytes: u64,
    /// Entries it carries.
    entries: u64,
    /// Which part of the export this is, from 0, and how many there are.
    part: usize,
    /// How many parts the export has.
    parts: usize,
}

/// Nothing to send: every selected entry is already where it should be.
#[derive(Debug, Serialize)]
struct Nothing {
    nothing: bool,
}

/// Answers `/api/qr/...`.
pub fn handle(
    replica: &mut Replica,
    playing: &mut Playing,
    request: &Request,
    rest: &str,
) -> Response {
    let method = request.method.as_str();
    match (method, rest) {
        ("GET", "") => choices(replica),
        ("POST", "send") => send(replica, playing, &request.body),
        ("GET", frame) if frame.starts_with("frames/") => frame_png(playing, frame),
        ("POST", "receive/frame") => receive_frame(replica, playing, &request.body),
        ("GET", "phone-page") => phone_page(),
        ("POST", "receive/stop") => {
            playing.receiving = None;
            Response::json(200, &Stopped { stopped: true })
        }
        (_, "" | "send" | "receive/frame" | "receive/stop" | "phone-page") => not_allowed(),
        _ => not_found(request),
    }
}

fn choices(replica: &Replica) -> Response {
    answer(replica.status().map(|status| Choices {
        profiles: qr::PROFILES,
        peers: status.store.peers,
        part_bytes: output::PLAYED_PART,
    }))
}

fn send(replica: &Replica, playing: &mut Playing, body: &[u8]) -> Response {
    let send: Send = match serde_json::from_slice(body) {
        Ok(send) => send,
        Err(e) => return Response::failure(400, &format!("the body is not a send request: {e}")),
    };
    let selection = match (send.what.as_str(), send.peer) {
        ("all", _) => Selection::All,
        ("unacknowledged", _) => Selection::NotAcknowledged,
        ("peer", Some(peer)) => Selection::For(peer),
        _ => return Response::failure(400, "what: all, unacknowledged, or peer with a peer id"),
    };
    let Some(profile) = Profile::named(&send.profile) else {
        return Response::failure(400, &format!("no QR profile named `{}`", send.profile));
    };
    let part = match replica.export_part(&selection, output::PLAYED_PART, send.part) {
        Ok(Some(part)) => part,
        Ok(None) => return Response::json(200, &Nothing { nothing: true }),
        Err(e) => return answer::<()>(Err(e)),
    };
    if part.bytes.len() as u64 > output::MAX_PLAYED {
        return Response::failure(
            413,
            &format!(
                "this bundle is {} bytes (one large attachment), more than the {} a QR loop \
                 carries; take it on a stick (Sync page)",
                part.bytes.len(),
                output::MAX_PLAYED
            ),
        );
    }
    let sender = match Sender::new(
        &part.bytes,
        part.id.as_bytes(),
        profile.frame_len(),
        profile.id,
    ) {
        Ok(sender) => sender,
        Err(e) => return Response::failure(500, &e.to_string()),
    };
    let source_frames = sender.source_symbols();
    playing.plays += 1;
    let played = Played {
        play: playing.plays,
        frames: output::screens_for(&profile, output::player_codes(source_frames)),
        fps: profile.fps,
        profile,
        source_frames,
        bytes: part.bytes.len() as u64,
        entries: part.entries,
        part: part.number,
        parts: part.parts,
    };
    playing.current = Some(Play {
        number: playing.plays,
        sender,
        profile,
        rendered: vec![None; played.frames],
    });
    Response::json(200, &played)
}

/// `GET /api/qr/frames/<play>/<n>`: screen frame `n` of the bundle played as `play`.
fn frame_png(playing: &mut Playing, path: &str) -> Response {
    let wanted = path
        .strip_prefix("frames/")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(play, n)| Some((play.parse::<u64>().ok()?, n.parse::<usize>().ok()?)));
    let Some((number, screen)) = wanted else {
        return Response::failure(400, "a frame is /api/qr/frames/<play>/<n>");
    };
    let Some(play) = playing
        .current
        .as_mut()
        .filter(|p| p.number == number && screen < p.rendered.len())
    else {
        return Response::failure(
            404,
            "this bundle is no longer played (another page started one): press Play again",
        );
    };
    let slot = &mut play.rendered[screen];
    let png = match slot {
        Some(png) => png.clone(),
        None => match output::player_frame_png(&play.sender, &play.profile, screen) {
            Ok(png) => slot.insert(png).clone(),
            Err(e) => return Response::failure(500, &e.to_string()),
        },
    };
    let mut response = Response::bytes(200, "image/png", png);
    // A frame's URL names one frame of one play for good, so the browser may keep it: the
    // player preloads the next frame and then shows it from memory, with no blank between.
    response.headers.push((
        "Cache-Control",
        "private, max-age=86400, immutable".to_owned(),
    ));
    response
}

/// A posted frame: width and height (u16, little-endian), then one grey byte per pixel, rows
/// top to bottom.
fn grey_frame(body: &[u8]) -> Result<image::GrayImage, Response> {
    let bad = |what: &str| {
        Response::failure(
            400,
            &format!(
                "{what}: a frame is width and height (2 bytes each, little-endian), then width x height grey bytes"
            ),
        )
    };
    let (Some(head), Some(pixels)) = (body.get(..4), body.get(4..)) else {
        return Err(bad("the frame has no size"));
    };
    let width = u16::from_le_bytes([head[0], head[1]]);
    let height = u16::from_le_bytes([head[2], head[3]]);
    let area = usize::from(width) * usize::from(height);
    if area > MAX_RECEIVE_PIXELS {
        return Err(Response::failure(
            413,
            &format!("a {width}x{height} frame is larger than 1280x720; scale it down"),
        ));
    }
    if area == 0 || pixels.len() != area {
        return Err(bad(&format!(
            "{} grey bytes for a {width}x{height} frame",
            pixels.len()
        )));
    }
    image::GrayImage::from_raw(u32::from(width), u32::from(height), pixels.to_vec())
        .ok_or_else(|| bad("the frame does not fit its size"))
}

fn receive_frame(replica: &mut Replica, playing: &mut Playing, body: &[u8]) -> Response {
    let frame = match grey_frame(body) {
        Ok(frame) => frame,
        Err(response) => return response,
    };
    let now = Instant::now();
    let receiving = match &mut playing.receiving {
        Some(r) if now.duration_since(r.last_frame) < RECEIVE_IDLE => r,
        slot => slot.insert(Receiving {
            receiver: Receiver::default(),
            decoding: live::Decoding::default(),
            last_frame: now,
        }),
    };
    receiving.last_frame = now;
    let progress = receiving.decoding.push(frame, &mut receiving.receiver, 0);
    let imported = if progress.is_complete() {
        match import_received(replica, &receiving.receiver) {
            Ok(bundles) => Some(bundles),
            Err(e) => {
                playing.receiving = None;
                return answer::<()>(Err(e));
            }
        }
    } else {
        None
    };
    match imported {
        Some(_) => playing.receiving = None,
        None => playing.store_untouched = true,
    }
    Response::json(
        200,
        &Received {
            images: progress.images,
            received: progress.received,
            needed: progress.needed,
            streams: progress.streams,
            complete: progress.complete,
            bytes_per_second: progress.bytes_per_second,
            imported,
        },
    )
}

/// Verifies and imports every bundle rebuilt, through the replica.
fn import_received(
    replica: &mut Replica,
    receiver: &Receiver,
) -> Result<Vec<ReceivedBundle>, crate::replica::Error> {
    receiver
        .bundles()
        .into_iter()
        .map(|(id, bytes)| {
            let imported = replica.import_bytes(bytes)?.into();
            Ok(ReceivedBundle {
                id: crate::Hash::from_bytes(id),
                bytes: bytes.len() as u64,
                imported,
            })
        })
        .collect()
}

/// `GET /api/qr/phone-page`: the phone page (`mule qr receiver --html`) as a download.
fn phone_page() -> Response {
    match crate::qr::receiver::page() {
        Ok(page) => {
            let mut response = Response::bytes(200, "text/html; charset=utf-8", page.into_bytes());
            response.headers.push((
                "Content-Disposition",
                "attachment; filename=\"mule-receiver.html\"".into(),
            ));
            response
        }
        Err(e) => Response::failure(503, &e.to_string()),
    }
}
