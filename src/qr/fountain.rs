//! The fountain: a bundle cut into RaptorQ symbols and sent as an endless stream of frames, and
//! a receiver that rebuilds it from any large enough set of distinct frames.
//!
//! The object sent is the 32-byte bundle id followed by the bundle's bytes, so the receiver
//! checks what it rebuilt against the id (BLAKE3 of the file) before anyone imports it. The
//! sender sends every source symbol first, block by block in turn (screenshots of one pass
//! suffice), then repair symbols with ever larger ids, never repeating one: every frame a
//! receiver catches, whenever it joins, is new information. RaptorQ rebuilds a block from any
//! K of its symbols with high probability, and from K + 2 almost always.

use std::collections::{BTreeMap, HashSet};

use raptorq::{
    Decoder, Encoder, EncodingPacket, ObjectTransmissionInformation, SourceBlockEncoder,
};

use super::frame::{ALIGNMENT, Frame, MAX_TRANSFER, OVERHEAD};
use crate::id::Hash;

/// Why a bundle cannot be sent, or what was received does not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bundle is larger than a QR stream carries.
    #[error("the bundle is {0} bytes; a QR stream carries at most 256 MiB")]
    TooLarge(u64),
    /// The frames are too small to hold a symbol.
    #[error("a {0}-byte frame is too small for a symbol")]
    FrameTooSmall(usize),
    /// The rebuilt object is not the bundle its id names.
    #[error(
        "the frames of session {0} rebuild data that does not match the bundle id; they may come from two different bundles"
    )]
    Mismatch(String),
    /// A new session would make the receiver hold more symbols than it allows in all.
    #[error(
        "the frames of session {0} announce more symbols than the receiver holds besides the sessions it has; they may come from another stream"
    )]
    TooManySymbols(String),
}

/// Most source symbols the sessions of one receiver may announce together. The decoder keeps a
/// slot (24 bytes) for each announced symbol before any arrives, so without a bound frames of
/// many made-up sessions would make it allocate without end; one session of the largest
/// transfer (at most 64 blocks of 56,403 symbols) fits.
const MAX_RECEIVER_SYMBOLS: usize = 4_000_000;

/// Makes the frames of one bundle.
pub struct Sender {
    encoder: Encoder,
    header: FrameHeader,
    /// Source packets of all blocks, interleaved.
    source: Vec<EncodingPacket>,
    /// Source symbols per block: where each block's repair symbol ids start.
    block_symbols: Vec<u32>,
}

/// What every frame of a session shares.
#[derive(Debug, Clone, Copy)]
struct FrameHeader {
    profile: u8,
    session: [u8; 4],
    oti: ObjectTransmissionInformation,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("session", &hex::encode(self.header.session))
            .field("symbols", &self.source.len())
            .finish()
    }
}

impl Sender {
    /// Prepares to send `bundle` (whose id is `id`) in frames of `frame_len` bytes.
    pub fn new(bundle: &[u8], id: &Hash, frame_len: usize, profile: u8) -> Result<Self, Error> {
        let mut object = Vec::with_capacity(32 + bundle.len());
        object.extend_from_slice(id.as_bytes());
        object.extend_from_slice(bundle);
        if object.len() as u64 > MAX_TRANSFER {
            return Err(Error::TooLarge(bundle.len() as u64));
        }
        let symbol_size =
            frame_len.saturating_sub(OVERHEAD) / usize::from(ALIGNMENT) * usize::from(ALIGNMENT);
        let symbol_size = u16::try_from(symbol_size)
            .ok()
            .filter(|s| *s >= 8 * u16::from(ALIGNMENT))
            .ok_or(Error::FrameTooSmall(frame_len))?;
        let oti = ObjectTransmissionInformation::with_defaults(object.len() as u64, symbol_size);
        let encoder = Encoder::new(&object, oti);
        let per_block: Vec<Vec<EncodingPacket>> = encoder
            .get_block_encoders()
            .iter()
            .map(SourceBlockEncoder::source_packets)
            .collect();
        let block_symbols = per_block.iter().map(|b| b.len() as u32).collect();
        let source = interleave(per_block);
        let session = id.as_bytes()[..4].try_into().expect("4 bytes");
        Ok(Self {
            header: FrameHeader {
                profile,
                session,
                oti: encoder.get_config(),
            },
            encoder,
            source,
            block_symbols,
        })
    }

    /// How many source symbols the bundle makes: the least number of frames a receiver needs.
    pub fn source_symbols(&self) -> usize {
        self.source.len()
    }

    /// The session id frames carry.
    pub fn session(&self) -> [u8; 4] {
        self.header.session
    }

    /// The `index`th frame of the stream: source symbols first, then fresh repair symbols.
    pub fn frame(&self, index: usize) -> Vec<u8> {
        let packet = match self.source.get(index) {
            Some(packet) => packet.clone(),
            None => self.repair(index - self.source.len()),
        };
        let (payload_id, symbol) = packet.split();
        Frame {
            profile: self.header.profile,
            session: self.header.session,
            oti: self.header.oti,
            payload_id,
            symbol,
        }
        .encode()
    }

