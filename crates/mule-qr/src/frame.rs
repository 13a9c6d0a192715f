//! The bytes of one QR frame: a 24-byte header, one RaptorQ encoding symbol, a CRC32C.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | magic `6d d1` |
//! | 2 | 1 | format version (high 4 bits, `1`) and flags (low 4 bits, `0`) |
//! | 3 | 1 | profile id (see [`crate::Profile`]; `0` for custom settings) |
//! | 4 | 4 | session id: the first 4 bytes of the bundle id |
//! | 8 | 12 | RaptorQ object transmission information (RFC 6330 §3.3.2 and §3.3.3) |
//! | 20 | 4 | RaptorQ payload id: source block number (8 bits), encoding symbol id (24 bits) |
//! | 24 | T | the encoding symbol; T is the symbol size the OTI names |
//! | 24 + T | 4 | CRC32C (Castagnoli) of bytes `0 .. 24 + T`, big-endian |
//!
//! All integers are big-endian. Every frame carries the whole transmission information, so a
//! receiver can start from any frame.

use raptorq::{EncodingPacket, ObjectTransmissionInformation, PayloadId};

/// The first two bytes of every frame.
pub const MAGIC: [u8; 2] = [0x6d, 0xd1];
/// The frame format this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Bytes before the symbol.
pub const HEADER_LEN: usize = 24;
/// Bytes of header and checksum around the symbol.
pub const OVERHEAD: usize = HEADER_LEN + 4;
/// The symbol alignment frames use (RaptorQ's `Al`).
pub const ALIGNMENT: u8 = 8;
/// Largest object a QR stream carries: the 32-byte bundle id and a bundle of up to 256 MiB.
pub const MAX_TRANSFER: u64 = 32 + (256 << 20);
/// Most source blocks, and sub-blocks per block, a frame may announce.
const MAX_BLOCKS: u8 = 64;
const MAX_SUB_BLOCKS: u16 = 16;
/// RFC 6330's largest number of source symbols in one block.
const MAX_SYMBOLS_PER_BLOCK: u64 = 56_403;

/// Why bytes read from a QR code are not a frame of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not a mule frame (another QR code in the picture).
    #[error("not a mule frame")]
    Foreign,
    /// A frame of a newer format.
    #[error("a QR frame of format {0}, newer than this mule reads (1); upgrade mule")]
    NewerFormat(u8),
    /// The checksum does not match: the code was misread or altered.
    #[error("the frame's checksum does not match")]
    Checksum,
    /// The header names impossible parameters.
    #[error("the frame's header is invalid: {0}")]
    Header(&'static str),
}

/// One parsed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The profile the sender used.
    pub profile: u8,
    /// The first 4 bytes of the bundle id.
    pub session: [u8; 4],
    /// How the object was cut into symbols.
    pub oti: ObjectTransmissionInformation,
    /// Which symbol this is.
    pub payload_id: PayloadId,
    /// The symbol.
    pub symbol: Vec<u8>,
}

impl Frame {
    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(OVERHEAD + self.symbol.len());
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION << 4);
        out.push(self.profile);
        out.extend_from_slice(&self.session);
        out.extend_from_slice(&self.oti.serialize());
        out.extend_from_slice(&self.payload_id.serialize());
        out.extend_from_slice(&self.symbol);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Parses and checks a frame: magic, version, checksum, and transmission parameters that
    /// the RaptorQ decoder can take without failing.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() < OVERHEAD + usize::from(ALIGNMENT) || bytes[..2] != MAGIC {
            return Err(Error::Foreign);
        }
        let version = bytes[2] >> 4;
        if version > FORMAT_VERSION {
            return Err(Error::NewerFormat(version));
        }
        if version != FORMAT_VERSION {
            return Err(Error::Foreign);
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32c::crc32c(body).to_be_bytes() != crc {
            return Err(Error::Checksum);
        }
        let field = |range: std::ops::Range<usize>| &body[range];
        let oti_bytes: [u8; 12] = field(8..20).try_into().map_err(|_| Error::Foreign)?;
        let oti = ObjectTransmissionInformation::deserialize(&oti_bytes);
        let id_bytes: [u8; 4] = field(20..24).try_into().map_err(|_| Error::Foreign)?;
        let payload_id = PayloadId::deserialize(&id_bytes);
        let symbol = body[HEADER_LEN..].to_vec();
        check_parameters(&oti, &payload_id, symbol.len())?;
        Ok(Self {
            profile: bytes[3],
            session: field(4..8).try_into().map_err(|_| Error::Foreign)?,
            oti,
            payload_id,
            symbol,
        })
    }

    /// The symbol as a RaptorQ packet.
    pub fn packet(&self) -> EncodingPacket {
        EncodingPacket::new(self.payload_id.clone(), self.symbol.clone())
    }
}

