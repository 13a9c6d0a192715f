//! The calendar view: events written in everyday language, as in the p2p calendar of the seed.
//!
//! `mule cal add "every other friday at 4pm until march"` parses the text (see
//! [`crate::calendar::schedule`]) against the device's clock and time zone *once*, and the entry
//! stores the result ([`Event`]), so every replica expands the event alike whatever its own clock
//! or zone. An entry of kind `cal` has one of two bodies:
//!
//! - an event: `{"id", "title", "text", "tz", "start", "end", "all_day", "rrule", "except"}` where
//!   `tz` is an IANA zone name; `start`/`end` are wall-clock times in that zone
//!   (`2026-12-05T09:30:00`), or dates (`2026-12-05`) with `"all_day": true` and `end` the day
//!   after the last one (as in iCalendar), floating: the same days in every zone, placed in the
//!   zone of whoever queries; `rrule` is an RFC 5545 RRULE value (`UNTIL` in UTC)
//!   when the event repeats; `except` lists the dates whose occurrence is cancelled; `text` is
//!   what the user typed, kept for reference;
//! - a tombstone: `{"id", "deleted": true}`.
//!
//! Versions and heads work as in the kv view: an edit links the versions it replaces, versions
//! no entry links are the event's heads, and concurrent edits both show (each occurrence says
//! which version it comes from) until an edit that links both merges them. A tombstone hides
//! the versions it links and nothing else.
//!
//! Only head versions are kept in the `cal_spans` index (first start, last end in Unix seconds;
//! open-ended recurrences end at `i64::MAX`), so a query expands only the events that can
//! overlap its range.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::{Transaction, params};
use serde_json::{Value, json};

use super::{
    Error, Superseded, Viewed, Views, damaged_column, draft, hash_column, json_column, json_text,
    superseded,
};
use crate::calendar::event::{Event, EventVersion, Span, TooMany};
use crate::entry::Entry;
use crate::id::Hash;
use crate::store::Draft;

/// The entry kind this view reads.
pub const KIND: &str = "cal";

/// Most occurrences one query expands; a larger answer asks for a shorter range.
pub const MAX_OCCURRENCES: usize = 100_000;

/// One occurrence of an event in a query's range.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// Start, in the event's zone.
    pub start: DateTime<Tz>,
    /// End, in the event's zone.
    pub end: DateTime<Tz>,
    /// The event version it belongs to.
    pub event: std::sync::Arc<EventVersion>,
}

impl Occurrence {
    /// The first occurrence of the event `version` holds (none for a tombstone): what `cal
    /// add` and `cal put` report, in the shape of `cal query`.
    pub fn first(version: EventVersion) -> Option<Self> {
        let (start, end) = version.event.as_ref()?.first_occurrence();
        Some(Occurrence {
            start,
            end,
            event: std::sync::Arc::new(version),
        })
    }

    /// The id of the event it belongs to.
    pub fn id(&self) -> &str {
        self.event.event.as_ref().map_or("", |e| e.id.as_str())
    }

    /// The occurrence as `cal query --json` prints it: `id`, `title`, `start`, `end` (ISO 8601
    /// with offset), `all_day`, `recurring`, `version`, and `conflict` when concurrent edits
    /// left the event with several versions.
    pub fn to_json(&self, conflict: bool) -> Value {
        let event = self
            .event
            .event
            .as_ref()
            .expect("occurrences come from events");
        let mut out = json!({
            "id": event.id,
            "title": event.title,
            "start": self.start.to_rfc3339(),
            "end": self.end.to_rfc3339(),
            "all_day": matches!(event.span, Span::AllDay { .. }),
            "recurring": event.rrule.is_some(),
            "tz": event.tz.name(),
            "version": self.event.hash,
        });
        if conflict {
            out["conflict"] = json!(true);
        }
        out
    }
}