    /// The `n`th repair packet, taking the blocks in turn.
    fn repair(&self, n: usize) -> EncodingPacket {
        let blocks = self.encoder.get_block_encoders();
        let index = n % blocks.len();
        let round = (n / blocks.len()) as u32;
        blocks[index]
            .repair_packets(self.block_symbols[index] + round, 1)
            .pop()
            .expect("one repair packet was asked for")
    }
}

/// `[[a1, a2], [b1]]` -> `[a1, b1, a2]`.
fn interleave(lists: Vec<Vec<EncodingPacket>>) -> Vec<EncodingPacket> {
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    let mut iters: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    for _ in 0..longest {
        out.extend(iters.iter_mut().filter_map(Iterator::next));
    }
    out
}

/// What a frame added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// A symbol not seen before.
    New,
    /// A symbol already received (the same frame seen twice).
    Duplicate,
    /// A frame of a session already rebuilt.
    Done,
}

/// Progress of one session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The session id, hex.
    pub session: String,
    /// Distinct symbols received.
    pub received: usize,
    /// Source symbols of the bundle: about how many distinct frames are needed in all.
    pub needed: usize,
    /// Whether the bundle is rebuilt.
    pub done: bool,
}

struct Session {
    oti: ObjectTransmissionInformation,
    decoder: Decoder,
    seen: HashSet<(u8, u32)>,
    bundle: Option<Vec<u8>>,
}

/// Collects frames, by session, and rebuilds bundles.
#[derive(Default)]
pub struct Receiver {
    sessions: BTreeMap<[u8; 4], Session>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("sessions", &self.progress())
            .finish()
    }
}

impl Receiver {
    /// Takes in a parsed frame. A frame whose parameters differ from the first frame of its
    /// session is treated as coming from another stream and not trusted: it is refused.
    pub fn accept(&mut self, frame: Frame) -> Result<Accepted, Error> {
        if !self.sessions.contains_key(&frame.session) {
            let held: usize = self.sessions.values().map(|s| source_symbols(&s.oti)).sum();
            if held.saturating_add(source_symbols(&frame.oti)) > MAX_RECEIVER_SYMBOLS {
                return Err(Error::TooManySymbols(hex::encode(frame.session)));
            }
        }
        let session = self
            .sessions
            .entry(frame.session)
            .or_insert_with(|| Session {
                oti: frame.oti,
                decoder: Decoder::new(frame.oti),
                seen: HashSet::new(),
                bundle: None,
            });
        if session.oti != frame.oti {
            return Err(Error::Mismatch(hex::encode(frame.session)));
        }
        if session.bundle.is_some() {
            return Ok(Accepted::Done);
        }
        let key = (
            frame.payload_id.source_block_number(),
            frame.payload_id.encoding_symbol_id(),
        );
        if !session.seen.insert(key) {
            return Ok(Accepted::Duplicate);
        }
        if let Some(object) = session.decoder.decode(frame.packet()) {
            session.bundle = Some(check_object(&frame.session, object)?);
        }
        Ok(Accepted::New)
    }

    /// Progress of every session seen.
    pub fn progress(&self) -> Vec<Progress> {
        self.sessions
            .iter()
            .map(|(id, s)| Progress {
                session: hex::encode(id),
                received: s.seen.len(),
                needed: source_symbols(&s.oti),
                done: s.bundle.is_some(),
            })
            .collect()
    }

    /// The rebuilt bundles: (bundle id, bytes).
    pub fn bundles(&self) -> Vec<(Hash, &[u8])> {
        self.sessions
            .values()
            .filter_map(|s| s.bundle.as_deref())
            .map(|bundle| (Hash::of(bundle), bundle))
            .collect()
    }
}

/// Source symbols of an object: the sum of each block's K.
fn source_symbols(oti: &ObjectTransmissionInformation) -> usize {
    oti.transfer_length().div_ceil(u64::from(oti.symbol_size())) as usize
}

