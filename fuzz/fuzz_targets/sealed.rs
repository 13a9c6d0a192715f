//! A sealed (age-encrypted) bundle to `bundle::read_bundle_with` and
//! `read_manifest_only_with`, holding the key of the committed fixture project
//! (fixtures/v1/project/camp.agekey), so inputs derived from its bundles get past the header.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("mule-fuzz-sealed-{}.mule", std::process::id()))
    })
}

fn key() -> &'static age::x25519::Identity {
    static KEY: OnceLock<age::x25519::Identity> = OnceLock::new();
    KEY.get_or_init(|| {
        let file = include_str!("../../fixtures/v1/project/camp.agekey");
        let line = file.lines().find(|l| l.starts_with("AGE-SECRET-KEY-1")).expect("a key line");
        line.parse().expect("the fixture key parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(path, data).expect("write the input to a temporary file");
    let _ = mule::bundle::read_bundle_with(path, Some(key()), None, |_member| Ok(()));
    let _ = mule::bundle::read_manifest_only_with(path, Some(key()));
});
