//! The fountain: a bundle cut into RaptorQ symbols and sent as an endless stream of frames, and
//! a receiver that rebuilds it from any large enough set of distinct frames.
//!
//! The object sent is the 32-byte bundle id followed by the bundle's bytes, so the receiver
//! checks what it rebuilt against the id (BLAKE3 of the file) before anyone imports it. The
//! sender sends every source symbol first, block by block in turn (screenshots of one pass
//! suffice), then repair symbols with ever larger ids, never repeating one: every frame a
//! receiver catches, whenever it joins, is new information. RaptorQ rebuilds a block from any
//! K of its symbols with high probability, and from K + 2 almost always.

use std::collections::{BTreeMap, BTreeSet};

use raptorq::{
    Encoder, EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockDecoder,
    SourceBlockEncoder, partition,
};

use crate::frame::{ALIGNMENT, Frame, MAX_TRANSFER, OVERHEAD};

/// A bundle's id: BLAKE3 of the bundle file.
pub type BundleId = [u8; 32];

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
    /// The receiver already holds [`MAX_SESSIONS`] sessions.
    #[error(
        "the frames of session {0} start one stream more than the {MAX_SESSIONS} a reader keeps; read the captures of fewer streams at a time"
    )]
    TooManySessions(String),
}

/// Most source symbols the sessions of one receiver may announce together. The decoder keeps a
/// slot (24 bytes) for each announced symbol before any arrives, so without a bound frames of
/// many made-up sessions would make it allocate without end; one session of the largest
/// transfer (at most 64 blocks of 56,403 symbols) fits.
const MAX_RECEIVER_SYMBOLS: usize = 4_000_000;

/// Most sessions one receiver keeps. A session costs memory before its first symbol is
/// decoded (its blocks, their bookkeeping), so frames of many made-up sessions announcing one
/// symbol each could otherwise pass [`MAX_RECEIVER_SYMBOLS`] by their number; a capture holds
/// a handful of genuine streams.
pub const MAX_SESSIONS: usize = 256;