/// Creates the view's tables (their indexes come with [`finish_rebuild`]).
pub(super) fn create_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE cal_versions(
             id INTEGER PRIMARY KEY,
             hash BLOB NOT NULL,
             event_id TEXT NOT NULL,
             doc TEXT,
             timestamp INTEGER NOT NULL,
             first INTEGER,
             last INTEGER
         );
         CREATE TABLE cal_superseded(hash BLOB PRIMARY KEY) WITHOUT ROWID;
         CREATE TABLE cal_spans(version INTEGER PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL);",
    )
}

/// Creates the indexes and fills the span index from the head events: the end of a rebuild,
/// which skipped it entry by entry.
pub(super) fn finish_rebuild(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE INDEX cal_versions_event ON cal_versions(event_id);
         CREATE UNIQUE INDEX cal_versions_hash ON cal_versions(hash);
         INSERT INTO cal_spans(version, first, last)
             SELECT id, first, last FROM cal_versions v
             WHERE doc IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM cal_superseded s WHERE s.hash = v.hash);
         CREATE INDEX cal_spans_first ON cal_spans(first);",
    )
}

/// Drops the view's tables.
pub(super) fn drop_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DROP TABLE IF EXISTS cal_versions; DROP TABLE IF EXISTS cal_superseded;
         DROP TABLE IF EXISTS cal_spans;",
    )
}

/// A cal entry, decoded: the event id, and for an event (not a tombstone) its JSON text and
/// its bounds for the span index.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) event_id: String,
    pub(crate) event: Option<(String, (i64, i64))>,
}

/// Decodes a cal entry; entries that are not events or tombstones belong to no event (`None`).
pub(super) fn prepare(entry: &Entry) -> Option<Row> {
    let body = entry.body_json().ok()?;
    let event_id = body
        .get("id")?
        .as_str()
        .filter(|id| !id.is_empty())?
        .to_owned();
    if body.get("deleted") == Some(&Value::Bool(true)) {
        return Some(Row {
            event_id,
            event: None,
        });
    }
    let event = Event::decode(&body).ok()?;
    let rules = event.rule_set().ok()?;
    Some(Row {
        event_id,
        event: Some((json_text(&body), event.bounds(rules.as_ref()))),
    })
}

/// The statements of this view's superseded table.
pub(super) const SUPERSEDED: Superseded = superseded!("cal_superseded");

/// Writes one decoded entry. `rebuilding` skips the span index, which [`finish_rebuild`]
/// fills in one pass at the end.
pub(super) fn write(
    tx: &Transaction<'_>,
    entry: &Viewed,
    row: Row,
    rebuilding: bool,
) -> rusqlite::Result<()> {
    let hash_bytes = entry.hash.as_bytes().as_slice();
    for linked in &entry.links {
        let linked = linked.as_bytes().as_slice();
        SUPERSEDED.mark(tx, linked, rebuilding)?;
        if !rebuilding {
            tx.prepare_cached(
                "DELETE FROM cal_spans WHERE version = (SELECT id FROM cal_versions WHERE hash = ?1)",
            )?
            .execute([linked])?;
        }
    }
    let (doc, bounds) = row.event.unzip();
    tx.prepare_cached(
        "INSERT INTO cal_versions(hash, event_id, doc, timestamp, first, last)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        hash_bytes,
        row.event_id,
        doc,
        entry.timestamp,
        bounds.map(|b| b.0),
        bounds.map(|b| b.1),
    ])?;
    let Some((first, last)) = bounds.filter(|_| !rebuilding) else {
        return Ok(());
    };
    let version = tx.last_insert_rowid();
    if !SUPERSEDED.contains(tx, hash_bytes)? {
        tx.prepare_cached("INSERT INTO cal_spans(version, first, last) VALUES (?1, ?2, ?3)")?
            .execute(params![version, first, last])?;
    }
    Ok(())
}

/// Queries on the calendar view.
pub struct CalView<'a> {
    pub(super) views: &'a Views,
}

