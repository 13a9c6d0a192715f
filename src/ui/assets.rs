//! The app's files, compiled into the binary so the page works with no network and loads
//! nothing from any other host. Every text the page shows is in `assets/ui/messages.js`.

/// The app shell, served for every page route.
const INDEX: &[u8] = include_bytes!("../../assets/ui/index.html");

/// `(path, content type, bytes)` of each file under `assets/ui/`, served at `/<path>`.
macro_rules! files {
    ($(($path:literal, $type:literal)),* $(,)?) => {
        &[$((
            concat!("/", $path),
            $type,
            include_bytes!(concat!("../../assets/ui/", $path)),
        )),*]
    };
}

/// The files, by path: (path, content type, bytes).
const FILES: &[(&str, &str, &[u8])] = files![
    ("messages.js", "text/javascript; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
    ("pages/map.js", "text/javascript; charset=utf-8"),
    ("pages/calendar.js", "text/javascript; charset=utf-8"),
    ("pages/notes.js", "text/javascript; charset=utf-8"),
    ("pages/sync.js", "text/javascript; charset=utf-8"),
    ("pages/qr.js", "text/javascript; charset=utf-8"),
    ("pages/project.js", "text/javascript; charset=utf-8"),
    ("pages/status.js", "text/javascript; charset=utf-8"),
    (
        "vendor/leaflet/leaflet.js",
        "text/javascript; charset=utf-8"
    ),
    ("vendor/leaflet/leaflet.css", "text/css; charset=utf-8"),
];

/// Files the app shares with the library: the QR player, which `mule qr encode --html` pages
/// carry inline, so both play frames alike.
const SHARED: &[(&str, &str, &[u8])] = &[(
    "/qr-player.js",
    "text/javascript; charset=utf-8",
    crate::qr::output::PLAYER_JS.as_bytes(),
)];

/// The pages, each a URL of its own that the app shell renders (`/` opens the map).
pub const PAGES: &[&str] = &[
    "/",
    "/map",
    "/calendar",
    "/notes",
    "/sync",
    "/qr",
    "/project",
    "/status",
];

/// The content type and bytes served at `path`.
pub fn get(path: &str) -> Option<(&'static str, &'static [u8])> {
    if PAGES.contains(&path) {
        return Some(("text/html; charset=utf-8", INDEX));
    }
    FILES
        .iter()
        .chain(SHARED)
        .find(|(file, _, _)| *file == path)
        .map(|(_, content_type, bytes)| (*content_type, *bytes))
}
