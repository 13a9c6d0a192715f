//! The calendar view: events written in everyday language, as in the p2p calendar of the seed.
//!
//! `mule cal add "every other friday at 4pm until march"` parses the text (see
//! [`crate::schedule`]) against the device's clock and time zone *once*, and the entry stores
//! the result, so every replica expands the event alike whatever its own clock or zone. An
//! entry of kind `cal` has one of two bodies:
//!
//! - an event: `{"id", "title", "text", "tz", "start", "end", "all_day", "rrule", "except"}` where
//!   `tz` is an IANA zone name; `start`/`end` are wall-clock times in that zone
//!   (`2026-12-05T09:30:00`), or dates (`2026-12-05`) with `"all_day": true` and `end` the day
//!   after the last one (as in iCalendar); `rrule` is an RFC 5545 RRULE value (`UNTIL` in UTC)
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

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::{Transaction, params};
use serde_json::{Value, json};

use super::{Error, Superseded, Viewed, Views};
use crate::entry::{Entry, body_from_json};
use crate::id::Hash;
use crate::schedule::{Frequency, Recurrence, Schedule, When};
use crate::store::{Draft, now_ms};

/// The entry kind this view reads.
pub const KIND: &str = "cal";

/// Most occurrences one query expands; a larger answer asks for a shorter range.
pub const MAX_OCCURRENCES: usize = 100_000;
/// Most occurrences of one event a query steps through, counting those before the range (a daily
/// event that started 5,000 years earlier); an event beyond it counts as too many.
pub const MAX_EXPANSION_STEPS: usize = 2_000_000;

/// When an event happens: wall-clock times, or whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// From `start` to `end` (wall clock in the event's zone).
    Timed {
        /// Start of the first occurrence.
        start: NaiveDateTime,
        /// Its end, after `start`.
        end: NaiveDateTime,
    },
    /// Whole days `start..end` (`end` exclusive, as in iCalendar).
    AllDay {
        /// The first day.
        start: NaiveDate,
        /// The day after the last one.
        end: NaiveDate,
    },
}

/// One version of an event, as its entry stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's id (shared by all its versions).
    pub id: String,
    /// What it is called.
    pub title: String,
    /// The text it was parsed from, if any.
    pub text: Option<String>,
    /// The zone its wall-clock times are in.
    pub tz: Tz,
    /// Its first occurrence.
    pub span: Span,
    /// RFC 5545 RRULE value when it repeats.
    pub rrule: Option<String>,
    /// Dates whose occurrence is cancelled.
    pub except: Vec<NaiveDate>,
}

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

/// A head version of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventVersion {
    /// The entry that wrote it.
    pub hash: Hash,
    /// When it was written (the author's clock), milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The event, or `None` for a tombstone.
    pub event: Option<Event>,
}

impl Occurrence {
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

impl Event {
    /// The event a parsed schedule describes, in zone `tz`.
    pub fn from_schedule(
        id: String,
        text: Option<String>,
        schedule: &Schedule,
        tz: Tz,
    ) -> Result<Self, String> {
        let span = match schedule.when {
            When::Timed { start, end } => Span::Timed { start, end },
            When::AllDay { first, last } => Span::AllDay {
                start: first,
                end: last.succ_opt().ok_or("the date is out of range")?,
            },
        };
        let event = Self {
            id,
            title: schedule.title.clone(),
            text,
            tz,
            span,
            rrule: schedule
                .recurrence
                .as_ref()
                .map(|r| rrule_text(r, tz, span.start_time())),
            except: schedule.exceptions.clone(),
        };
        event.rule_set()?;
        Ok(event)
    }

    /// The entry body.
    pub fn to_json(&self) -> Value {
        let (start, end, all_day) = match self.span {
            Span::Timed { start, end } => (wall(start), wall(end), false),
            Span::AllDay { start, end } => (start.to_string(), end.to_string(), true),
        };
        let mut body = json!({
            "id": self.id,
            "title": self.title,
            "tz": self.tz.name(),
            "start": start,
            "end": end,
        });
        if all_day {
            body["all_day"] = json!(true);
        }
        if let Some(text) = &self.text {
            body["text"] = json!(text);
        }
        if let Some(rrule) = &self.rrule {
            body["rrule"] = json!(rrule);
        }
        if !self.except.is_empty() {
            let dates: Vec<String> = self.except.iter().map(NaiveDate::to_string).collect();
            body["except"] = json!(dates);
        }
        body
    }