impl CalView<'_> {
    /// Reads version rows `(hash, doc, timestamp)` from `sql` run with `params`.
    fn versions(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<EventVersion>, Error> {
        self.views.rows(sql, params, |r| {
            let event = json_column(r, 1)?
                .map(|doc| Event::decode(&doc).map_err(|e| damaged_column(1, e)))
                .transpose()?;
            Ok(EventVersion {
                hash: hash_column(r, 0)?,
                timestamp: r.get(2)?,
                event,
            })
        })
    }

    /// The heads of an event, events and tombstones, newest first.
    pub fn heads(&self, event_id: &str) -> Result<Vec<EventVersion>, Error> {
        self.versions(
            "SELECT hash, doc, timestamp FROM cal_versions v
             WHERE event_id = ?1 AND NOT EXISTS (SELECT 1 FROM cal_superseded s WHERE s.hash = v.hash)
             ORDER BY timestamp DESC, hash DESC",
            [event_id],
        )
    }

    /// The heads of an event; [`Error::Missing`] when none is an event (never added, or
    /// removed).
    pub fn require(&self, event_id: &str) -> Result<Vec<EventVersion>, Error> {
        let heads = self.heads(event_id)?;
        if !heads.iter().any(|v| v.event.is_some()) {
            return Err(Error::Missing {
                view: super::ViewName::Cal,
                key: event_id.to_owned(),
            });
        }
        Ok(heads)
    }

    /// Every head version that is an event (not a tombstone), by event id then newest first.
    pub fn events(&self) -> Result<Vec<EventVersion>, Error> {
        self.versions(
            "SELECT v.hash, v.doc, v.timestamp FROM cal_spans s JOIN cal_versions v ON v.id = s.version
             ORDER BY v.event_id, v.timestamp DESC, v.hash DESC",
            [],
        )
    }

    /// Every occurrence overlapping `from..to`, sorted by start, then event id, then version;
    /// each with whether its event has several versions (a conflict). All-day events cover
    /// their dates in `reader`'s zone (see [`Event::occurrences`]).
    pub fn query(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        reader: Tz,
    ) -> Result<Result<Vec<(Occurrence, bool)>, TooMany>, Error> {
        let candidates = self.versions(
            "SELECT v.hash, v.doc, v.timestamp FROM cal_spans s JOIN cal_versions v ON v.id = s.version
             WHERE s.first < ?2 AND s.last > ?1",
            params![from.timestamp(), to.timestamp()],
        )?;
        let mut out = Vec::new();
        for version in candidates {
            let version = std::sync::Arc::new(version);
            let Some(event) = &version.event else {
                continue;
            };
            let room = MAX_OCCURRENCES.saturating_sub(out.len());
            let Ok(found) = event.occurrences(from, to, room, reader) else {
                return Ok(Err(TooMany));
            };
            out.extend(found.into_iter().map(|(start, end)| Occurrence {
                start,
                end,
                event: version.clone(),
            }));
        }
        out.sort_by_cached_key(|o| (o.start.with_timezone(&Utc), o.id().to_owned(), o.event.hash));
        let mut conflicted = std::collections::BTreeMap::new();
        for occurrence in &out {
            let id = occurrence.id();
            if !conflicted.contains_key(id) {
                let events = self.heads(id)?.iter().filter(|v| v.event.is_some()).count();
                conflicted.insert(id.to_owned(), events > 1);
            }
        }
        Ok(Ok(out
            .into_iter()
            .map(|o| {
                let conflict = conflicted[o.id()];
                (o, conflict)
            })
            .collect()))
    }

    /// Every head of every event, for comparing replicas: (id, hash, event).
    pub fn dump(&self) -> Result<Vec<(String, Hash, Option<String>)>, Error> {
        self.views.dump_heads(
            "SELECT event_id, hash, doc FROM cal_versions v
             WHERE NOT EXISTS (SELECT 1 FROM cal_superseded s WHERE s.hash = v.hash)
             ORDER BY event_id, hash",
        )
    }
}

