//! The live protocol, with the fuzzer as the peer: its bytes are what arrives on the stream
//! (preamble, frames, hello and proof CBOR, bundle header); what this side writes is dropped.
#![no_main]

use std::io::{self, Cursor, Write};
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use mule::live::transport::Duplex;
use mule::store::Store;

/// One store per fuzzing process, reused for every input.
fn store() -> &'static Mutex<Store> {
    static STORE: OnceLock<Mutex<Store>> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mule-fuzz-live-{}", std::process::id()));
        Mutex::new(Store::open(&dir).expect("open the fuzzing store"))
    })
}

struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut store = store().lock().expect("not poisoned");
    let mut stream = Duplex {
        reader: Cursor::new(data),
        writer: Sink,
    };
    let _ = mule::live::sync(&mut store, &mut stream, &mule::live::Options::default());
});