    /// Reads and checks an entry body, recurrence included; `Err` says what is wrong.
    pub fn from_json(body: &Value) -> Result<Self, String> {
        let event = Self::decode(body)?;
        event.rule_set()?;
        Ok(event)
    }

    /// Reads a body without checking its recurrence (for rows the view checked on the way in).
    fn decode(body: &Value) -> Result<Self, String> {
        let text_field = |name: &str| body.get(name).and_then(Value::as_str);
        let id = text_field("id")
            .filter(|id| !id.is_empty())
            .ok_or("an event needs an `id`")?;
        let tz_name = text_field("tz").ok_or("an event needs a `tz`")?;
        let tz = Tz::from_str(tz_name).map_err(|_| format!("unknown time zone `{tz_name}`"))?;
        let (start, end) = (
            text_field("start").ok_or("an event needs a `start`")?,
            text_field("end").ok_or("an event needs an `end`")?,
        );
        let span = if body.get("all_day") == Some(&Value::Bool(true)) {
            let date = |s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a date"))
            };
            Span::AllDay {
                start: date(start)?,
                end: date(end)?,
            }
        } else {
            let time = |s: &str| {
                NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                    .map_err(|_| format!("`{s}` is not a date and time"))
            };
            Span::Timed {
                start: time(start)?,
                end: time(end)?,
            }
        };
        if !span.is_positive() {
            return Err("an event must end after it starts".into());
        }
        let except = match body.get("except") {
            None => Vec::new(),
            Some(dates) => dates
                .as_array()
                .ok_or("`except` must be a list of dates")?
                .iter()
                .map(|d| {
                    d.as_str()
                        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                        .ok_or_else(|| format!("`except` holds {d}, not a date"))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            id: id.to_owned(),
            title: text_field("title").unwrap_or_default().to_owned(),
            text: text_field("text").map(str::to_owned),
            tz,
            span,
            rrule: text_field("rrule").map(str::to_owned),
            except,
        })
    }

    /// Start of the first occurrence in the event's zone.
    pub fn first_start(&self) -> DateTime<Tz> {
        local(self.tz, self.span.start_time())
    }

    /// The recurrence as the `rrule` crate expands it, or `None` for a one-time event.
    fn rule_set(&self) -> Result<Option<rrule::RRuleSet>, String> {
        let Some(text) = &self.rrule else {
            return Ok(None);
        };
        let rule: rrule::RRule<rrule::Unvalidated> = text
            .parse()
            .map_err(|e| format!("recurrence `{text}`: {e}"))?;
        if rule.get_freq() > rrule::Frequency::Daily {
            return Err(format!("recurrence `{text}`: events repeat at most daily"));
        }
        let zone = rrule::Tz::Tz(self.tz);
        let start = self.first_start().with_timezone(&zone);
        // `limit` bounds the crate's search for a next occurrence of a rule that never matches.
        let mut set = rule
            .build(start)
            .map_err(|e| format!("recurrence `{text}`: {e}"))?
            .limit();
        let at = self.span.start_time().time();
        for date in &self.except {
            set = set.exdate(local(self.tz, date.and_time(at)).with_timezone(&zone));
        }
        Ok(Some(set))
    }

    /// Length of each occurrence, in wall-clock terms.
    fn length(&self) -> Duration {
        self.span.end_time() - self.span.start_time()
    }

    /// The occurrence starting at `start`.
    fn occurrence_at(&self, start: DateTime<Tz>) -> (DateTime<Tz>, DateTime<Tz>) {
        let end = local(self.tz, start.naive_local() + self.length());
        (start, end.max(start))
    }

    /// Occurrences overlapping `from..to`, in order; `Err(())` when there are more than `cap`.
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: usize,
    ) -> Result<Vec<Interval>, TooMany> {
        let overlaps = |(start, end): &(DateTime<Tz>, DateTime<Tz>)| *start < to && *end > from;
        let Ok(Some(set)) = self.rule_set() else {
            let once = self.occurrence_at(self.first_start());
            return Ok(overlaps(&once).then_some(once).into_iter().collect());
        };
        // An occurrence that started up to one length before `from` may still be running.
        let earliest = from - self.length();
        let mut out = Vec::new();
        for (step, start) in (&set).into_iter().enumerate() {
            if step == MAX_EXPANSION_STEPS {
                return Err(TooMany);
            }
            let start = start.with_timezone(&self.tz);
            if start >= to {
                break;
            }
            if start < earliest {
                continue;
            }
            let occurrence = self.occurrence_at(start);
            if overlaps(&occurrence) {
                if out.len() == cap {
                    return Err(TooMany);
                }
                out.push(occurrence);
            }
        }
        Ok(out)
    }