/// For each of `found` (sorted by start, as [`CalView::query`] answers), the ids of the other
/// events whose occurrences overlap it in time: a double booking. Only timed occurrences
/// clash (an all-day one, a holiday or a trip, books no hour), and versions of one event never
/// clash with each other (that is the `conflict` of concurrent edits). An occurrence outside
/// the queried range is not seen, so ask for a range that covers what is shown.
pub fn clashes(found: &[(Occurrence, bool)]) -> Vec<Vec<String>> {
    let timed = |o: &Occurrence| {
        o.event
            .event
            .as_ref()
            .is_some_and(|e| matches!(e.span, Span::Timed { .. }))
    };
    let mut out = vec![Vec::<String>::new(); found.len()];
    // Occurrences still running at the start of the one looked at.
    let mut running: Vec<usize> = Vec::new();
    for (i, (occurrence, _)) in found.iter().enumerate() {
        if !timed(occurrence) {
            continue;
        }
        running.retain(|&j| found[j].0.end > occurrence.start);
        for &j in &running {
            let other = &found[j].0;
            if other.id() != occurrence.id() {
                add_once(&mut out[i], other.id());
                add_once(&mut out[j], occurrence.id());
            }
        }
        running.push(i);
    }
    out
}

/// Adds `id` to `ids` unless it is there.
fn add_once(ids: &mut Vec<String>, id: &str) {
    if !ids.iter().any(|known| known == id) {
        ids.push(id.to_owned());
    }
}

/// A draft writing `event` (or, with `None`, a tombstone for `event_id`) as the new version,
/// linking the event's current heads.
pub fn put_draft(views: &Views, event_id: &str, event: Option<&Event>) -> Result<Draft, Error> {
    let links = views
        .cal()
        .heads(event_id)?
        .into_iter()
        .map(|h| h.hash)
        .collect();
    let body = match event {
        Some(event) => event.to_json(),
        None => json!({ "id": event_id, "deleted": true }),
    };
    draft(KIND, &body, links)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;

    /// The first occurrence of an event `id` from `start` to `end` (wall clock in UTC), or
    /// all day on the date `start` when `end` is empty.
    fn occurrence(id: &str, start: &str, end: &str) -> (Occurrence, bool) {
        let mut body = json!({"id": id, "title": id, "tz": "UTC", "start": start, "end": end});
        if end.is_empty() {
            body["all_day"] = json!(true);
            body["end"] = json!("2026-12-08");
        }
        let version = EventVersion {
            hash: Hash::of(id.as_bytes()),
            timestamp: 0,
            event: Some(Event::from_json(&body).unwrap()),
        };
        (Occurrence::first(version).unwrap(), false)
    }

    #[test]
    fn timed_occurrences_of_different_events_that_overlap_clash() {
        let found = [
            occurrence("holiday", "2026-12-07", ""),
            occurrence("standup", "2026-12-07T09:00:00", "2026-12-07T10:00:00"),
            occurrence("dentist", "2026-12-07T09:30:00", "2026-12-07T10:30:00"),
            // Starts as the standup ends: back to back, no clash with it.
            occurrence("review", "2026-12-07T10:00:00", "2026-12-07T11:00:00"),
            occurrence("lunch", "2026-12-07T12:00:00", "2026-12-07T13:00:00"),
        ];
        let clashes = clashes(&found);
        let expected: [&[&str]; 5] = [&[], &["dentist"], &["standup", "review"], &["dentist"], &[]];
        assert_eq!(
            clashes,
            expected.map(|ids| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        );
    }

    #[test]
    fn two_versions_of_one_event_do_not_clash() {
        let (first, _) = occurrence("standup", "2026-12-07T09:00:00", "2026-12-07T10:00:00");
        let mut other = first.clone();
        other.event = Arc::new(EventVersion {
            hash: Hash::of(b"another version"),
            ..(*first.event).clone()
        });
        other.start = chrono_tz::Tz::UTC
            .with_ymd_and_hms(2026, 12, 7, 9, 15, 0)
            .unwrap();
        assert_eq!(
            clashes(&[(first, true), (other, true)]),
            [Vec::<String>::new(), vec![]]
        );
    }
}
