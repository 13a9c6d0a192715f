//! The QR transport's core, shared by the `mule` binary and the phone page's WebAssembly build:
//! one implementation of the frame format, the fountain code, the QR symbols and the counting
//! of what a reader saw. Nothing here touches files, processes or clocks, so it compiles to
//! `wasm32-unknown-unknown` as it is.
//!
//! - [`frame`]: the bytes of one frame (header, RaptorQ symbol, CRC32C).
//! - [`fountain`]: a bundle as an endless stream of frames, and its reassembly.
//! - [`code`]: QR symbols at a fixed version, their capacities, the profiles.
//! - [`read`]: every QR code in a grey picture.
//! - [`tally`]: what a reader saw, and the progress of a live scan.

pub mod code;
pub mod fountain;
pub mod frame;
pub mod read;
pub mod tally;

pub use code::{PROFILES, Profile};
pub use tally::{Progress, Scan, Tally};
