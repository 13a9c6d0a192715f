//! The phone page (`mule qr receiver --html`): one self-contained offline HTML file that makes
//! any phone with a browser a data mule. It scans a QR stream with the camera, keeps the
//! rebuilt bundles in the browser's storage, saves them as files and plays them again as QR
//! streams.
//!
//! Frames are read, rebuilt and written by `crates/mule-receiver`, mule's own `mule-qr` crate
//! compiled to WebAssembly by build.rs; the page carries it gzipped and base64-encoded, with
//! wasm-bindgen's bindings, the shared player ([`super::output::PLAYER_JS`]) and its script
//! (`receiver.js`). Its Content-Security-Policy allows no network access at all.

use base64::Engine;

use super::Error;
use super::output::PLAYER_JS;

const TEMPLATE: &str = include_str!("receiver.html");
const RECEIVER_JS: &str = include_str!("receiver.js");

#[cfg(phone_page)]
const BINDINGS_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/receiver/mule_receiver.js"));
#[cfg(phone_page)]
const WASM_GZ: &[u8] = include_bytes!(concat!(
    env!("OUT_DIR"),
    "/receiver/mule_receiver_bg.wasm.gz"
));

/// The page's HTML.
pub fn page() -> Result<String, Error> {
    let (bindings, wasm) = parts()?;
    let wasm = base64::engine::general_purpose::STANDARD.encode(wasm);
    Ok(fill(
        TEMPLATE,
        &[
            ("{PLAYER_JS}", PLAYER_JS),
            ("{BINDINGS_JS}", bindings),
            ("{WASM_GZ_BASE64}", &wasm),
            ("{RECEIVER_JS}", RECEIVER_JS),
        ],
    ))
}

#[cfg(phone_page)]
fn parts() -> Result<(&'static str, &'static [u8]), Error> {
    Ok((BINDINGS_JS, WASM_GZ))
}

#[cfg(not(phone_page))]
fn parts() -> Result<(&'static str, &'static [u8]), Error> {
    Err(Error::NoPhonePage)
}

/// `template` with each placeholder replaced once, in one pass: text put in is never searched
/// for placeholders again.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some((at, key, value)) = values
        .iter()
        .filter_map(|(key, value)| rest.find(key).map(|at| (at, *key, *value)))
        .min_by_key(|found| found.0)
    {
        out.push_str(&rest[..at]);
        out.push_str(value);
        rest = &rest[at + key.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once_in_one_pass() {
        let filled = fill("a{X}b{Y}c{X}", &[("{X}", "{Y}"), ("{Y}", "y")]);
        assert_eq!(filled, "a{Y}byc{Y}");
    }

    #[cfg(phone_page)]
    #[test]
    fn the_page_carries_everything_and_nothing_closes_its_scripts_early() {
        let html = page().unwrap();
        assert!(!html.contains("{BINDINGS_JS}") && !html.contains("{WASM_GZ_BASE64}"));
        assert_eq!(html.matches("</script>").count(), 4);
        assert!(html.contains("connect-src") || html.contains("default-src 'none'"));
    }
}