/// Makes the frames of one bundle.
pub struct Sender {
    encoder: Encoder,
    header: FrameHeader,
    /// Source packets of all blocks, interleaved.
    source: Vec<EncodingPacket>,
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
    pub fn new(bundle: &[u8], id: &BundleId, frame_len: usize, profile: u8) -> Result<Self, Error> {
        let mut object = Vec::with_capacity(32 + bundle.len());
        object.extend_from_slice(id);
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
        let source = interleave(per_block);
        let session = id[..4].try_into().expect("4 bytes");
        Ok(Self {
            header: FrameHeader {
                profile,
                session,
                oti: encoder.get_config(),
            },
            encoder,
            source,
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

    /// The `n`th repair packet, taking the blocks in turn: ESI K, K + 1, ... of each block
    /// (`repair_packets` counts from K).
    fn repair(&self, n: usize) -> EncodingPacket {
        let blocks = self.encoder.get_block_encoders();
        let index = n % blocks.len();
        let round = (n / blocks.len()) as u32;
        blocks[index]
            .repair_packets(round, 1)
            .pop()
            .expect("one repair packet was asked for")
    }
}

/// How many codes a player loops through for a bundle of `source_symbols` (K): twice K and a
/// few, so a receiver that missed up to half of a loop still completes within one.
pub fn player_codes(source_symbols: usize) -> usize {
    2 * source_symbols + 3
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
    /// A frame number already received with other contents: both copies are kept apart, and
    /// the rebuild finds which one agrees with the others.
    Conflicting,
    /// A frame of a session already rebuilt.
    Done,
}

/// Progress of one session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The session id, hex.
    pub session: String,
    /// Distinct frame numbers received.
    pub received: usize,
    /// Source symbols of the bundle: about how many distinct frames are needed in all.
    pub needed: usize,
    /// Whether the bundle is rebuilt.
    pub done: bool,
    /// Frames set aside as inconsistent: once rebuilt, the frames that disagree with the bundle;
    /// before, the copies beyond the first of frame numbers shown with different contents.
    #[serde(default)]
    pub set_aside: usize,
}

/// Most different contents kept for one frame number. A number shown with more is set aside
/// entirely (whichever copy came first), so what is kept does not depend on the order frames
/// are read in, and an adversary showing many copies cannot make the receiver store them.
pub const MAX_COPIES: usize = 4;

/// Most decodes of one block in one round of the search for a consistent set of frames.
pub const MAX_DECODES_PER_ROUND: usize = 32;

/// Most combinations of rebuilt blocks checked against the bundle id in one round.
const MAX_COMBINATIONS: usize = 16;

/// The symbols received for one source block.
struct Block {
    /// Source symbols (K) of the block.
    symbols: u32,
    /// The block's length in bytes: K times the symbol size.
    length: u64,
    /// Received contents by encoding symbol id: distinct, sorted.
    copies: BTreeMap<u32, Vec<Vec<u8>>>,
    /// Numbers shown with more than [`MAX_COPIES`] contents: set aside.
    flooded: BTreeSet<u32>,
    /// Copies held: all contents of all numbers, flooded ones excepted.
    held: usize,
    /// Copies held beyond the first of their number.
    extra: usize,
    /// Frames of flooded numbers.
    flooded_frames: usize,
    /// The block rebuilt from all copies, while no frame conflicted with another.
    decoded: Option<Vec<u8>>,
}

/// What adding a symbol to a block did.
enum Added {
    New,
    Duplicate,
    Conflicting,
}

impl Block {
    fn add(&mut self, esi: u32, symbol: Vec<u8>) -> Added {
        if self.flooded.contains(&esi) {
            self.flooded_frames += 1;
            return Added::Conflicting;
        }
        let copies = self.copies.entry(esi).or_default();
        let Err(at) = copies.binary_search(&symbol) else {
            return Added::Duplicate;
        };
        copies.insert(at, symbol);
        let count = copies.len();
        if count > MAX_COPIES {
            self.copies.remove(&esi);
            self.flooded.insert(esi);
            self.held -= count - 1;
            self.extra -= count - 2;
            self.flooded_frames += count;
            return Added::Conflicting;
        }
        self.held += 1;
        if count == 1 {
            return Added::New;
        }
        self.extra += 1;
        Added::Conflicting
    }

    /// Copies beyond the first of conflicting numbers, and frames of flooded numbers.
    fn conflicting(&self) -> usize {
        self.extra + self.flooded_frames
    }

    /// The numbers received with one content only, in order.
    fn uncontested(&self) -> Vec<(u32, &[u8])> {
        self.copies
            .iter()
            .filter(|(_, copies)| copies.len() == 1)
            .map(|(esi, copies)| (*esi, copies[0].as_slice()))
            .collect()
    }

    /// Rebuilds the block from `symbols` (RaptorQ), or `None` when they do not suffice.
    fn decode(
        &self,
        number: u8,
        oti: &ObjectTransmissionInformation,
        symbols: &[(u32, &[u8])],
    ) -> Option<Vec<u8>> {
        // A block without symbols cannot be rebuilt (frames refuse such headers).
        if self.symbols == 0 || symbols.len() < self.symbols as usize {
            return None;
        }
        let mut decoder = SourceBlockDecoder::new(number, oti, self.length);
        decoder.decode(
            symbols.iter().map(|(esi, bytes)| {
                EncodingPacket::new(PayloadId::new(number, *esi), bytes.to_vec())
            }),
        )
    }

    /// How many copies held agree with `data` as this block's contents.
    fn support(&self, number: u8, oti: &ObjectTransmissionInformation, data: &[u8]) -> usize {
        let encoder = SourceBlockEncoder::new(number, oti, data);
        let source = encoder.source_packets();
        self.copies
            .iter()
            .map(|(esi, copies)| {
                let expected = match source.get(*esi as usize) {
                    Some(packet) => packet.data().to_vec(),
                    None => encoder
                        .repair_packets(esi - self.symbols, 1)
                        .pop()
                        .map(|p| p.split().1)
                        .unwrap_or_default(),
                };
                copies.iter().filter(|c| **c == expected).count()
            })
            .sum()
    }

    /// Candidate contents of the block, most supported first: decoded from the numbers
    /// received with one content only, then from those less one slice at a time (a made-up
    /// frame among them spoils every decode that uses it). At most
    /// [`MAX_DECODES_PER_ROUND`] decodes.
    fn candidates(&self, number: u8, oti: &ObjectTransmissionInformation) -> Vec<(usize, Vec<u8>)> {
        let uncontested = self.uncontested();
        let spare = uncontested.len().saturating_sub(self.symbols as usize);
        let slices = uncontested
            .len()
            .div_ceil(MAX_DECODES_PER_ROUND - 1)
            .max(1)
            .min(spare.max(1));
        let left_out = (0..uncontested.len())
            .step_by(slices)
            .take(MAX_DECODES_PER_ROUND - 1)
            .map(Some);
        let mut found: Vec<(usize, Vec<u8>)> = Vec::new();
        for skip in std::iter::once(None).chain(left_out) {
            if skip.is_some() && spare == 0 {
                break;
            }
            let subset: Vec<(u32, &[u8])> = match skip {
                None => uncontested.clone(),
                Some(from) => uncontested
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !(from..from + slices).contains(i))
                    .map(|(_, s)| *s)
                    .collect(),
            };
            let Some(data) = self.decode(number, oti, &subset) else {
                continue;
            };
            if found.iter().any(|(_, known)| *known == data) {
                continue;
            }
            let support = self.support(number, oti, &data);
            // Every number with one content agrees, or two frames that were left out do: no
            // made-up frame spoiled this decode.
            let confirmed = match skip {
                None => support >= uncontested.len(),
                Some(_) => support >= subset.len() + 2,
            };
            found.push((support, data));
            if confirmed {
                break;
            }
        }
        found.sort_by_key(|(support, _)| std::cmp::Reverse(*support));
        found
    }
}

struct Session {
    oti: ObjectTransmissionInformation,
    blocks: Vec<Block>,
    bundle: Option<Vec<u8>>,
    /// Whether frames conflict or a rebuild failed the id check: rebuilding then searches for
    /// a consistent set of frames, in rounds.
    suspect: bool,
    /// Copies held when the next round is due.
    next_round: usize,
    /// Copies held at the last round.
    last_round: usize,
    /// Copies that disagree with the rebuilt bundle.
    set_aside: usize,
}

impl Session {
    fn new(oti: ObjectTransmissionInformation) -> Self {
        let total = source_symbols(&oti) as u32;
        let (long, short, long_blocks, short_blocks) = partition(total, oti.source_blocks());
        let sizes = std::iter::repeat_n(long, long_blocks as usize)
            .chain(std::iter::repeat_n(short, short_blocks as usize));
        let blocks = sizes
            .map(|symbols| Block {
                symbols,
                length: u64::from(symbols) * u64::from(oti.symbol_size()),
                copies: BTreeMap::new(),
                flooded: BTreeSet::new(),
                held: 0,
                extra: 0,
                flooded_frames: 0,
                decoded: None,
            })
            .collect();
        Self {
            oti,
            blocks,
            bundle: None,
            suspect: false,
            next_round: 0,
            last_round: 0,
            set_aside: 0,
        }
    }

