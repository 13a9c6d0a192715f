//! GeoJSON import (`mule map import`): features parsed on one thread as the file is read,
//! turned into map documents and appended on this one, in one transaction. Memory holds a few
//! hundred features, not the file; the document ids written so far (to link a later feature
//! with the same id to the earlier one) are kept in a temporary table ([`BatchHeads`]).

use std::collections::VecDeque;
use std::io::Read;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{Receiver, sync_channel};

use serde_json::Value;

use super::{Error, Replica};
use crate::Hash;
use crate::progress::{Counted, Listener, Operation, Progress, Tally, counted};
use crate::report;
use crate::store::{Draft, Drafts};
use crate::views::batch::BatchHeads;
use crate::views::{Views, map};

/// Features handed from the parser to the writer at once: one at a time, waking the other
/// thread cost a quarter of an import's time.
const FEATURES_PER_BATCH: usize = 128;
/// Batches parsed ahead of the writer.
const BATCHES_IN_FLIGHT: usize = 4;

/// What the parser hands the writer: a batch of features with their index, or why it stopped.
type Parsed = Result<Vec<(usize, Value)>, map::MapError>;

impl Replica {
    /// Imports the features of GeoJSON text read from `input` (a FeatureCollection, a Feature,
    /// or newline-delimited Features), as [`map::from_geojson`] reads them, writing each
    /// document the store does not show exactly so already (importing a file twice changes
    /// nothing the second time); a later feature with an id of an earlier one supersedes it.
    /// All or nothing: a feature that is not acceptable fails the whole import, named.
    pub fn import_geojson(
        &mut self,
        input: impl Read + Send,
    ) -> Result<report::MapImported, Error> {
        self.import_geojson_with_progress(input, None, &mut |_| {})
    }

    /// [`Replica::import_geojson`], telling `progress` the bytes of `input` read (of
    /// `input_len`, when the caller knows it) and the features read, once per segment written
    /// and once at the end.
    pub fn import_geojson_with_progress(
        &mut self,
        input: impl Read + Send,
        input_len: Option<u64>,
        progress: &mut Listener<'_>,
    ) -> Result<report::MapImported, Error> {
        self.catch_up()?;
        let _changing = crate::interrupt::changing().map_err(crate::store::Error::from)?;
        let views = self.views.as_ref().expect("catch_up opened the views");
        let store = &mut self.store;
        let read = AtomicU64::new(0);
        let input = Counted::new(input, &read);
        let tally = Tally::new(
            Progress::new(Operation::MapImport, None, input_len),
            progress,
        );
        let written = BatchHeads::new(views)?;
        let (send, receive) = sync_channel::<Parsed>(BATCHES_IN_FLIGHT);
        let (appended, import) = std::thread::scope(|scope| {
            scope.spawn(move || {
                let stopped = || map::MapError::Json("the import stopped".into());
                let mut batch = Vec::with_capacity(FEATURES_PER_BATCH);
                let read = map::read_features(input, |index, feature| {
                    batch.push((index, feature));
                    if batch.len() == FEATURES_PER_BATCH {
                        let full =
                            std::mem::replace(&mut batch, Vec::with_capacity(FEATURES_PER_BATCH));
                        send.send(Ok(full)).map_err(|_| stopped())?;
                    }
                    Ok(())
                });
                // The writer may have stopped first; then nobody listens.
                let _ = send.send(read.map(|()| batch));
            });
            let mut import = Import::new(views, written, receive, &read, tally);
            let appended = store.append_from(&mut import);
            if let Ok(appended) = &appended {
                import.segment_written(appended.entries);
            }
            (appended, import.report())
        });
        let appended = appended?;
        if appended.entries > 0 {
            self.catch_up()?;
        }
        Ok(report::MapImported {
            documents: appended.entries,
            ..import
        })
    }
}

/// The documents of an import, as drafts, in file order.
struct Import<'a> {
    views: &'a Views,
    features: Receiver<Parsed>,
    /// Features received and not yet turned into documents.
    received: std::vec::IntoIter<(usize, Value)>,
    /// The documents of the feature being written.
    pending: VecDeque<Value>,
    /// The document ids written so far, with the hash of their last version.
    written: BatchHeads<'a>,
    /// The id of the document handed out last, whose hash the next call brings.
    last: Option<String>,
    unchanged: u64,
    skipped: Vec<report::SkippedFeature>,
    /// Bytes of the file read so far.
    read: &'a AtomicU64,
    /// Features read so far, and who listens.
    tally: Tally<'a>,
}

impl<'a> Import<'a> {
    fn new(
        views: &'a Views,
        written: BatchHeads<'a>,
        features: Receiver<Parsed>,
        read: &'a AtomicU64,
        tally: Tally<'a>,
    ) -> Self {
        Import {
            views,
            features,
            received: Vec::new().into_iter(),
            pending: VecDeque::new(),
            written,
            last: None,
            unchanged: 0,
            skipped: Vec::new(),
            read,
            tally,
        }
    }

    /// The draft of `doc`, or `None` when the store shows it exactly so already.
    fn draft(&mut self, doc: &Value) -> Result<Option<Draft>, Error> {
        let id = doc["id"].as_str().unwrap_or_default();
        let draft = match self.written.get(id)? {
            Some(earlier) => map::put_draft_over(doc, vec![earlier])?,
            None => {
                let shown = self.views.map().get(id)?.and_then(|version| version.doc);
                if shown.as_ref() == Some(doc) {
                    self.unchanged += 1;
                    return Ok(None);
                }
                map::put_draft(self.views, doc)?
            }
        };
        self.last = Some(id.to_owned());
        Ok(Some(draft))
    }

    /// What was imported, but for the documents written (the store counts them).
    fn report(self) -> report::MapImported {
        report::MapImported {
            documents: 0,
            unchanged: self.unchanged,
            skipped: self.skipped.len() as u64,
            skipped_features: self.skipped,
        }
    }
}

impl Drafts for Import<'_> {
    type Error = Error;

    fn next_draft(&mut self, previous: Option<Hash>) -> Result<Option<Draft>, Error> {
        if let (Some(id), Some(hash)) = (self.last.take(), previous) {
            self.written.set(&id, &hash)?;
        }
        loop {
            if let Some(doc) = self.pending.pop_front() {
                match self.draft(&doc)? {
                    Some(draft) => return Ok(Some(draft)),
                    None => continue,
                }
            }
            let Some((index, feature)) = self.received.next() else {
                match self.features.recv() {
                    Ok(batch) => {
                        let batch = batch?;
                        self.tally.now.entries += batch.len() as u64;
                        self.received = batch.into_iter();
                    }
                    Err(_) => return Ok(None),
                }
                continue;
            };
            match map::feature_docs(index, &feature)? {
                Some(docs) => self.pending.extend(docs),
                None => {
                    let skipped = map::SkippedFeature::of(index, &feature);
                    self.skipped.push(report::SkippedFeature {
                        index: index as u64,
                        id: skipped.id,
                        name: skipped.name,
                    });
                }
            }
        }
    }

    fn segment_written(&mut self, _appended: u64) {
        self.tally.now.bytes = counted(self.read);
        self.tally.tell();
    }
}