/// Rejects parameters that would make the RaptorQ decoder fail or allocate without bound.
fn check_parameters(
    oti: &ObjectTransmissionInformation,
    payload_id: &PayloadId,
    symbol_len: usize,
) -> Result<(), Error> {
    let size = u64::from(oti.symbol_size());
    if oti.symbol_alignment() != ALIGNMENT || size == 0 || size % u64::from(ALIGNMENT) != 0 {
        return Err(Error::Header("symbol size and alignment"));
    }
    if symbol_len as u64 != size {
        return Err(Error::Header(
            "the symbol's length differs from the symbol size",
        ));
    }
    if oti.transfer_length() == 0 || oti.transfer_length() > MAX_TRANSFER {
        return Err(Error::Header("transfer length"));
    }
    let blocks = oti.source_blocks();
    if blocks == 0 || blocks > MAX_BLOCKS || payload_id.source_block_number() >= blocks {
        return Err(Error::Header("source blocks"));
    }
    let sub_blocks = oti.sub_blocks();
    if sub_blocks == 0
        || sub_blocks > MAX_SUB_BLOCKS
        || size / u64::from(sub_blocks) < u64::from(ALIGNMENT)
    {
        return Err(Error::Header("sub-blocks"));
    }
    let symbols = oti.transfer_length().div_ceil(size);
    if symbols.div_ceil(u64::from(blocks)) > MAX_SYMBOLS_PER_BLOCK {
        return Err(Error::Header("too many symbols per block"));
    }
    if symbols < u64::from(blocks) {
        return Err(Error::Header("more source blocks than symbols"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            profile: 2,
            session: [1, 2, 3, 4],
            oti: ObjectTransmissionInformation::new(5000, 1240, 1, 1, ALIGNMENT),
            payload_id: PayloadId::new(0, 3),
            symbol: (0..1240).map(|i| (i * 7) as u8).collect(),
        }
    }

    #[test]
    fn frames_round_trip_and_carry_28_bytes_of_overhead() {
        let bytes = frame().encode();
        assert_eq!(bytes.len(), 1240 + OVERHEAD);
        assert_eq!(bytes[..4], [0x6d, 0xd1, 0x10, 2]);
        assert_eq!(Frame::parse(&bytes).unwrap(), frame());
    }

    #[test]
    fn damaged_foreign_and_newer_frames_are_refused() {
        let bytes = frame().encode();
        for at in [4, 10, 30, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 1;
            assert_eq!(Frame::parse(&bad), Err(Error::Checksum), "byte {at}");
        }
        assert_eq!(Frame::parse(b"https://example.org/"), Err(Error::Foreign));
        assert_eq!(Frame::parse(&bytes[..20]), Err(Error::Foreign));
        let mut newer = bytes.clone();
        newer[2] = 2 << 4;
        assert_eq!(Frame::parse(&newer), Err(Error::NewerFormat(2)));
    }

    #[test]
    fn impossible_parameters_are_refused_even_with_a_good_checksum() {
        let cases = [
            ObjectTransmissionInformation::deserialize(&[0, 0, 0, 19, 136, 0, 4, 216, 0, 0, 1, 8]),
            ObjectTransmissionInformation::deserialize(&[0, 0, 0, 19, 136, 0, 4, 216, 1, 0, 0, 8]),
            ObjectTransmissionInformation::deserialize(&[
                255, 0, 0, 19, 136, 0, 4, 216, 1, 0, 1, 8,
            ]),
            ObjectTransmissionInformation::deserialize(&[0, 0, 0, 19, 136, 0, 4, 216, 1, 0, 1, 3]),
            // 5,000 bytes in 1,240-byte symbols are 5 symbols: not enough for 8 blocks.
            ObjectTransmissionInformation::new(5000, 1240, 8, 1, ALIGNMENT),
        ];
        for oti in cases {
            let bad = Frame { oti, ..frame() };
            assert!(
                matches!(Frame::parse(&bad.encode()), Err(Error::Header(_))),
                "{oti:?}"
            );
        }
        let outside = Frame {
            payload_id: PayloadId::new(1, 0),
            ..frame()
        };
        assert!(matches!(
            Frame::parse(&outside.encode()),
            Err(Error::Header(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let _ = Frame::parse(&bytes);
        }
    }
}