    fn held(&self) -> usize {
        self.blocks.iter().map(|b| b.held).sum()
    }

    /// Rebuilds with the frames held when worth it: at once while no frame conflicts, in
    /// rounds as the frames held beyond K double once some do (or `now`).
    fn rebuild(&mut self, session: &[u8; 4], now: bool) -> Result<(), Error> {
        if !self.suspect {
            let Some(object) = self.decode_clean() else {
                return Ok(());
            };
            match check_object(session, object) {
                Ok(bundle) => {
                    self.bundle = Some(bundle);
                    return Ok(());
                }
                Err(_) => self.suspect = true,
            }
        }
        let held = self.held();
        if held <= self.last_round || (held < self.next_round && !now) {
            return Ok(());
        }
        let needed = source_symbols(&self.oti);
        self.last_round = held;
        self.next_round = needed + 2 * held.saturating_sub(needed).max(1);
        self.recover(session)
    }

    /// The object, once every block is rebuilt from all its copies (no frame conflicting).
    fn decode_clean(&mut self) -> Option<Vec<u8>> {
        let oti = self.oti;
        for (number, block) in self.blocks.iter_mut().enumerate() {
            if block.decoded.is_none() && block.copies.len() >= block.symbols as usize {
                block.decoded = block.decode(number as u8, &oti, &block.uncontested());
            }
        }
        let parts: Option<Vec<&[u8]>> = self.blocks.iter().map(|b| b.decoded.as_deref()).collect();
        Some(self.object(&parts?))
    }

