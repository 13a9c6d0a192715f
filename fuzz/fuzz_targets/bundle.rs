//! The whole bundle reader on arbitrary file contents.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for every input.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("mule-fuzz-bundle-{}.mule", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(path, data).expect("write the input to a temporary file");
    let _ = mule::bundle::read_bundle(path, None, |_member| Ok(()));
    let _ = mule::bundle::read_manifest_only(path);
});
