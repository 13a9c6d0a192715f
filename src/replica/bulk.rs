//! Appending this device's entries: a list of drafts, or JSON lines read as they come (`mule
//! append KIND -`), in one transaction, a segment at a time, the kv keys put so far in a
//! temporary table ([`BatchHeads`]); a bad line appends nothing and is named. A kv put without
//! links of its own supersedes its key's current values, or the batch's earlier put of that
//! key, as `kv put` does, so a bulk load of puts leaves one current value per key.

use std::io::BufRead;
use std::sync::atomic::AtomicU64;

use super::{Error, Replica};
use crate::Hash;
use crate::progress::{Counted, Listener, Operation, Progress, Tally, counted};
use crate::store::{self, Appended, Draft, Drafts};
use crate::views::batch::BatchHeads;
use crate::views::{Views, kv};

impl Replica {
    /// Appends entries of this device; returns their hashes, in order (kv puts linked as the
    /// module says).
    pub fn append(&mut self, drafts: Vec<Draft>) -> Result<Vec<Hash>, Error> {
        let links_kv = drafts
            .iter()
            .any(|d| d.kind == kv::KIND && d.links.is_empty());
        let _changing = self.prepare(links_kv)?;
        let mut listed = Listed {
            drafts: drafts.into_iter(),
            hashes: Vec::new(),
            kv: KvLinks::new(links_kv, self.views.as_ref())?,
        };
        let appended = self.store.append_from(&mut listed)?;
        let hashes = std::mem::take(&mut listed.hashes);
        drop(listed);
        self.caught_up(&appended)?;
        Ok(hashes)
    }

    /// Appends one entry of `kind` per non-empty line of `input` (each a JSON body), linking
    /// `links`; a kv put without links supersedes its key's current values, or the batch's
    /// earlier put of the same key, as `kv put` does. All lines or none: a line that is not
    /// valid JSON, or not a valid body, fails the whole batch with [`Error::Line`].
    pub fn append_lines(
        &mut self,
        kind: &str,
        links: &[Hash],
        input: impl BufRead,
    ) -> Result<Appended, Error> {
        self.append_lines_with_progress(kind, links, input, None, &mut |_| {})
    }

    /// [`Replica::append_lines`], telling `progress` the bytes of `input` read (of
    /// `input_len`, when the caller knows it) and the entries appended, once per segment and
    /// once at the end.
    pub fn append_lines_with_progress(
        &mut self,
        kind: &str,
        links: &[Hash],
        input: impl BufRead,
        input_len: Option<u64>,
        progress: &mut Listener<'_>,
    ) -> Result<Appended, Error> {
        let links_kv = kind == kv::KIND && links.is_empty();
        let _changing = self.prepare(links_kv)?;
        let read = AtomicU64::new(0);
        let mut lines = JsonLines {
            kind,
            links,
            lines: Counted::new(input, &read).lines(),
            number: 0,
            kv: KvLinks::new(links_kv, self.views.as_ref())?,
            read: &read,
            tally: Tally::new(Progress::new(Operation::Append, None, input_len), progress),
        };
        let appended = self.store.append_from(&mut lines)?;
        lines.segment_written(appended.entries);
        drop(lines);
        self.caught_up(&appended)?;
        Ok(appended)
    }

    /// Before an append: the views up to date when kv puts read their keys' current values,
    /// and Ctrl-C told to wait for the append's safe point.
    fn prepare(&mut self, links_kv: bool) -> Result<crate::interrupt::Changing, Error> {
        if links_kv {
            self.catch_up()?;
        }
        Ok(crate::interrupt::changing().map_err(store::Error::from)?)
    }

    /// After an append: the views show what it wrote.
    fn caught_up(&mut self, appended: &Appended) -> Result<(), Error> {
        if appended.entries > 0 {
            self.catch_up()?;
        }
        Ok(())
    }
}

/// The drafts of [`Replica::append`], with the hashes of those appended.
struct Listed<'a> {
    drafts: std::vec::IntoIter<Draft>,
    hashes: Vec<Hash>,
    kv: Option<KvLinks<'a>>,
}