    /// First start and last end in Unix seconds, for the span index: a bound, not an exact
    /// answer. A rule (`rules`, from [`Event::rule_set`]) with `UNTIL` ends at most one length
    /// after it; one without (open-ended, or counted) at `i64::MAX`.
    fn bounds(&self, rules: Option<&rrule::RRuleSet>) -> (i64, i64) {
        let first = self.first_start().timestamp();
        let Some(rules) = rules else {
            let (_, end) = self.occurrence_at(self.first_start());
            return (first, end.timestamp());
        };
        let until: Option<Vec<_>> = rules.get_rrule().iter().map(|r| r.get_until()).collect();
        let last_start = until.and_then(|u| u.into_iter().max().copied());
        let end = last_start.map_or(i64::MAX, |start| {
            let start = start.with_timezone(&self.tz);
            self.occurrence_at(start).1.timestamp()
        });
        (first, end)
    }
}

/// Start and end of one occurrence, in the event's zone.
pub type Interval = (DateTime<Tz>, DateTime<Tz>);

/// A query would expand more than [`MAX_OCCURRENCES`] occurrences, or step through more than
/// [`MAX_EXPANSION_STEPS`] of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany;

impl Span {
    fn start_time(&self) -> NaiveDateTime {
        match *self {
            Span::Timed { start, .. } => start,
            Span::AllDay { start, .. } => start.and_time(NaiveTime::MIN),
        }
    }

    fn end_time(&self) -> NaiveDateTime {
        match *self {
            Span::Timed { end, .. } => end,
            Span::AllDay { end, .. } => end.and_time(NaiveTime::MIN),
        }
    }

    fn is_positive(&self) -> bool {
        self.end_time() > self.start_time()
    }
}

/// `2026-12-05T09:30:00`.
fn wall(time: NaiveDateTime) -> String {
    time.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A wall-clock time in `tz`: the earlier of two readings in a repeated hour, and for a time
/// skipped by a clock change, the same reading an hour later (as calendar programs do).
pub fn local(tz: Tz, time: NaiveDateTime) -> DateTime<Tz> {
    tz.from_local_datetime(&time)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(time + Duration::hours(1)))
                .earliest()
        })
        .unwrap_or_else(|| tz.from_utc_datetime(&time))
}

/// The RRULE value of a parsed recurrence; `UNTIL` is the end of its last day in `tz`, in UTC
/// as RFC 5545 requires when the start has a zone.
fn rrule_text(recurrence: &Recurrence, tz: Tz, start: NaiveDateTime) -> String {
    let frequency = match recurrence.frequency {
        Frequency::Daily => "DAILY",
        Frequency::Weekly => "WEEKLY",
        Frequency::Monthly => "MONTHLY",
        Frequency::Yearly => "YEARLY",
    };
    let mut parts = vec![format!("FREQ={frequency}")];
    if recurrence.interval > 1 {
        parts.push(format!("INTERVAL={}", recurrence.interval));
    }
    if let Some(until) = recurrence.until {
        let last_start = local(tz, until.and_time(start.time()));
        let utc = last_start.with_timezone(&Utc);
        parts.push(format!("UNTIL={}", utc.format("%Y%m%dT%H%M%SZ")));
    }
    let list = |values: Vec<String>| values.join(",");
    if !recurrence.months.is_empty() {
        let months = recurrence.months.iter().map(u8::to_string).collect();
        parts.push(format!("BYMONTH={}", list(months)));
    }
    if !recurrence.month_days.is_empty() {
        let days = recurrence.month_days.iter().map(u8::to_string).collect();
        parts.push(format!("BYMONTHDAY={}", list(days)));
    }
    if !recurrence.weekdays.is_empty() {
        let days = recurrence
            .weekdays
            .iter()
            .map(|(nth, day)| {
                let code = &day.to_string()[..2];
                let code = code.to_uppercase();
                nth.map_or(code.clone(), |n| format!("{n}{code}"))
            })
            .collect();
        parts.push(format!("BYDAY={}", list(days)));
    }
    parts.join(";")
}

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

pub(super) fn drop_tables(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DROP TABLE IF EXISTS cal_versions; DROP TABLE IF EXISTS cal_superseded;
         DROP TABLE IF EXISTS cal_spans;",
    )
}

