//! `/api/qr`: the QR page sends a bundle as a loop of QR codes on the screen.
//!
//! The page plays frames with the same player as `mule qr encode --html` (`qr/player.js`,
//! served as `/qr-player.js`). That page carries its frames as `data:` URLs and runs inline
//! script, which the app's CSP (`default-src 'self'`) refuses, and should keep refusing: so here
//! the player is a file of the app and each frame an image of this API,
//! `/api/qr/frames/<play>/<n>`, rendered when asked from the bundle kept in [`Playing`]. The
//! CSP stays the same on every route.

use serde::{Deserialize, Serialize};

use crate::AuthorId;
use crate::qr::{self, Profile, fountain::Sender, output};
use crate::replica::{Replica, Selection};

use super::super::http::{Request, Response};
use super::{answer, not_allowed, not_found};

/// The bundle the QR page plays, kept between the requests for its frames.
#[derive(Debug, Default)]
pub struct Playing {
    /// Counts the bundles played, so a page never gets frames of a newer one.
    plays: u64,
    current: Option<Play>,
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
        (_, "" | "send") => not_allowed(),
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
    let sender = match Sender::new(&part.bytes, &part.id, profile.frame_len(), profile.id) {
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
