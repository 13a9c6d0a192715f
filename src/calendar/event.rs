//! Events: what a calendar entry stores, and its occurrences.
//!
//! An [`Event`] is a schedule fixed in a zone: `mule cal add` reads the text once (see
//! [`schedule`](super::schedule)) against the device's clock and zone, and the event keeps the
//! result, so every replica expands it alike whatever its own clock or zone. Its recurrence is
//! an RFC 5545 RRULE value that the `rrule` crate expands; [`Event::occurrences`] bounds that
//! expansion, so no rule (one that never matches, a daily one from the year 1) stalls a query.
//! The entry body's fields are described in [`crate::views::cal`].

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::schedule::{Frequency, Recurrence, Schedule, When};
use super::time::local;
use crate::id::Hash;

/// Why an event (from a schedule, or an entry body) is not acceptable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The last day of an all-day event is the last day chrono can hold.
    #[error("the date is out of range")]
    OutOfRange,
    /// A required field is missing or empty.
    #[error("an event needs {} `{field}`", article(field))]
    Missing {
        /// The field: `id`, `tz`, `start` or `end`.
        field: &'static str,
    },
    /// `tz` is not an IANA zone name.
    #[error("unknown time zone `{name}`")]
    UnknownZone {
        /// The name as written.
        name: String,
    },
    /// An all-day `start` or `end` is not `YYYY-MM-DD`.
    #[error("`{text}` is not a date")]
    NotADate {
        /// The field's text.
        text: String,
    },
    /// A timed `start` or `end` is not `YYYY-MM-DDTHH:MM:SS`.
    #[error("`{text}` is not a date and time")]
    NotADateTime {
        /// The field's text.
        text: String,
    },
    /// `end` is not after `start`.
    #[error("an event must end after it starts")]
    EndsBeforeStart,
    /// `except` is not a list.
    #[error("`except` must be a list of dates")]
    ExceptNotAList,
    /// An item of `except` is not a date.
    #[error("`except` holds {item}, not a date")]
    ExceptNotADate {
        /// The item, as JSON.
        item: Value,
    },
    /// `rrule` cannot be read or expanded from the event's start.
    #[error("recurrence `{rule}`: {source}")]
    Recurrence {
        /// The RRULE value.
        rule: String,
        /// What the `rrule` crate said (boxed: it is large, and rare).
        source: Box<rrule::RRuleError>,
    },
    /// `rrule` repeats more often than daily.
    #[error("recurrence `{rule}`: events repeat at most daily")]
    TooFrequent {
        /// The RRULE value.
        rule: String,
    },
}

/// "an" before a field name that starts with a vowel ("an `id`", "an `end`"), else "a".
fn article(field: &str) -> &'static str {
    if field.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

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