    fn object(&self, blocks: &[&[u8]]) -> Vec<u8> {
        let mut object = blocks.concat();
        object.truncate(self.oti.transfer_length() as usize);
        object
    }

    /// One round of the search: candidates for every block, and combinations of them checked
    /// against the bundle id. Err when data was rebuilt but none matched the id.
    fn recover(&mut self, session: &[u8; 4]) -> Result<(), Error> {
        for block in &mut self.blocks {
            block.decoded = None;
        }
        let oti = self.oti;
        let candidates: Vec<Vec<(usize, Vec<u8>)>> = self
            .blocks
            .iter()
            .enumerate()
            .map(|(number, block)| block.candidates(number as u8, &oti))
            .collect();
        if candidates.iter().any(Vec::is_empty) {
            return Ok(());
        }
        for choice in combinations(&candidates).take(MAX_COMBINATIONS) {
            let parts: Vec<&[u8]> = choice
                .iter()
                .zip(&candidates)
                .map(|(i, c)| c[*i].1.as_slice())
                .collect();
            if let Ok(bundle) = check_object(session, self.object(&parts)) {
                let support: usize = choice.iter().zip(&candidates).map(|(i, c)| c[*i].0).sum();
                let flooded: usize = self.blocks.iter().map(|b| b.flooded_frames).sum();
                self.set_aside = self.held() - support + flooded;
                self.bundle = Some(bundle);
                return Ok(());
            }
        }
        Err(Error::Mismatch(hex::encode(session)))
    }
}

/// Choices of one candidate per block: the best of each, then each block's others in turn.
fn combinations(candidates: &[Vec<(usize, Vec<u8>)>]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let best = vec![0; candidates.len()];
    let others = candidates
        .iter()
        .enumerate()
        .flat_map(move |(block, list)| {
            (1..list.len()).map(move |i| {
                let mut choice = vec![0; candidates.len()];
                choice[block] = i;
                choice
            })
        });
    std::iter::once(best).chain(others)
}

/// Collects frames, by session, and rebuilds bundles.
///
/// Frames are kept by number; a number shown with other contents keeps both apart (up to
/// [`MAX_COPIES`]). While no frame conflicts, every new frame tries a rebuild from all of them.
/// Once frames conflict, or the rebuilt data does not match the bundle id (a made-up frame
/// with a valid checksum), rebuilding searches for frames that agree: decoding from the
/// numbers seen with one content, then leaving slices of them out, at most
/// [`MAX_DECODES_PER_ROUND`] decodes per block, in rounds each time the frames held beyond K
/// double, and once more at [`Receiver::finish`]. The frames that disagree with the bundle so
/// rebuilt are reported as set aside. Everything is kept in sorted order, so the outcome does
/// not depend on the order frames are read in.
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
    /// session is treated as coming from another stream and not trusted: it is refused. When
    /// the frame completes a rebuild whose data does not match the bundle id, and no
    /// consistent set of frames is found yet, [`Error::Mismatch`] says so (the frame is kept).
    pub fn accept(&mut self, frame: Frame) -> Result<Accepted, Error> {
        if !self.sessions.contains_key(&frame.session) {
            if self.sessions.len() >= MAX_SESSIONS {
                return Err(Error::TooManySessions(hex::encode(frame.session)));
            }
            let held: usize = self.sessions.values().map(|s| source_symbols(&s.oti)).sum();
            if held.saturating_add(source_symbols(&frame.oti)) > MAX_RECEIVER_SYMBOLS {
                return Err(Error::TooManySymbols(hex::encode(frame.session)));
            }
        }
        let session = self
            .sessions
            .entry(frame.session)
            .or_insert_with(|| Session::new(frame.oti));
        if session.oti != frame.oti {
            return Err(Error::Mismatch(hex::encode(frame.session)));
        }
        if session.bundle.is_some() {
            return Ok(Accepted::Done);
        }
        let number = usize::from(frame.payload_id.source_block_number());
        let block = &mut session.blocks[number];
        let added = block.add(frame.payload_id.encoding_symbol_id(), frame.symbol);
        let accepted = match added {
            Added::Duplicate => return Ok(Accepted::Duplicate),
            Added::New => Accepted::New,
            Added::Conflicting => {
                session.suspect = true;
                Accepted::Conflicting
            }
        };
        session.rebuild(&frame.session, false)?;
        Ok(accepted)
    }