/// A cal entry, decoded: the event id, and for an event (not a tombstone) its JSON text and
/// its bounds for the span index.
#[derive(Debug)]
pub(super) struct Row {
    event_id: String,
    event: Option<(String, (i64, i64))>,
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
        event: Some((body.to_string(), event.bounds(rules.as_ref()))),
    })
}

/// The statements of this view's superseded table.
const SUPERSEDED: Superseded = Superseded::new(
    "INSERT OR IGNORE INTO cal_superseded(hash) VALUES (?1)",
    "SELECT 1 FROM cal_superseded WHERE hash = ?1",
);

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
        SUPERSEDED.mark(tx, linked)?;
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
        let conn = &self.views.conn;
        let mut stmt = self.views.db(conn.prepare_cached(sql))?;
        let rows = self.views.db(stmt.query_map(params, |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, u64>(2)?,
            ))
        }))?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, doc, timestamp) = self.views.db(row)?;
            let event = doc
                .and_then(|d| serde_json::from_str(&d).ok())
                .and_then(|d| Event::decode(&d).ok());
            out.push(EventVersion {
                hash: Hash::from_slice(&hash).expect("the view stores 32-byte hashes"),
                timestamp,
                event,
            });
        }
        Ok(out)
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

    /// Every head version that is an event (not a tombstone), by event id then newest first.
    pub fn events(&self) -> Result<Vec<EventVersion>, Error> {
        self.versions(
            "SELECT v.hash, v.doc, v.timestamp FROM cal_spans s JOIN cal_versions v ON v.id = s.version
             ORDER BY v.event_id, v.timestamp DESC, v.hash DESC",
            [],
        )
    }

    /// Every occurrence overlapping `from..to`, sorted by start, then event id, then version;
    /// each with whether its event has several versions (a conflict).
    pub fn query(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
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
            let Ok(found) = event.occurrences(from, to, room) else {
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
    Ok(Draft {
        kind: KIND.into(),
        body: body_from_json(&body)?,
        links,
        timestamp: now_ms(),
    })
}

/// The zone named `name` (IANA, such as `Europe/Oslo`), or the system's zone when `None`.
pub fn zone(name: Option<&str>) -> Result<Tz, String> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => iana_time_zone::get_timezone().map_err(|e| {
            format!("cannot tell this system's time zone ({e}); pass --tz, e.g. --tz Europe/Oslo")
        })?,
    };
    Tz::from_str(&name).map_err(|_| {
        format!("unknown time zone `{name}`; use an IANA name such as Europe/Oslo or UTC")
    })
}

