//! `/api/cal`: the calendar page's routes. Schedules are read by the library's parser (the one
//! `mule cal add` uses), occurrences come from the calendar view's query, and the download is
//! the library's iCalendar writer: the page only shows what these answer.
//!
//! - `GET /api/cal/occurrences?from=DATE&to=DATE&tz=ZONE`: [`Shown`] occurrences, as `cal
//!   query` finds them (TO included whole), each with the events it clashes with.
//! - `POST /api/cal/preview[?id=ID]` with a [`Phrase`]: how the text reads ([`Reading`]) as a
//!   new event, or as a change to event ID; nothing written; 400 with the parser's own words
//!   when it cannot be read.
//! - `POST /api/cal/events` with a [`Phrase`]: a new event ([`report::EventWritten`]).
//! - `GET|PUT|DELETE /api/cal/events/ID`: an event's versions ([`Versions`]), a new version
//!   (a [`Phrase`]; its `keep` names which of several versions to change or keep), its removal.
//! - `GET /api/cal/calendar.ics`: every event as iCalendar, as a file to save.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::calendar::event::{Event, EventVersion, TooMany};
use crate::calendar::repeat::{self, Repeat};
use crate::calendar::revise::{Change, revise};
use crate::calendar::{ics, time};
use crate::replica::Replica;
use crate::report;
use crate::views::{cal, map};

use super::super::http::{Request, Response, percent_decode, query_param};
use super::{answer, not_allowed, not_found};

/// How many occurrences a preview lists.
pub const PREVIEW_OCCURRENCES: usize = 5;

/// What the page sends to read or write a schedule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phrase {
    /// The schedule in everyday words ("standup every monday 9-10am except dec 28").
    #[serde(default)]
    pub text: Option<String>,
    /// A title instead of the words left over from the text.
    #[serde(default)]
    pub title: Option<String>,
    /// The zone to read the text in (the browser's); the server's when absent.
    #[serde(default)]
    pub tz: Option<String>,
    /// For an edit: which of the event's current versions (entry hash) to change, or, with
    /// neither text nor title, to keep as it is (superseding the others); else the newest.
    #[serde(default)]
    pub keep: Option<crate::Hash>,
}

/// How a text reads: the event it makes, in parts the page puts in words.
#[derive(Debug, Serialize)]
pub struct Reading {
    /// The title.
    pub title: String,
    /// The zone its times are in.
    pub tz: String,
    /// Whether it lasts whole days.
    pub all_day: bool,
    /// How it repeats (none: once).
    pub repeat: Option<Repeat>,
    /// Dates left out of the repeat.
    pub except: Vec<String>,
    /// Its next occurrences from now, at most [`PREVIEW_OCCURRENCES`].
    pub next: Vec<Span>,
}

/// One occurrence's start and end, RFC 3339 with offset.
#[derive(Debug, Serialize)]
pub struct Span {
    /// The start.
    pub start: String,
    /// The end.
    pub end: String,
}

/// An occurrence as the page shows it.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// The occurrence, as `mule --json cal query` prints it.
    #[serde(flatten)]
    pub occurrence: report::Occurrence,
    /// The ids of other events with an occurrence overlapping this one in time.
    pub clashes: Vec<String>,
}

/// The current versions of an event (several after concurrent edits), newest first.
#[derive(Debug, Serialize)]
pub struct Versions {
    /// Each version, as `cal add` reports it.
    pub versions: Vec<report::EventWritten>,
}

/// Answers `/api/cal/...`.
pub fn handle(replica: &mut Replica, request: &Request, rest: &str) -> Response {
    let method = request.method.as_str();
    match rest.split_once('/').unwrap_or((rest, "")) {
        ("occurrences", "") if method == "GET" => occurrences(replica, request),
        ("preview", "") if method == "POST" => preview(replica, request),
        ("events", "") if method == "POST" => write(replica, &map::new_id(), &request.body),
        ("calendar.ics", "") if method == "GET" => download(replica),
        ("events", id) if !id.is_empty() => {
            let Some(id) = percent_decode(id, false) else {
                return Response::failure(400, "the event id is not percent-encoded UTF-8");
            };
            match method {
                "GET" => versions(replica, &id),
                "PUT" => write(replica, &id, &request.body),
                "DELETE" => remove(replica, &id),
                _ => not_allowed(),
            }
        }
        ("occurrences" | "preview" | "events" | "calendar.ics", "") => not_allowed(),
        _ => not_found(request),
    }
}

