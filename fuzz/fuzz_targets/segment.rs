//! Segment members and entry bodies on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mule::entry::{body_to_json, check_body};
use mule::segment::Segment;

fuzz_target!(|data: &[u8]| {
    if let Ok(segment) = Segment::decode(data) {
        let verified = segment.verify();
        let hashes = segment.hashes();
        if let Ok(hashes) = &hashes {
            assert_eq!(hashes.len(), segment.entries.len());
        }
        if let Ok(verified) = &verified {
            let hashes = hashes.as_ref().expect("a verified segment has hashes");
            assert_eq!(verified, hashes, "verify and hashes disagree");
            let _ = segment.to_entries(verified);
        }
        // Encoding what decoded and decoding it again gives the same segment.
        let again = Segment::decode(&segment.encode()).expect("an encoded segment decodes");
        assert_eq!(again, segment);
    }
    // An accepted body is canonical: its JSON form encodes back to the same bytes.
    if check_body(data).is_ok() {
        let json = body_to_json(data).expect("a checked body converts to JSON");
        let bytes = serde_ipld_dagcbor::to_vec(&json).expect("JSON encodes");
        assert_eq!(bytes, data, "a checked body does not re-encode to itself");
    } else {
        let _ = body_to_json(data);
    }
});
