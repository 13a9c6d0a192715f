//! This device's own entries: drafts signed, chained and cut into segments in one transaction.

use rusqlite::TransactionBehavior;

use crate::entry::EntryRef;
use crate::id::Hash;
use crate::keys::DeviceKey;
use crate::segment::{Segment, SegmentEntry};

use super::import::{Verified, attach, head};
use super::{
    Draft, Error, Fault, SEGMENT_MAX_ENTRIES, SEGMENT_TARGET_BYTES, SIGN_EVERY, Store, author_row,
};

/// Where the drafts of one append come from, one at a time, so that a batch of any size is
/// written holding one segment in memory, not the batch.
pub trait Drafts {
    /// What reading a draft can fail with; it carries the store's own errors too.
    type Error: From<Error>;

    /// The next draft, or `None` when the batch is complete. `previous` is the hash of the
    /// draft returned before (`None` on the first call), so a draft may link an earlier one of
    /// the same batch.
    fn next_draft(&mut self, previous: Option<Hash>) -> Result<Option<Draft>, Self::Error>;

    /// A segment was written: `_appended` entries of the batch are in the store's transaction
    /// so far. Called once per segment (up to [`SEGMENT_MAX_ENTRIES`] entries), so a source
    /// may tell a listener here at no measurable cost; does nothing unless a source says.
    fn segment_written(&mut self, _appended: u64) {}
}

/// What one append wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Entries appended.
    pub entries: u64,
    /// The seq of the first of them (one past the old frontier when none was appended).
    pub first_seq: u64,
    /// The hash of the last of them.
    pub last: Option<Hash>,
}

impl Appended {
    /// The seq of the last entry appended.
    pub fn last_seq(&self) -> u64 {
        (self.first_seq + self.entries).saturating_sub(1)
    }
}

impl Store {
    /// Appends entries by this device in one transaction and returns their hashes.
    ///
    /// Signing rule (bundle-format.md, "Signatures"): the last entry of the batch is signed, and
    /// so is every entry whose seq is a multiple of [`SIGN_EVERY`] or that closes
    /// [`SEGMENT_TARGET_BYTES`] of unsigned entries, so a run can be cut into bounded segments.
    pub fn append(&mut self, drafts: Vec<Draft>) -> Result<Vec<Hash>, Error> {
        let mut batch = Batch {
            drafts: drafts.into_iter(),
            hashes: Vec::new(),
        };
        self.append_from(&mut batch)?;
        Ok(batch.hashes)
    }

    /// Appends the drafts `drafts` yields, in one transaction: each segment is written as soon
    /// as it is complete, so memory holds one segment whatever the batch's size. A failure of
    /// `drafts` (a bad line of input) rolls everything back.
    pub fn append_from<D: Drafts>(&mut self, drafts: &mut D) -> Result<Appended, D::Error> {
        self.check_home()?;
        let path = self.db_path.clone();
        let fail = |fault: Fault| fault.at(&path, "appending entries");
        // The key is read while the transaction holds the connection: borrow them apart.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| fail(source.into()))?;
        let row = author_row(&tx, &self.key.author()).map_err(fail)?;
        let (frontier, head) = head(&tx, row).map_err(fail)?;
        let mut chain = Chain::new(&self.key, frontier, head);
        let mut next = drafts.next_draft(None)?;
        while let Some(mut draft) = next.take() {
            let hash = chain.hash(&mut draft)?;
            next = drafts.next_draft(Some(hash))?;
            if let Some(segment) = chain.push(draft, hash, next.is_none()) {
                attach(&tx, row, segment).map_err(fail)?;
                drafts.segment_written(chain.appended);
                crate::interrupt::check().map_err(Error::from)?;
            }
        }
        crate::fault::stop_point(crate::fault::Point::AppendCommit);
        crate::interrupt::check().map_err(Error::from)?;
        tx.commit().map_err(|source| fail(source.into()))?;
        Ok(chain.appended(frontier))
    }
}

/// The drafts of [`Store::append`], with the hashes of those appended.
struct Batch {
    drafts: std::vec::IntoIter<Draft>,
    hashes: Vec<Hash>,
}

impl Drafts for Batch {
    type Error = Error;

    fn next_draft(&mut self, previous: Option<Hash>) -> Result<Option<Draft>, Error> {
        self.hashes.extend(previous);
        Ok(self.drafts.next())
    }
}

/// This device's chain as an append extends it: drafts hashed at the next seq, gathered into
/// signed segments of bounded size.
struct Chain<'k> {
    key: &'k DeviceKey,
    author: crate::id::AuthorId,
    /// The seq the next draft takes.
    seq: u64,
    prev: Option<Hash>,
    current: Segment,
    current_hashes: Vec<Hash>,
    current_bytes: usize,
    unsigned_bytes: usize,
    /// The encoding of the draft hashed last, whose length counts toward the segment's size.
    buf: Vec<u8>,
    appended: u64,
    last: Option<Hash>,
}