/// Checks a rebuilt object (bundle id, then bundle) and returns the bundle.
fn check_object(session: &[u8; 4], mut object: Vec<u8>) -> Result<Vec<u8>, Error> {
    let mismatch = || Error::Mismatch(hex::encode(session));
    if object.len() < 32 || &object[..4] != session {
        return Err(mismatch());
    }
    let bundle = object.split_off(32);
    if Hash::of(&bundle).as_bytes()[..] != object[..] {
        return Err(mismatch());
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bundle(len: usize, seed: u8) -> (Vec<u8>, Hash) {
        let bytes: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect();
        let id = Hash::of(&bytes);
        (bytes, id)
    }

    #[test]
    fn one_pass_of_source_frames_rebuilds_the_bundle() {
        let (bytes, id) = bundle(50_000, 1);
        let sender = Sender::new(&bytes, &id, 1273, 2).unwrap();
        assert_eq!(sender.source_symbols(), (50_032usize).div_ceil(1240));
        let mut receiver = Receiver::default();
        for i in 0..sender.source_symbols() {
            let frame = Frame::parse(&sender.frame(i)).unwrap();
            assert_eq!(receiver.accept(frame).unwrap(), Accepted::New);
        }
        assert_eq!(receiver.bundles(), [(id, &bytes[..])]);
        let again = Frame::parse(&sender.frame(0)).unwrap();
        assert_eq!(receiver.accept(again).unwrap(), Accepted::Done);
    }

    #[test]
    fn frames_of_another_bundle_with_the_same_session_are_refused() {
        let (bytes, id) = bundle(5_000, 1);
        let sender = Sender::new(&bytes, &id, 1273, 2).unwrap();
        let (other, _) = bundle(9_000, 2);
        let impostor = Sender::new(&other, &id, 1273, 2).unwrap();
        let mut receiver = Receiver::default();
        receiver
            .accept(Frame::parse(&sender.frame(0)).unwrap())
            .unwrap();
        let foreign = Frame::parse(&impostor.frame(1)).unwrap();
        assert!(matches!(receiver.accept(foreign), Err(Error::Mismatch(_))));
        // Same size, other content: the rebuild fails the id check.
        let (twin, _) = bundle(5_000, 3);
        let liar = Sender::new(&twin, &id, 1273, 2).unwrap();
        let mut receiver = Receiver::default();
        let results: Vec<_> = (0..liar.source_symbols())
            .map(|i| receiver.accept(Frame::parse(&liar.frame(i)).unwrap()))
            .collect();
        assert!(matches!(results.last(), Some(Err(Error::Mismatch(_)))));
        assert!(receiver.bundles().is_empty());
    }

    #[test]
    fn made_up_sessions_cannot_make_the_receiver_allocate_without_end() {
        // Each frame announces 64 blocks of 56,403 symbols: the most a frame may.
        let oti = ObjectTransmissionInformation::new(8 * 56_403 * 64, 8, 64, 1, ALIGNMENT);
        let frame = |session: u32| Frame {
            profile: 0,
            session: session.to_be_bytes(),
            oti,
            payload_id: raptorq::PayloadId::new(0, 0),
            symbol: vec![0; 8],
        };
        let mut receiver = Receiver::default();
        assert_eq!(receiver.accept(frame(1)), Ok(Accepted::New));
        assert_eq!(
            receiver.accept(frame(2)),
            Err(Error::TooManySymbols("00000002".into()))
        );
        assert_eq!(receiver.progress().len(), 1);
        // More frames of the session it holds are still taken.
        let mut more = frame(1);
        more.payload_id = raptorq::PayloadId::new(0, 1);
        assert_eq!(receiver.accept(more), Ok(Accepted::New));
    }

    #[test]
    fn tiny_frames_and_huge_bundles_are_refused() {
        let (bytes, id) = bundle(100, 1);
        assert_eq!(
            Sender::new(&bytes, &id, 60, 0).err(),
            Some(Error::FrameTooSmall(60))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever is lost, in whatever order, with duplicates, joining anywhere in the stream:
        /// at most K + 2 distinct frames rebuild the bundle.
        #[test]
        fn at_most_k_plus_2_distinct_frames_are_needed(
            len in 1usize..40_000,
            loss in 0u32..60,
            skip in 0usize..80,
            seed in any::<u64>(),
        ) {
            let (bytes, id) = bundle(len, seed as u8);
            let sender = Sender::new(&bytes, &id, 520, 1).unwrap();
            let k = sender.source_symbols();
            let mut random = seed | 1;
            let mut next = move || { random ^= random << 13; random ^= random >> 7; random ^= random << 17; random };
            let mut receiver = Receiver::default();
            let mut distinct = 0;
            let mut index = skip;
            let mut window = Vec::new();
            while receiver.bundles().is_empty() {
                prop_assert!(index < skip + 20 * k + 100, "no rebuild after {index} frames");
                if next() % 100 >= u64::from(loss) {
                    window.push(sender.frame(index));
                }
                index += 1;
                // Deliver out of order, and some twice.
                if window.len() >= 4 || next() % 3 == 0 {
                    let at = (next() as usize) % window.len().max(1);
                    if let Some(bytes) = (!window.is_empty()).then(|| window.swap_remove(at)) {
                        let frame = Frame::parse(&bytes).unwrap();
                        if receiver.accept(frame.clone()).unwrap() == Accepted::New {
                            distinct += 1;
                        }
                        if next() % 4 == 0 {
                            prop_assert_ne!(receiver.accept(frame).unwrap(), Accepted::New);
                        }
                    }
                }
            }
            prop_assert!(distinct <= k + 2, "{distinct} distinct frames for K = {k}");
            prop_assert_eq!(receiver.bundles()[0].1, &bytes[..]);
        }
    }
}
