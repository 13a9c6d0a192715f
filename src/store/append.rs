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

impl Store {
    /// Appends entries by this device in one transaction and returns their hashes.
    ///
    /// Signing rule (bundle-format.md, "Signatures"): the last entry of the batch is signed, and
    /// so is every entry whose seq is a multiple of [`SIGN_EVERY`] or that closes
    /// [`SEGMENT_TARGET_BYTES`] of unsigned entries, so a run can be cut into bounded segments.
    pub fn append(&mut self, drafts: Vec<Draft>) -> Result<Vec<Hash>, Error> {
        self.append_linking(drafts, &[])
    }

    /// [`Store::append`] where a draft may also link an earlier draft of the same batch, whose
    /// hash is only known as the batch is built: `earlier[i]`, when given, is the index of the
    /// draft that draft `i` links too (an index not below `i` is ignored).
    pub fn append_linking(
        &mut self,
        drafts: Vec<Draft>,
        earlier: &[Option<usize>],
    ) -> Result<Vec<Hash>, Error> {
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
        let (segments, hashes) = build_segments(&self.key, frontier, head, drafts, earlier)?;
        for verified in segments {
            attach(&tx, row, verified).map_err(fail)?;
        }
        crate::fault::stop_point(crate::fault::Point::AppendCommit);
        crate::interrupt::check()?;
        tx.commit().map_err(|source| fail(source.into()))?;
        Ok(hashes)
    }
}

/// Turns drafts into signed segments continuing the chain at `frontier`/`head`; each draft also
/// links the earlier draft `earlier` names for it (see [`Store::append_linking`]).
fn build_segments(
    key: &DeviceKey,
    frontier: u64,
    head: Option<Hash>,
    drafts: Vec<Draft>,
    earlier: &[Option<usize>],
) -> Result<(Vec<Verified>, Vec<Hash>), Error> {
    let author = key.author();
    let total = drafts.len();
    let mut all_hashes = Vec::with_capacity(total);
    let mut segments = Vec::new();
    let mut current = Segment {
        author,
        first: frontier + 1,
        prev: head,
        entries: Vec::new(),
    };
    let mut current_hashes = Vec::new();
    let mut current_bytes = 0usize;
    let mut unsigned_bytes = 0usize;
    let mut prev = head;
    let mut buf = Vec::with_capacity(256);
    for (index, mut draft) in drafts.into_iter().enumerate() {
        let seq = frontier + 1 + index as u64;
        let linked = earlier.get(index).copied().flatten();
        draft
            .links
            .extend(linked.and_then(|earlier| all_hashes.get(earlier).copied()));
        draft.links.sort_unstable();
        draft.links.dedup();
        let fields = EntryRef {
            author: &author,
            seq,
            prev: prev.as_ref(),
            links: &draft.links,
            timestamp: draft.timestamp.min(i64::MAX as u64),
            kind: &draft.kind,
            body: &draft.body,
        };
        let hash = fields
            .check_fields()
            .and_then(|()| fields.hash_with(&mut buf))
            .map_err(|source| Error::Entry {
                index: index + 1,
                source,
            })?;
        let is_last = index + 1 == total;
        unsigned_bytes += buf.len();
        current_bytes += buf.len();
        let sign =
            is_last || seq.is_multiple_of(SIGN_EVERY) || unsigned_bytes >= SEGMENT_TARGET_BYTES;
        if sign {
            unsigned_bytes = 0;
        }
        current.entries.push(SegmentEntry {
            timestamp: fields.timestamp,
            kind: draft.kind,
            links: draft.links,
            body: draft.body,
            signature: sign.then(|| key.sign(&hash)),
        });
        current_hashes.push(hash);
        all_hashes.push(hash);
        prev = Some(hash);
        let full =
            current.entries.len() >= SEGMENT_MAX_ENTRIES || current_bytes >= SEGMENT_TARGET_BYTES;
        if sign && (full || is_last) {
            let next = Segment {
                author,
                first: seq + 1,
                prev,
                entries: Vec::new(),
            };
            segments.push(Verified {
                segment: std::mem::replace(&mut current, next),
                hashes: std::mem::take(&mut current_hashes),
                bytes: None,
            });
            current_bytes = 0;
        }
    }
    Ok((segments, all_hashes))
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
}