impl<'k> Chain<'k> {
    fn new(key: &'k DeviceKey, frontier: u64, head: Option<Hash>) -> Self {
        let author = key.author();
        Chain {
            key,
            author,
            seq: frontier + 1,
            prev: head,
            current: Segment {
                author,
                first: frontier + 1,
                prev: head,
                entries: Vec::new(),
            },
            current_hashes: Vec::new(),
            current_bytes: 0,
            unsigned_bytes: 0,
            buf: Vec::with_capacity(256),
            appended: 0,
            last: None,
        }
    }

    /// The hash `draft` takes as the next entry (its links sorted and deduplicated first).
    fn hash(&mut self, draft: &mut Draft) -> Result<Hash, Error> {
        draft.links.sort_unstable();
        draft.links.dedup();
        let fields = EntryRef {
            author: &self.author,
            seq: self.seq,
            prev: self.prev.as_ref(),
            links: &draft.links,
            timestamp: draft.timestamp.min(i64::MAX as u64),
            kind: &draft.kind,
            body: &draft.body,
        };
        let buf = &mut self.buf;
        fields
            .check_fields()
            .and_then(|()| fields.hash_with(buf))
            .map_err(|source| Error::Entry {
                index: self.appended as usize + 1,
                source,
            })
    }

    /// Adds the draft just hashed; returns the segment it completes, if it does.
    fn push(&mut self, draft: Draft, hash: Hash, is_last: bool) -> Option<Verified> {
        let seq = self.seq;
        self.unsigned_bytes += self.buf.len();
        self.current_bytes += self.buf.len();
        let sign = is_last
            || seq.is_multiple_of(SIGN_EVERY)
            || self.unsigned_bytes >= SEGMENT_TARGET_BYTES;
        if sign {
            self.unsigned_bytes = 0;
        }
        self.current.entries.push(SegmentEntry {
            timestamp: draft.timestamp.min(i64::MAX as u64),
            kind: draft.kind,
            links: draft.links,
            body: draft.body,
            signature: sign.then(|| self.key.sign(&hash)),
        });
        self.current_hashes.push(hash);
        self.prev = Some(hash);
        self.seq += 1;
        self.appended += 1;
        self.last = Some(hash);
        let full = self.current.entries.len() >= SEGMENT_MAX_ENTRIES
            || self.current_bytes >= SEGMENT_TARGET_BYTES;
        if !(sign && (full || is_last)) {
            return None;
        }
        let next = Segment {
            author: self.author,
            first: self.seq,
            prev: self.prev,
            entries: Vec::new(),
        };
        self.current_bytes = 0;
        Some(Verified {
            segment: std::mem::replace(&mut self.current, next),
            hashes: std::mem::take(&mut self.current_hashes),
            bytes: None,
        })
    }

    fn appended(&self, frontier: u64) -> Appended {
        Appended {
            entries: self.appended,
            first_seq: frontier + 1,
            last: self.last,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::{draft, open};
    use crate::store::{Error, SEGMENT_MAX_ENTRIES};

    #[test]
    fn append_builds_a_contiguous_chain() {
        let (_dir, mut store) = open();
        let hashes = store.append((0..10).map(draft).collect()).unwrap();
        assert_eq!(hashes.len(), 10);
        store.append(vec![draft(10)]).unwrap();
        let status = store.status().unwrap();
        assert_eq!(status.entries, 11);
        assert_eq!(status.frontier[&store.author()], 11);
        let mut seen = Vec::new();
        store
            .for_each_segment::<Error>(None, |segment, hashes| {
                segment.verify().unwrap();
                seen.extend_from_slice(hashes);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen[..10], hashes[..]);
        assert_eq!(seen.len(), 11);
    }

    #[test]
    fn large_batches_are_cut_at_signed_entries() {
        let (_dir, mut store) = open();
        store.append((0..10_000).map(draft).collect()).unwrap();
        let mut rows = 0;
        store
            .for_each_segment::<Error>(None, |segment, _| {
                segment.verify().unwrap();
                assert!(segment.entries.len() <= SEGMENT_MAX_ENTRIES);
                rows += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(rows, 3);
    }

    fn row_count(store: &crate::store::Store) -> usize {
        let mut rows = 0;
        store
            .for_each_segment::<Error>(None, |_, _| {
                rows += 1;
                Ok(())
            })
            .unwrap();
        rows
    }

    #[test]
    fn small_appends_merge_until_the_row_is_no_longer_small() {
        let (_dir, mut store) = open();
        for i in 0..20 {
            store.append(vec![draft(i)]).unwrap();
        }
        assert_eq!(row_count(&store), 1, "one-entry appends gather in one row");
        store.append((20..2020).map(draft).collect()).unwrap();
        assert_eq!(row_count(&store), 1, "a batch continues a small row");
        store.append(vec![draft(2020)]).unwrap();
        assert_eq!(row_count(&store), 2, "a large last row is not rewritten");
        store.append(vec![draft(2021)]).unwrap();
        assert_eq!(
            row_count(&store),
            2,
            "the new small row gathers the next append"
        );
        assert_eq!(store.status().unwrap().entries, 2022);
    }
}
