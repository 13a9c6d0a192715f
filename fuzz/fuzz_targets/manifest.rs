//! A bundle's manifest member (DAG-CBOR) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mule::bundle::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = serde_ipld_dagcbor::from_slice::<Manifest>(data) {
        // What decodes must encode again, and decode to the same manifest.
        let bytes = serde_ipld_dagcbor::to_vec(&manifest).expect("a manifest encodes");
        let again: Manifest = serde_ipld_dagcbor::from_slice(&bytes).expect("re-decodes");
        assert_eq!(again, manifest);
        for range in &manifest.segments {
            let _ = (range.len(), range.is_empty(), range.member_name());
        }
    }
});