/// Reads a time given on the command line: a date (`2026-12-01`, meaning its first moment, or
/// with `day_end` the first moment of the next day, so a range of dates includes its last day),
/// a wall-clock time in `tz` (`2026-12-01T09:00`, seconds optional, a space instead of `T`
/// allowed), or an RFC 3339 time with an offset (`2026-12-01T09:00:00+01:00`).
pub fn parse_time(text: &str, tz: Tz, day_end: bool) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let date = if day_end {
            date.succ_opt()
                .ok_or_else(|| format!("`{text}` is out of range"))?
        } else {
            date
        };
        return Ok(local(tz, date.and_time(NaiveTime::MIN)).with_timezone(&Utc));
    }
    let wall = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| {
            format!("`{text}` is not a date or time; write 2026-12-01, 2026-12-01T09:00 or 2026-12-01T09:00:00+01:00")
        })?;
    Ok(local(tz, wall).with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn oslo() -> Tz {
        "Europe/Oslo".parse().unwrap()
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        parse_time(text, Tz::UTC, false).unwrap()
    }

    fn weekly_monday_nine() -> Schedule {
        Schedule {
            title: "standup".into(),
            when: When::Timed {
                start: at("2026-10-19 09:00"),
                end: at("2026-10-19 09:30"),
            },
            recurrence: Some(Recurrence {
                frequency: Frequency::Weekly,
                interval: 1,
                weekdays: vec![(None, Weekday::Mon)],
                month_days: vec![],
                months: vec![],
                until: Some(NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()),
            }),
            exceptions: vec![NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()],
        }
    }

    #[test]
    fn a_weekly_event_keeps_its_wall_clock_time_across_a_clock_change() {
        let event = Event::from_schedule("e".into(), None, &weekly_monday_nine(), oslo()).unwrap();
        assert_eq!(
            event.rrule.as_deref(),
            Some("FREQ=WEEKLY;UNTIL=20261116T080000Z;BYDAY=MO")
        );
        let found = event
            .occurrences(utc("2026-10-01"), utc("2027-01-01"), 100)
            .unwrap();
        let starts: Vec<String> = found.iter().map(|(s, _)| s.to_rfc3339()).collect();
        // Oslo leaves summer time on 25 October; 2 November is an exception.
        assert_eq!(
            starts,
            [
                "2026-10-19T09:00:00+02:00",
                "2026-10-26T09:00:00+01:00",
                "2026-11-09T09:00:00+01:00",
                "2026-11-16T09:00:00+01:00",
            ]
        );
        assert_eq!(found[0].1.to_rfc3339(), "2026-10-19T09:30:00+02:00");
        let (first, last) = event.bounds(event.rule_set().unwrap().as_ref());
        assert_eq!(first, found[0].0.timestamp());
        // UNTIL is the last start allowed; the last occurrence starts there.
        assert_eq!(last, found[3].1.timestamp());
    }

    #[test]
    fn an_occurrence_running_at_the_start_of_the_range_is_included() {
        let event = Event::from_schedule("e".into(), None, &weekly_monday_nine(), oslo()).unwrap();
        let found = event
            .occurrences(utc("2026-10-19T07:15:00Z"), utc("2026-10-19T07:20:00Z"), 10)
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            event.occurrences(utc("2026-10-01"), utc("2027-01-01"), 3),
            Err(TooMany)
        );
    }

    #[test]
    fn bodies_round_trip_and_bad_ones_are_refused() {
        let mut schedule = weekly_monday_nine();
        let event =
            Event::from_schedule("e".into(), Some("text".into()), &schedule, oslo()).unwrap();
        assert_eq!(Event::from_json(&event.to_json()).unwrap(), event);
        schedule.when = When::AllDay {
            first: NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
            last: NaiveDate::from_ymd_opt(2026, 12, 26).unwrap(),
        };
        schedule.recurrence = None;
        let all_day = Event::from_schedule("d".into(), None, &schedule, oslo()).unwrap();
        let body = all_day.to_json();
        assert_eq!(
            (body["start"].as_str(), body["end"].as_str()),
            (Some("2026-12-24"), Some("2026-12-27"))
        );
        assert_eq!(Event::from_json(&body).unwrap(), all_day);
        for (field, value) in [
            ("tz", json!("Mars/Olympus")),
            ("start", json!("yesterday")),
            ("end", json!("2026-12-01")),
            ("rrule", json!("FREQ=SOMETIMES")),
            ("except", json!(["soon"])),
        ] {
            let mut bad = body.clone();
            bad[field] = value;
            assert!(Event::from_json(&bad).is_err(), "{field}");
        }
    }

    #[test]
    fn rules_that_could_stall_a_query_are_refused_or_bounded() {
        let mut body = Event::from_schedule("e".into(), None, &weekly_monday_nine(), oslo())
            .unwrap()
            .to_json();
        body["rrule"] = json!("FREQ=SECONDLY");
        assert!(
            Event::from_json(&body)
                .unwrap_err()
                .contains("at most daily")
        );
        // A rule no date matches, and a daily rule from the year 1: both answer at once.
        body["rrule"] = json!("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30");
        let never = Event::from_json(&body).unwrap();
        let found = never
            .occurrences(utc("2026-01-01"), utc("2030-01-01"), 10)
            .unwrap();
        assert!(found.len() <= 1);
        body["rrule"] = json!("FREQ=DAILY");
        body["start"] = json!("0001-01-01T09:00:00");
        body["end"] = json!("0001-01-01T10:00:00");
        let ancient = Event::from_json(&body).unwrap();
        assert_eq!(
            ancient
                .occurrences(utc("2026-01-01"), utc("2026-01-03"), 10)
                .map(|f| f.len()),
            Ok(2)
        );
    }

    #[test]
    fn command_line_times_read_dates_wall_clock_and_offsets() {
        let tz = oslo();
        assert_eq!(
            parse_time("2026-12-01", tz, false).unwrap(),
            utc("2026-11-30T23:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-01", tz, true).unwrap(),
            utc("2026-12-01T23:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-01T09:00", tz, false).unwrap(),
            utc("2026-12-01T08:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-01 09:00:30", tz, false).unwrap(),
            utc("2026-12-01T08:00:30Z")
        );
        assert_eq!(
            parse_time("2026-12-01T09:00:00-05:00", tz, false).unwrap(),
            utc("2026-12-01T14:00:00Z")
        );
        assert!(parse_time("next week", tz, false).is_err());
        assert!(zone(Some("Nowhere/Special")).is_err());
    }
}
