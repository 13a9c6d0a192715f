//! Builds the phone page's WebAssembly (`crates/mule-receiver`, over the same `mule-qr` crate
//! the binary uses) so that `mule qr receiver --html` can write the page from the binary alone.
//!
//! It needs the `wasm32-unknown-unknown` target and the `wasm-bindgen` command at the version
//! `crates/mule-receiver` pins (`scripts/setup-wasm` installs both; `scripts/test` runs it).
//! Where either is missing the binary is built without the page, `mule qr receiver` says how
//! to get it, and cargo prints a warning; under CI=true the build fails instead. The WebAssembly
//! is built by a nested cargo (as substrate's wasm-builder does) into `<target>/wasm-receiver`,
//! shared by every profile, then gzipped into OUT_DIR for `include_bytes!`.

use std::env;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `wasm-bindgen` command must be the version of the crate (`crates/mule-receiver`).
const WASM_BINDGEN_VERSION: &str = "0.2.130";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
// No 128-bit SIMD (`+simd128`): measured, it did not make decoding faster (19.8 against 20.3 ms
// a 1080p picture), and phones with Safari before 16.4 could not load the page at all.

fn main() {
    for path in ["crates/mule-qr", "crates/mule-receiver", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=CI");
    println!("cargo::rustc-check-cfg=cfg(phone_page)");
    link_without_pie();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    match build_receiver(&out) {
        Ok(()) => println!("cargo:rustc-cfg=phone_page"),
        Err(why) if env::var("CI").as_deref() == Ok("true") => {
            panic!("the phone page cannot be built: {why} (CI=true; run scripts/setup-wasm)")
        }
        Err(why) => println!(
            "cargo:warning=mule is built without the phone page (mule qr receiver): {why}; run scripts/setup-wasm, then build again"
        ),
    }
}

/// Links the `mule` command at a fixed address on Linux. A position-independent executable
/// spends most of the start of every command (2 of 3 ms, measured) applying 55,000
/// relocations to 1.4 MB of tables, page by page; scripts and cron jobs start mule once per
/// change. The libraries it loads stay randomized. Only the final link changes, so the
/// dependencies are built as they always are.
fn link_without_pie() {
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os == "linux" && target_env == "gnu" {
        println!("cargo:rustc-link-arg-bin=mule=-no-pie");
    }
}

fn build_receiver(out: &Path) -> Result<(), String> {
    check_tools()?;
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let target_dir = shared_target_dir(out);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(&manifest_dir)
        .args(["build", "--locked", "--release", "-p", "mule-receiver"])
        .args(["--target", WASM_TARGET, "--target-dir"])
        .arg(&target_dir)
        .args(["--config", "profile.release.lto=true"])
        .args(["--config", "profile.release.codegen-units=1"]);
    // What the outer build set for its own target must not reach this one (clippy's driver,
    // flags for the host).
    for name in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CLIPPY_ARGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
    ] {
        build.env_remove(name);
    }
    run(&mut build, "cargo build of crates/mule-receiver")?;
    let wasm = target_dir
        .join(WASM_TARGET)
        .join("release/mule_receiver.wasm");
    let bindings = out.join("receiver");
    let mut bindgen = Command::new("wasm-bindgen");
    bindgen
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&bindings)
        .arg(&wasm);
    run(&mut bindgen, "wasm-bindgen")?;
    gzip(
        &bindings.join("mule_receiver_bg.wasm"),
        &bindings.join("mule_receiver_bg.wasm.gz"),
    )
}

/// The wasm32 target and a wasm-bindgen of the pinned version.
fn check_tools() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .map_err(|e| format!("rustc: {e}"))?;
    let libdir = String::from_utf8_lossy(&libdir.stdout).trim().to_string();
    if libdir.is_empty() || !Path::new(&libdir).is_dir() {
        return Err(format!("the {WASM_TARGET} target is not installed"));
    }
    let version = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .map_err(|_| "the wasm-bindgen command is not installed".to_string())?;
    let version = String::from_utf8_lossy(&version.stdout);
    if version.split_whitespace().nth(1) != Some(WASM_BINDGEN_VERSION) {
        return Err(format!(
            "wasm-bindgen {WASM_BINDGEN_VERSION} is needed, found {}",
            version.trim()
        ));
    }
    Ok(())
}

/// `<target>/wasm-receiver` for OUT_DIR `<target>[/<triple>]/<profile>/build/mule-<hash>/out`.
fn shared_target_dir(out: &Path) -> PathBuf {
    out.ancestors()
        .nth(4)
        .map_or_else(|| out.join("wasm-receiver"), |t| t.join("wasm-receiver"))
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn gzip(from: &Path, to: &Path) -> Result<(), String> {
    let bytes = fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&bytes).map_err(|e| e.to_string())?;
    let gz = encoder.finish().map_err(|e| e.to_string())?;
    fs::write(to, gz).map_err(|e| format!("{}: {e}", to.display()))
}