    /// Gives every incomplete session a last round of rebuilding with all the frames it holds:
    /// call once every capture is read.
    pub fn finish(&mut self) {
        for (id, session) in &mut self.sessions {
            if session.bundle.is_none() {
                // A session that still does not add up stays incomplete; progress says so.
                let _ = session.rebuild(id, true);
            }
        }
    }

    /// Progress of every session seen.
    pub fn progress(&self) -> Vec<Progress> {
        self.sessions
            .iter()
            .map(|(id, s)| Progress {
                session: hex::encode(id),
                received: s.blocks.iter().map(|b| b.copies.len()).sum(),
                needed: source_symbols(&s.oti),
                done: s.bundle.is_some(),
                set_aside: match s.bundle {
                    Some(_) => s.set_aside,
                    None => s.blocks.iter().map(Block::conflicting).sum(),
                },
            })
            .collect()
    }

    /// The rebuilt bundles: (bundle id, bytes).
    pub fn bundles(&self) -> Vec<(BundleId, &[u8])> {
        self.sessions
            .values()
            .filter_map(|s| s.bundle.as_deref())
            .map(|bundle| (*blake3::hash(bundle).as_bytes(), bundle))
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
    if blake3::hash(&bundle).as_bytes()[..] != object[..] {
        return Err(mismatch());
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bundle(len: usize, seed: u8) -> (Vec<u8>, BundleId) {
        let bytes: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect();
        let id = *blake3::hash(&bytes).as_bytes();
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
    fn a_receiver_keeps_a_bounded_number_of_sessions() {
        let mut receiver = Receiver::default();
        for n in 0..=MAX_SESSIONS {
            let (bytes, id) = bundle(2_000 + n, 1);
            let frame = Frame::parse(&Sender::new(&bytes, &id, 520, 1).unwrap().frame(0)).unwrap();
            let accepted = receiver.accept(frame);
            if n < MAX_SESSIONS {
                assert_eq!(accepted, Ok(Accepted::New));
            } else {
                assert!(
                    matches!(accepted, Err(Error::TooManySessions(_))),
                    "{accepted:?}"
                );
            }
        }
        assert_eq!(receiver.progress().len(), MAX_SESSIONS);
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

    #[test]
    fn repair_frames_are_numbered_from_k() {
        let (bytes, id) = bundle(20_000, 4);
        let sender = Sender::new(&bytes, &id, 1273, 2).unwrap();
        let k = sender.source_symbols();
        let esi = |i| {
            let frame = Frame::parse(&sender.frame(i)).unwrap();
            frame.payload_id.encoding_symbol_id() as usize
        };
        assert_eq!(
            (0..k + 3).map(esi).collect::<Vec<_>>(),
            (0..k + 3).collect::<Vec<_>>()
        );
    }

    /// mule before 0.1 (2026-12) numbered repair frames from 2K; such captures still read.
    #[test]
    fn repair_frames_numbered_from_2k_still_rebuild_the_bundle() {
        let (bytes, id) = bundle(20_000, 5);
        let sender = Sender::new(&bytes, &id, 1273, 2).unwrap();
        let k = sender.source_symbols() as u32;
        let block = &sender.encoder.get_block_encoders()[0];
        let mut receiver = Receiver::default();
        for packet in block.repair_packets(k, k + 2) {
            let (payload_id, symbol) = packet.split();
            assert!(payload_id.encoding_symbol_id() >= 2 * k);
            let frame = Frame {
                profile: 2,
                session: sender.session(),
                oti: sender.header.oti,
                payload_id,
                symbol,
            };
            receiver.accept(frame).unwrap();
        }
        assert_eq!(receiver.bundles(), [(id, &bytes[..])]);
    }

    /// Frame `index` of `sender` with its symbol changed and a valid checksum.
    fn forged(sender: &Sender, index: usize, salt: u8) -> Frame {
        let mut frame = Frame::parse(&sender.frame(index)).unwrap();
        for (i, byte) in frame.symbol.iter_mut().enumerate() {
            *byte ^= (i as u8).wrapping_add(salt) | 1;
        }
        frame
    }

    fn rebuild_from(frames: &[Frame]) -> Receiver {
        let mut receiver = Receiver::default();
        for frame in frames {
            let _ = receiver.accept(frame.clone());
        }
        receiver.finish();
        receiver
    }

    #[test]
    fn forged_copies_of_genuine_numbers_are_set_aside() {
        let (bytes, id) = bundle(50_000, 6);
        let sender = Sender::new(&bytes, &id, 1273, 2).unwrap();
        let k = sender.source_symbols();
        let genuine = |i| Frame::parse(&sender.frame(i)).unwrap();
        // The forgery of frame 0 comes first; that of frame 3 after the genuine one.
        let mut frames = vec![forged(&sender, 0, 1)];
        frames.extend((0..4).map(genuine));
        frames.push(forged(&sender, 3, 2));
        frames.extend((4..k + 2).map(genuine));
        let receiver = rebuild_from(&frames);
        assert_eq!(receiver.bundles(), [(id, &bytes[..])]);
        assert_eq!(receiver.progress()[0].set_aside, 2);
    }

    #[test]
    fn the_order_frames_are_read_in_does_not_change_the_outcome() {
        let (bytes, id) = bundle(50_000, 7);
        let sender = Sender::new(&bytes, &id, 1273, 2).unwrap();
        let k = sender.source_symbols();
        let mut frames: Vec<Frame> = (0..k + 5)
            .map(|i| Frame::parse(&sender.frame(i)).unwrap())
            .collect();
        frames.push(forged(&sender, 0, 3));
        frames.push(forged(&sender, 9, 4));
        // A made-up frame whose number the stream has not shown: nothing contests it.
        frames.push(forged(&sender, k + 40, 5));
        let n = frames.len();
        for order in 0..6 {
            let mut shown = frames.clone();
            match order {
                0 => shown.rotate_right(3),
                1 => shown.reverse(),
                _ => {
                    // A fixed shuffle: each frame keyed by a multiplicative hash of its place.
                    let key = |i: usize| (i as u64 * 2_654_435_761 + order as u64) % 1_000_003;
                    let mut keyed: Vec<(u64, Frame)> = shown
                        .into_iter()
                        .enumerate()
                        .map(|(i, f)| (key(i), f))
                        .collect();
                    keyed.sort_by_key(|(k, _)| *k);
                    shown = keyed.into_iter().map(|(_, f)| f).collect();
                }
            }
            assert_eq!(shown.len(), n);
            let receiver = rebuild_from(&shown);
            assert!(
                receiver.bundles() == [(id, &bytes[..])],
                "order {order}: {receiver:?}"
            );
            // Frames read after the rebuild are not examined: only those before are counted.
            let set_aside = receiver.progress()[0].set_aside;
            assert!(set_aside <= 3, "order {order}: {set_aside}");
            if order == 0 {
                assert_eq!(set_aside, 3, "the forgeries came first");
            }
        }
    }

    #[test]
    fn a_number_shown_with_many_contents_is_set_aside_whole() {
        let (bytes, id) = bundle(20_000, 8);
        let sender = Sender::new(&bytes, &id, 1273, 2).unwrap();
        let k = sender.source_symbols();
        let mut frames: Vec<Frame> = (0..100).map(|salt| forged(&sender, 2, salt)).collect();
        frames.extend((0..k + 3).map(|i| Frame::parse(&sender.frame(i)).unwrap()));
        let mut receiver = Receiver::default();
        for frame in frames.iter().take(100) {
            let _ = receiver.accept(frame.clone());
        }
        // Only MAX_COPIES + 1 were ever held; the number is now ignored.
        assert_eq!(receiver.progress()[0].received, 0);
        let receiver = rebuild_from(&frames);
        assert_eq!(receiver.bundles(), [(id, &bytes[..])]);
        assert_eq!(receiver.progress()[0].set_aside, 101);
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