/// A 400 answer.
fn bad(message: impl std::fmt::Display) -> Response {
    Response::failure(400, &message.to_string())
}

/// The zone named `name` (an IANA name), or the server's own.
fn zone(name: Option<&str>) -> Result<Tz, Response> {
    time::zone(name.filter(|n| !n.is_empty())).map_err(bad)
}

/// `GET /api/cal/occurrences?from=&to=&tz=`.
fn occurrences(replica: &mut Replica, request: &Request) -> Response {
    let param = |name| query_param(&request.query, name);
    let tz = match zone(param("tz").as_deref()) {
        Ok(tz) => tz,
        Err(answer) => return answer,
    };
    let range = |name, day_end| {
        let text = param(name).unwrap_or_default();
        time::parse_time(&text, tz, day_end).map_err(|e| bad(format!("{name}: {e}")))
    };
    let (from, to) = match (range("from", false), range("to", true)) {
        (Ok(from), Ok(to)) if to > from => (from, to),
        (Ok(_), Ok(_)) => return bad("`to` must come after `from`"),
        (Err(answer), _) | (_, Err(answer)) => return answer,
    };
    let found = match replica.read_views(|views| views.cal().query(from, to, tz)) {
        Ok(Ok(found)) => found,
        Ok(Err(TooMany)) => {
            return bad(format!(
                "more than {} occurrences in that range; ask for a shorter one",
                cal::MAX_OCCURRENCES
            ));
        }
        Err(e) => return answer::<()>(Err(e)),
    };
    let clashes = cal::clashes(&found);
    let shown: Vec<Shown> = found
        .iter()
        .zip(clashes)
        .map(|((occurrence, conflict), clashes)| Shown {
            occurrence: report::Occurrence::new(occurrence, *conflict),
            clashes,
        })
        .collect();
    Response::json(200, &shown)
}

/// Reads the request body as a [`Phrase`].
fn phrase(body: &[u8]) -> Result<Phrase, Response> {
    serde_json::from_slice(body).map_err(|e| bad(format!("the body is not a schedule: {e}")))
}

/// Event `id` as `phrase` makes it from `current` (its newest version, if any), read now.
fn event_of(id: &str, current: Option<&Event>, phrase: Phrase) -> Result<Event, Response> {
    let tz = zone(phrase.tz.as_deref())?;
    let change = Change {
        text: phrase.text.as_deref().filter(|t| !t.trim().is_empty()),
        title: phrase.title.filter(|t| !t.trim().is_empty()),
        tz: None,
    };
    revise(id, current, change, Utc::now(), tz).map_err(bad)
}

/// `POST /api/cal/preview[?id=ID]`: how the text reads (for event ID: as a change to it, which
/// keeps its title and zone), written nowhere.
fn preview(replica: &mut Replica, request: &Request) -> Response {
    let id = query_param(&request.query, "id").filter(|id| !id.is_empty());
    let id = id.as_deref().unwrap_or("preview");
    match changed(replica, id, &request.body).and_then(|event| reading(&event, Utc::now())) {
        Ok(reading) => Response::json(200, &reading),
        Err(answer) => answer,
    }
}