impl Event {
    /// The event a parsed schedule describes, in the schedule's zone.
    pub fn from_schedule(
        id: String,
        text: Option<String>,
        schedule: &Schedule,
    ) -> Result<Self, EventError> {
        let tz = schedule.tz;
        let span = match schedule.when {
            When::Timed { start, end } => Span::Timed { start, end },
            When::AllDay { first, last } => Span::AllDay {
                start: first,
                end: last.succ_opt().ok_or(EventError::OutOfRange)?,
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
    pub fn from_json(body: &Value) -> Result<Self, EventError> {
        let event = Self::decode(body)?;
        event.rule_set()?;
        Ok(event)
    }

    /// Reads a body without checking its recurrence (for rows the view checked on the way in).
    pub(crate) fn decode(body: &Value) -> Result<Self, EventError> {
        let text_field = |name: &str| body.get(name).and_then(Value::as_str);
        let id = text_field("id")
            .filter(|id| !id.is_empty())
            .ok_or(EventError::Missing { field: "id" })?;
        let required = |field| text_field(field).ok_or(EventError::Missing { field });
        let tz_name = required("tz")?;
        let tz = Tz::from_str(tz_name).map_err(|_| EventError::UnknownZone {
            name: tz_name.to_owned(),
        })?;
        let (start, end) = (required("start")?, required("end")?);
        let span = if body.get("all_day") == Some(&Value::Bool(true)) {
            let date = |s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| EventError::NotADate { text: s.to_owned() })
            };
            Span::AllDay {
                start: date(start)?,
                end: date(end)?,
            }
        } else {
            let time = |s: &str| {
                NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                    .map_err(|_| EventError::NotADateTime { text: s.to_owned() })
            };
            Span::Timed {
                start: time(start)?,
                end: time(end)?,
            }
        };
        if !span.is_positive() {
            return Err(EventError::EndsBeforeStart);
        }
        let except = match body.get("except") {
            None => Vec::new(),
            Some(dates) => dates
                .as_array()
                .ok_or(EventError::ExceptNotAList)?
                .iter()
                .map(|d| {
                    d.as_str()
                        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                        .ok_or_else(|| EventError::ExceptNotADate { item: d.clone() })
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

    /// The zone occurrences are counted in: an all-day event is a run of dates, the same days
    /// in every zone (as iCalendar's `DATE` values), counted in UTC; a timed one in its zone.
    fn counting_zone(&self) -> Tz {
        match self.span {
            Span::AllDay { .. } => Tz::UTC,
            Span::Timed { .. } => self.tz,
        }
    }

    /// Start of the first occurrence in [`Self::counting_zone`].
    fn counting_start(&self) -> DateTime<Tz> {
        local(self.counting_zone(), self.span.start_time())
    }

    /// The recurrence as the `rrule` crate expands it, or `None` for a one-time event.
    pub(crate) fn rule_set(&self) -> Result<Option<rrule::RRuleSet>, EventError> {
        let Some(text) = &self.rrule else {
            return Ok(None);
        };
        let unreadable = |source| EventError::Recurrence {
            rule: text.clone(),
            source: Box::new(source),
        };
        let mut rule: rrule::RRule<rrule::Unvalidated> = text.parse().map_err(unreadable)?;
        if rule.get_freq() > rrule::Frequency::Daily {
            return Err(EventError::TooFrequent { rule: text.clone() });
        }
        if let (Span::AllDay { .. }, Some(until)) = (self.span, rule.get_until()) {
            // A body's UNTIL is the start of the last day in `tz`; counted in UTC, that day
            // starts at its UTC midnight.
            let last_day = until.with_timezone(&self.tz).date_naive();
            let midnight = rrule::Tz::UTC.from_utc_datetime(&last_day.and_time(NaiveTime::MIN));
            rule = rule.until(midnight);
        }
        let zone = rrule::Tz::Tz(self.counting_zone());
        let start = self.counting_start().with_timezone(&zone);
        // `limit` bounds the crate's search for a next occurrence of a rule that never matches.
        let mut set = rule.build(start).map_err(unreadable)?.limit();
        let at = self.span.start_time().time();
        for date in &self.except {
            let excepted = local(self.counting_zone(), date.and_time(at));
            set = set.exdate(excepted.with_timezone(&zone));
        }
        Ok(Some(set))
    }

    /// Length of each occurrence, in wall-clock terms.
    fn length(&self) -> Duration {
        self.span.end_time() - self.span.start_time()
    }

    /// The first occurrence (the one at DTSTART): its start and end in the event's zone.
    pub fn first_occurrence(&self) -> (DateTime<Tz>, DateTime<Tz>) {
        self.occurrence_at(self.first_start(), self.tz)
    }

    /// The occurrence starting at `start` (in [`Self::counting_zone`]); an all-day one spans
    /// its dates in `reader`'s zone.
    fn occurrence_at(&self, start: DateTime<Tz>, reader: Tz) -> (DateTime<Tz>, DateTime<Tz>) {
        let (zone, start) = match self.span {
            Span::AllDay { .. } => (reader, local(reader, start.naive_local())),
            Span::Timed { .. } => (self.tz, start),
        };
        let end = local(zone, start.naive_local() + self.length());
        (start, end.max(start))
    }

    /// Occurrences overlapping `from..to`, in order; [`TooMany`] when there are more than `cap`.
    /// A timed occurrence is in the event's zone; an all-day one covers its dates in `reader`'s
    /// zone (the zone of whoever asks), as calendar programs show an iCalendar `DATE`.
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: usize,
        reader: Tz,
    ) -> Result<Vec<Interval>, TooMany> {
        let mut out = Vec::new();
        self.walk(from, reader, |occurrence| {
            if occurrence.0 >= to {
                return Ok(false);
            }
            if out.len() == cap {
                return Err(TooMany);
            }
            out.push(occurrence);
            Ok(true)
        })?;
        Ok(out)
    }

    /// The first `count` occurrences still running at or starting after `from`, in order (fewer
    /// when the event ends sooner): what a page shows to say how a schedule was read.
    pub fn next_occurrences(
        &self,
        from: DateTime<Utc>,
        count: usize,
        reader: Tz,
    ) -> Result<Vec<Interval>, TooMany> {
        let mut out = Vec::new();
        if count > 0 {
            self.walk(from, reader, |occurrence| {
                out.push(occurrence);
                Ok(out.len() < count)
            })?;
        }
        Ok(out)
    }

    /// Hands the occurrences that end after `from` to `visit`, in order, until it answers
    /// `false` or fails; [`TooMany`] after [`MAX_EXPANSION_STEPS`] steps through the rule.
    fn walk(
        &self,
        from: DateTime<Utc>,
        reader: Tz,
        mut visit: impl FnMut(Interval) -> Result<bool, TooMany>,
    ) -> Result<(), TooMany> {
        let Ok(Some(set)) = self.rule_set() else {
            let once = self.occurrence_at(self.counting_start(), reader);
            if once.1 > from {
                visit(once)?;
            }
            return Ok(());
        };
        // An occurrence that started up to one length (and, all day, a zone's offset) before
        // `from` may still be running.
        let earliest = from - self.length() - Duration::days(1);
        for (step, start) in (&set).into_iter().enumerate() {
            if step == MAX_EXPANSION_STEPS {
                return Err(TooMany);
            }
            let start = start.with_timezone(&self.counting_zone());
            if start < earliest {
                continue;
            }
            let occurrence = self.occurrence_at(start, reader);
            if occurrence.1 > from && !visit(occurrence)? {
                break;
            }
        }
        Ok(())
    }

    /// First start and last end in Unix seconds, for the span index: a bound, not an exact
    /// answer. A rule (`rules`, from [`Event::rule_set`]) with `UNTIL` ends at most one length
    /// after it; one without (open-ended, or counted) at `i64::MAX`. An all-day event's bounds
    /// hold its dates in every zone (UTC-12 to UTC+14).
    pub(crate) fn bounds(&self, rules: Option<&rrule::RRuleSet>) -> (i64, i64) {
        let slack = match self.span {
            Span::AllDay { .. } => 14 * 3600,
            Span::Timed { .. } => 0,
        };
        let first = self.counting_start().timestamp() - slack;
        let end_of = |start: DateTime<Tz>| self.occurrence_at(start, Tz::UTC).1.timestamp() + slack;
        let Some(rules) = rules else {
            return (first, end_of(self.counting_start()));
        };
        let until: Option<Vec<_>> = rules.get_rrule().iter().map(|r| r.get_until()).collect();
        let last_start = until.and_then(|u| u.into_iter().max().copied());
        let end = last_start.map_or(i64::MAX, |start| {
            end_of(start.with_timezone(&self.counting_zone()))
        });
        (first, end)
    }
}

/// Start and end of one occurrence, in the event's zone.
pub type Interval = (DateTime<Tz>, DateTime<Tz>);

/// A query would expand more occurrences than its cap, or step through more than
/// [`MAX_EXPANSION_STEPS`] of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany;

impl Span {
    /// When the first occurrence starts (an all-day one at midnight).
    fn start_time(&self) -> NaiveDateTime {
        match *self {
            Span::Timed { start, .. } => start,
            Span::AllDay { start, .. } => start.and_time(NaiveTime::MIN),
        }
    }

    /// When the first occurrence ends (an all-day one at midnight after its last day).
    fn end_time(&self) -> NaiveDateTime {
        match *self {
            Span::Timed { end, .. } => end,
            Span::AllDay { end, .. } => end.and_time(NaiveTime::MIN),
        }
    }

    /// Whether it ends after it starts.
    fn is_positive(&self) -> bool {
        self.end_time() > self.start_time()
    }
}

/// `2026-12-05T09:30:00`.
fn wall(time: NaiveDateTime) -> String {
    time.format("%Y-%m-%dT%H:%M:%S").to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::time::parse_time;
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
            tz: oslo(),
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
        let event = Event::from_schedule("e".into(), None, &weekly_monday_nine()).unwrap();
        assert_eq!(
            event.rrule.as_deref(),
            Some("FREQ=WEEKLY;UNTIL=20261116T080000Z;BYDAY=MO")
        );
        let found = event
            .occurrences(utc("2026-10-01"), utc("2027-01-01"), 100, oslo())
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
        let event = Event::from_schedule("e".into(), None, &weekly_monday_nine()).unwrap();
        let found = event
            .occurrences(
                utc("2026-10-19T07:15:00Z"),
                utc("2026-10-19T07:20:00Z"),
                10,
                oslo(),
            )
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            event.occurrences(utc("2026-10-01"), utc("2027-01-01"), 3, oslo()),
            Err(TooMany)
        );
    }

    #[test]
    fn the_next_occurrences_start_at_the_one_running_and_stop_at_the_count_or_the_end() {
        let event = Event::from_schedule("e".into(), None, &weekly_monday_nine()).unwrap();
        let starts = |from: &str, count| -> Vec<String> {
            let found = event.next_occurrences(utc(from), count, oslo()).unwrap();
            found.iter().map(|(s, _)| s.to_rfc3339()).collect()
        };
        // 07:15 UTC is 09:15 in Oslo: the first occurrence is still running.
        assert_eq!(
            starts("2026-10-19T07:15:00Z", 2),
            ["2026-10-19T09:00:00+02:00", "2026-10-26T09:00:00+01:00"]
        );
        // 2 November is an exception, 16 November the last one.
        assert_eq!(
            starts("2026-10-27", 5),
            ["2026-11-09T09:00:00+01:00", "2026-11-16T09:00:00+01:00"]
        );
        assert!(starts("2026-10-01", 0).is_empty());
        assert!(starts("2027-01-01", 3).is_empty());
    }

    #[test]
    fn bodies_round_trip_and_bad_ones_are_refused() {
        let mut schedule = weekly_monday_nine();
        let event = Event::from_schedule("e".into(), Some("text".into()), &schedule).unwrap();
        assert_eq!(Event::from_json(&event.to_json()).unwrap(), event);
        schedule.when = When::AllDay {
            first: NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
            last: NaiveDate::from_ymd_opt(2026, 12, 26).unwrap(),
        };
        schedule.recurrence = None;
        let all_day = Event::from_schedule("d".into(), None, &schedule).unwrap();
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
    fn an_all_day_event_covers_its_dates_in_the_readers_zone() {
        let mut schedule = weekly_monday_nine();
        schedule.when = When::AllDay {
            first: NaiveDate::from_ymd_opt(2026, 10, 19).unwrap(),
            last: NaiveDate::from_ymd_opt(2026, 10, 19).unwrap(),
        };
        let event = Event::from_schedule("d".into(), None, &schedule).unwrap();
        let new_york: Tz = "America/New_York".parse().unwrap();
        let found = event
            .occurrences(utc("2026-10-01"), utc("2027-01-01"), 100, new_york)
            .unwrap();
        let days: Vec<String> = found
            .iter()
            .map(|(start, end)| format!("{} {}", start.to_rfc3339(), end.to_rfc3339()))
            .collect();
        // Mondays until 16 November (UNTIL, written for Oslo, names that day), without 2
        // November, each from midnight to midnight in New York.
        assert_eq!(
            days,
            [
                "2026-10-19T00:00:00-04:00 2026-10-20T00:00:00-04:00",
                "2026-10-26T00:00:00-04:00 2026-10-27T00:00:00-04:00",
                "2026-11-09T00:00:00-05:00 2026-11-10T00:00:00-05:00",
                "2026-11-16T00:00:00-05:00 2026-11-17T00:00:00-05:00",
            ]
        );
        let (first, last) = event.bounds(event.rule_set().unwrap().as_ref());
        assert!(first <= found[0].0.timestamp() && last >= found[3].1.timestamp());
    }

    #[test]
    fn a_missing_field_is_named_with_its_article() {
        let body = Event::from_schedule("e".into(), None, &weekly_monday_nine())
            .unwrap()
            .to_json();
        for (field, message) in [
            ("id", "an event needs an `id`"),
            ("tz", "an event needs a `tz`"),
            ("start", "an event needs a `start`"),
            ("end", "an event needs an `end`"),
        ] {
            let mut bad = body.clone();
            bad.as_object_mut().unwrap().remove(field);
            assert_eq!(Event::from_json(&bad).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn rules_that_could_stall_a_query_are_refused_or_bounded() {
        let mut body = Event::from_schedule("e".into(), None, &weekly_monday_nine())
            .unwrap()
            .to_json();
        body["rrule"] = json!("FREQ=SECONDLY");
        assert!(
            Event::from_json(&body)
                .unwrap_err()
                .to_string()
                .contains("at most daily")
        );
        // A rule no date matches, and a daily rule from the year 1: both answer at once.
        body["rrule"] = json!("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30");
        let never = Event::from_json(&body).unwrap();
        let found = never
            .occurrences(utc("2026-01-01"), utc("2030-01-01"), 10, oslo())
            .unwrap();
        assert!(found.len() <= 1);
        body["rrule"] = json!("FREQ=DAILY");
        body["start"] = json!("0001-01-01T09:00:00");
        body["end"] = json!("0001-01-01T10:00:00");
        let ancient = Event::from_json(&body).unwrap();
        assert_eq!(
            ancient
                .occurrences(utc("2026-01-01"), utc("2026-01-03"), 10, oslo())
                .map(|f| f.len()),
            Ok(2)
        );
    }
}