impl Drafts for Listed<'_> {
    type Error = Error;

    fn next_draft(&mut self, previous: Option<Hash>) -> Result<Option<Draft>, Error> {
        self.hashes.extend(previous);
        let Some(mut draft) = self.drafts.next() else {
            return Ok(None);
        };
        if let Some(kv) = &mut self.kv {
            kv.appended(previous)?;
            if draft.kind == kv::KIND && draft.links.is_empty() {
                let key = kv::draft_key(&draft);
                kv.link(&mut draft, key)?;
            }
        }
        Ok(Some(draft))
    }
}

/// A line of a bulk append: its body, and the kv key it puts when puts are linked.
type Line = (Vec<u8>, Option<String>);

/// The drafts of a bulk append, read from lines of JSON.
struct JsonLines<'a, L> {
    kind: &'a str,
    links: &'a [Hash],
    lines: L,
    /// The number of the line read last.
    number: u64,
    kv: Option<KvLinks<'a>>,
    /// Bytes of input read so far.
    read: &'a AtomicU64,
    tally: Tally<'a>,
}

/// How kv puts of one batch link: the key's current values, or the batch's earlier put.
struct KvLinks<'a> {
    views: &'a Views,
    /// The batch's last put of each key (and one read transaction for the lookups).
    last_put: BatchHeads<'a>,
    /// The key of the draft handed out last, whose hash the next call brings.
    pending: Option<String>,
}

impl<L: Iterator<Item = std::io::Result<String>>> Drafts for JsonLines<'_, L> {
    type Error = Error;

    fn next_draft(&mut self, previous: Option<Hash>) -> Result<Option<Draft>, Error> {
        if let Some(kv) = &mut self.kv {
            kv.appended(previous)?;
        }
        let Some((body, key)) = self.next_body()? else {
            return Ok(None);
        };
        let mut draft = Draft {
            kind: self.kind.to_owned(),
            body,
            links: self.links.to_vec(),
            timestamp: store::now_ms(),
        };
        if let Some(kv) = &mut self.kv {
            kv.link(&mut draft, key)?;
        }
        Ok(Some(draft))
    }

    fn segment_written(&mut self, appended: u64) {
        self.tally.now.entries = appended;
        self.tally.now.bytes = counted(self.read);
        self.tally.tell();
    }
}

impl<L: Iterator<Item = std::io::Result<String>>> JsonLines<'_, L> {
    /// The next non-empty line as a body, with the key it puts when kv puts are linked (read
    /// from the line's JSON: decoding the body again cost 6% of a bulk load of puts).
    fn next_body(&mut self) -> Result<Option<Line>, Error> {
        for line in self.lines.by_ref() {
            self.number += 1;
            let number = self.number;
            let line = line.map_err(|e| line_error(number, format!("cannot be read: {e}")))?;
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| line_error(number, format!("not valid JSON: {e}")))?;
            let body = crate::entry::body_from_json(&value).map_err(|e| line_error(number, e))?;
            let key = self.kv.as_ref().and_then(|_| kv::key_of(&value));
            return Ok(Some((body, key)));
        }
        Ok(None)
    }
}

impl<'a> KvLinks<'a> {
    /// Linking state for a batch, when `enabled` (the views are then open and up to date).
    fn new(enabled: bool, views: Option<&'a Views>) -> Result<Option<Self>, Error> {
        let Some(views) = views.filter(|_| enabled) else {
            return Ok(None);
        };
        Ok(Some(KvLinks {
            views,
            last_put: BatchHeads::new(views)?,
            pending: None,
        }))
    }

    /// The draft handed out last was appended with hash `previous`.
    fn appended(&mut self, previous: Option<Hash>) -> Result<(), Error> {
        if let (Some(key), Some(hash)) = (self.pending.take(), previous) {
            self.last_put.set(&key, &hash)?;
        }
        Ok(())
    }

    /// Links a kv put of `key` (none: the body has no key, nothing to link) to the key's current
    /// values, or to the batch's earlier put of it.
    fn link(&mut self, draft: &mut Draft, key: Option<String>) -> Result<(), crate::views::Error> {
        let Some(key) = key else {
            return Ok(());
        };
        draft.links = match self.last_put.get(&key)? {
            Some(earlier) => vec![earlier],
            None => kv::head_hashes(self.views, &key)?,
        };
        self.pending = Some(key);
        Ok(())
    }
}

fn line_error(number: u64, reason: impl ToString) -> Error {
    Error::Line {
        number,
        reason: reason.to_string(),
    }
}