/// What the page shows of `event` before it is saved.
fn reading(event: &Event, now: DateTime<Utc>) -> Result<Reading, Response> {
    let next = event
        .next_occurrences(now, PREVIEW_OCCURRENCES, event.tz)
        .map_err(|TooMany| bad("the schedule repeats too often to list"))?;
    Ok(Reading {
        title: event.title.clone(),
        tz: event.tz.name().to_owned(),
        all_day: matches!(event.span, crate::calendar::event::Span::AllDay { .. }),
        repeat: repeat::repeat(event).map_err(bad)?,
        except: event.except.iter().map(ToString::to_string).collect(),
        next: next
            .into_iter()
            .map(|(start, end)| Span {
                start: start.to_rfc3339(),
                end: end.to_rfc3339(),
            })
            .collect(),
    })
}

/// `POST /api/cal/events` and `PUT /api/cal/events/ID`: writes the event the phrase makes,
/// superseding the event's current versions.
fn write(replica: &mut Replica, id: &str, body: &[u8]) -> Response {
    let event = match changed(replica, id, body) {
        Ok(event) => event,
        Err(answer) => return answer,
    };
    answer(replica.put_event(id, Some(&event)).map(|hash| {
        let mut report = report::EventWritten::new(&event, hash);
        report.views_rebuilt = replica.views_rebuilt().map(str::to_owned);
        report
    }))
}

/// Event `id` as the [`Phrase`] in `body` makes it: the version it names (`keep`, one of
/// several current ones; else the newest, if any) with its text and title applied, or with
/// neither, that version as it is.
fn changed(replica: &mut Replica, id: &str, body: &[u8]) -> Result<Event, Response> {
    let phrase = phrase(body)?;
    let heads = replica
        .read_views(|views| views.cal().heads(id))
        .map_err(|e| answer::<()>(Err(e)))?;
    let base = match phrase.keep {
        Some(keep) => kept(heads, keep)
            .ok_or_else(|| bad(format!("event `{id}` has no current version {keep}")))?,
        None => heads.into_iter().find_map(|version| version.event),
    };
    let changes = [&phrase.text, &phrase.title]
        .into_iter()
        .any(|field| field.as_deref().is_some_and(|f| !f.trim().is_empty()));
    match base {
        Some(base) if phrase.keep.is_some() && !changes => Ok(base),
        base => event_of(id, base.as_ref(), phrase),
    }
}

/// The event of the head version `keep`: `None` when it is no current version, `Some(None)`
/// when it is a removal.
fn kept(heads: Vec<EventVersion>, keep: crate::Hash) -> Option<Option<Event>> {
    heads
        .into_iter()
        .find(|version| version.hash == keep)
        .map(|version| version.event)
}

/// `GET /api/cal/events/ID`: its current versions; 404 when it has none (never added, removed).
fn versions(replica: &mut Replica, id: &str) -> Response {
    answer(
        replica
            .read_views(|views| views.cal().require(id))
            .map(|heads| {
                let versions = heads
                    .into_iter()
                    .filter_map(|version| {
                        let event = version.event?;
                        Some(report::EventWritten::new(&event, version.hash))
                    })
                    .collect();
                Versions { versions }
            }),
    )
}

/// `DELETE /api/cal/events/ID`: writes its removal; 404 when there is nothing to remove.
fn remove(replica: &mut Replica, id: &str) -> Response {
    if let Err(e) = replica.read_views(|views| views.cal().require(id)) {
        return answer::<()>(Err(e));
    }
    answer(replica.put_event(id, None).map(|hash| report::DocWritten {
        id: id.to_owned(),
        hash,
        views_rebuilt: replica.views_rebuilt().map(str::to_owned),
    }))
}

/// `GET /api/cal/calendar.ics`: every event as iCalendar, to save as a file.
fn download(replica: &mut Replica) -> Response {
    match replica.read_views(|views| views.cal().events()) {
        Ok(events) => {
            let text = ics::calendar(&events, Utc::now());
            let mut response =
                Response::bytes(200, "text/calendar; charset=utf-8", text.into_bytes());
            response.headers.push((
                "Content-Disposition",
                "attachment; filename=\"mule-calendar.ics\"".to_owned(),
            ));
            response
        }
        Err(e) => answer::<()>(Err(e)),
    }
}
