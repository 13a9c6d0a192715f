//! The app's files, compiled into the binary so the page works with no network and loads
//! nothing from any other host. Every text the page shows is in `assets/ui/app.js`'s message
//! table.

/// The app shell, served for every page route.
const INDEX: &[u8] = include_bytes!("../../assets/ui/index.html");

/// The files, by path: (path, content type, bytes).
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/ui/app.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/ui/app.css"),
    ),
];

/// The pages, each a URL of its own that the app shell renders.
pub const PAGES: &[&str] = &["/", "/status", "/notes"];

/// The content type and bytes served at `path`.
pub fn get(path: &str) -> Option<(&'static str, &'static [u8])> {
    if PAGES.contains(&path) {
        return Some(("text/html; charset=utf-8", INDEX));
    }
    FILES
        .iter()
        .find(|(file, _, _)| *file == path)
        .map(|(_, content_type, bytes)| (*content_type, *bytes))
}
