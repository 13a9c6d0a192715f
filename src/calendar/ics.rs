//! iCalendar (RFC 5545) export of events, for calendar programs.
//!
//! Each head version of an event becomes a `VEVENT` whose `UID` is `<event id>@mule` (a
//! second concurrent version gets `<event id>.<hash prefix>@mule`, so both survive an import
//! until someone merges them). Times are written with `TZID=<IANA name>` and the file carries a
//! `VTIMEZONE` for every zone it names, as RFC 5545 requires: its observances are the zone's
//! actual clock changes (from chrono-tz's copy of the tz database) from the year before the
//! earliest event through [`ZONE_YEARS_AHEAD`] years after the latest start or today, each
//! `STANDARD`/`DAYLIGHT` group listing its changes as `RDATE`s.
//!
//! Written by hand because the `icalendar` crate cannot write `VTIMEZONE` components; the
//! format is small: content lines, TEXT escaping (§3.3.11) and folding at 75 octets (§3.1).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use super::event::{Event, EventVersion, Span};

/// How many years past the latest event (or today) the time zone definitions reach.
pub const ZONE_YEARS_AHEAD: i32 = 20;

/// The iCalendar text of `versions` (head versions; tombstones are skipped). `now` is the
/// export time, which bounds the time zone definitions for open-ended recurrences.
pub fn calendar(versions: &[EventVersion], now: DateTime<Utc>) -> String {
    let events: Vec<(&EventVersion, &Event)> = versions
        .iter()
        .filter_map(|v| v.event.as_ref().map(|e| (v, e)))
        .collect();
    let mut out = Lines::default();
    out.line("BEGIN:VCALENDAR");
    out.line("VERSION:2.0");
    out.line(&format!(
        "PRODID:-//mule//mule {}//EN",
        env!("CARGO_PKG_VERSION")
    ));
    out.line("CALSCALE:GREGORIAN");
    let zones: BTreeSet<&str> = events.iter().map(|(_, e)| e.tz.name()).collect();
    let years = |f: fn(i32, i32) -> i32, start| {
        events
            .iter()
            .map(|(_, e)| e.first_start().year())
            .fold(start, f)
    };
    let from_year = years(i32::min, now.year()) - 1;
    let to_year = years(i32::max, now.year()) + ZONE_YEARS_AHEAD;
    for zone in zones {
        let tz: Tz = zone.parse().expect("events hold known zone names");
        write_timezone(&mut out, tz, from_year, to_year);
    }
    let mut uids = BTreeSet::new();
    for (version, event) in events {
        let plain = format!("{}@mule", event.id);
        let uid = if uids.insert(plain.clone()) {
            plain
        } else {
            format!("{}.{}@mule", event.id, &version.hash.to_string()[..12])
        };
        write_event(&mut out, &uid, version, event);
    }
    out.line("END:VCALENDAR");
    out.text
}

/// Content lines, CRLF-terminated and folded.
#[derive(Default)]
struct Lines {
    text: String,
}

impl Lines {
    /// Appends one content line, folded so no physical line exceeds 75 octets.
    fn line(&mut self, line: &str) {
        let mut width = 0;
        for c in line.chars() {
            if width + c.len_utf8() > 75 {
                self.text.push_str("\r\n ");
                width = 1;
            }
            self.text.push(c);
            width += c.len_utf8();
        }
        self.text.push_str("\r\n");
    }
}

/// TEXT value escaping (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn local_stamp(time: NaiveDateTime) -> String {
    time.format("%Y%m%dT%H%M%S").to_string()
}

fn write_event(out: &mut Lines, uid: &str, version: &EventVersion, event: &Event) {
    let stamp = Utc
        .timestamp_millis_opt(version.timestamp as i64)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let zone = event.tz.name();
    out.line("BEGIN:VEVENT");
    out.line(&format!("UID:{}", escape(uid)));
    out.line(&format!("DTSTAMP:{}", stamp.format("%Y%m%dT%H%M%SZ")));
    let at = match event.span {
        Span::Timed { start, end } => {
            out.line(&format!("DTSTART;TZID={zone}:{}", local_stamp(start)));
            out.line(&format!("DTEND;TZID={zone}:{}", local_stamp(end)));
            Some(start.time())
        }
        Span::AllDay { start, end } => {
            out.line(&format!("DTSTART;VALUE=DATE:{}", start.format("%Y%m%d")));
            out.line(&format!("DTEND;VALUE=DATE:{}", end.format("%Y%m%d")));
            None
        }
    };
    if let Some(rrule) = &event.rrule {
        let rrule = match at {
            Some(_) => rrule.clone(),
            None => with_date_until(rrule, event.tz),
        };
        out.line(&format!("RRULE:{rrule}"));
    }
    for date in &event.except {
        match at {
            Some(time) => out.line(&format!(
                "EXDATE;TZID={zone}:{}",
                local_stamp(date.and_time(time))
            )),
            None => out.line(&format!("EXDATE;VALUE=DATE:{}", date.format("%Y%m%d"))),
        }
    }
    out.line(&format!("SUMMARY:{}", escape(&event.title)));
    if let Some(text) = &event.text {
        out.line(&format!("DESCRIPTION:{}", escape(text)));
    }
    out.line(&format!("X-MULE-VERSION:{}", version.hash));
    out.line("END:VEVENT");
}

/// An all-day event's RRULE with `UNTIL` as a `DATE`, as RFC 5545 §3.3.10 asks when `DTSTART`
/// is one: the body's `UTC` time (the start of the last day in `tz`) becomes that day.
fn with_date_until(rrule: &str, tz: Tz) -> String {
    let date_of = |value: &str| {
        NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ")
            .ok()
            .map(|utc| {
                utc.and_utc()
                    .with_timezone(&tz)
                    .format("%Y%m%d")
                    .to_string()
            })
    };
    rrule
        .split(';')
        .map(|part| match part.strip_prefix("UNTIL=").and_then(date_of) {
            Some(date) => format!("UNTIL={date}"),
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// One clock change: the wall-clock time it happens at (in the offset before it), the offsets
/// before and after, whether the new offset is daylight time, and its abbreviation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Change {
    daylight: bool,
    from: i32,
    to: i32,
    name: String,
    at: NaiveDateTime,
}

/// Offset facts of `tz` at an instant: (UTC offset in seconds, daylight, abbreviation).
fn offset_at(tz: Tz, instant: DateTime<Utc>) -> (i32, bool, String) {
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc());
    (
        offset.fix().local_minus_utc(),
        !offset.dst_offset().is_zero(),
        offset.abbreviation().unwrap_or("").to_owned(),
    )
}

/// The clock changes of `tz` in years `from..=to`: a day-by-day scan, then a bisection to the
/// second.
fn changes(tz: Tz, from: i32, to: i32) -> Vec<Change> {
    let day = |year: i32| {
        Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::UNIX_EPOCH)
    };
    let (mut at, end) = (day(from), day(to + 1));
    let mut out = Vec::new();
    while at < end {
        let next = at + Duration::days(1);
        let before = offset_at(tz, at);
        if offset_at(tz, next) != before {
            let (mut low, mut high) = (at, next);
            while high - low > Duration::seconds(1) {
                let middle = low + (high - low) / 2;
                if offset_at(tz, middle) == before {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            let (to_offset, daylight, name) = offset_at(tz, high);
            out.push(Change {
                daylight,
                from: before.0,
                to: to_offset,
                name,
                at: high.naive_utc() + Duration::seconds(i64::from(before.0)),
            });
        }
        at = next;
    }
    out
}

/// `+0100`, `-0330`.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
}

fn write_timezone(out: &mut Lines, tz: Tz, from_year: i32, to_year: i32) {
    out.line("BEGIN:VTIMEZONE");
    out.line(&format!("TZID:{}", tz.name()));
    let found = changes(tz, from_year, to_year);
    if found.is_empty() {
        // A zone without clock changes in the range: one standard observance.
        let start = Utc
            .with_ymd_and_hms(from_year, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::UNIX_EPOCH);
        let (offset, _, name) = offset_at(tz, start);
        let observance = Change {
            daylight: false,
            from: offset,
            to: offset,
            name,
            at: start.naive_utc(),
        };
        write_observance(out, &observance, &[]);
    } else {
        let mut groups: BTreeMap<(bool, i32, i32, String), Vec<NaiveDateTime>> = BTreeMap::new();
        for change in found {
            groups
                .entry((change.daylight, change.from, change.to, change.name))
                .or_default()
                .push(change.at);
        }
        for ((daylight, from, to, name), times) in groups {
            let first = Change {
                daylight,
                from,
                to,
                name,
                at: times[0],
            };
            write_observance(out, &first, &times[1..]);
        }
    }
    out.line("END:VTIMEZONE");
}

fn write_observance(out: &mut Lines, change: &Change, more: &[NaiveDateTime]) {
    let kind = if change.daylight {
        "DAYLIGHT"
    } else {
        "STANDARD"
    };
    out.line(&format!("BEGIN:{kind}"));
    out.line(&format!("DTSTART:{}", local_stamp(change.at)));
    for at in more {
        out.line(&format!("RDATE:{}", local_stamp(*at)));
    }
    out.line(&format!("TZOFFSETFROM:{}", utc_offset(change.from)));
    out.line(&format!("TZOFFSETTO:{}", utc_offset(change.to)));
    if !change.name.is_empty() {
        out.line(&format!("TZNAME:{}", escape(&change.name)));
    }
    out.line(&format!("END:{kind}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_on_character_boundaries() {
        let mut lines = Lines::default();
        let text = format!("SUMMARY:{}", "é".repeat(60));
        lines.line(&text);
        for physical in lines.text.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{physical:?}");
        }
        let unfolded = lines.text.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{text}\r\n"));
    }

    #[test]
    fn an_all_day_until_is_written_as_the_last_date() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        assert_eq!(
            with_date_until("FREQ=DAILY;UNTIL=20270209T230000Z;BYDAY=MO", oslo),
            "FREQ=DAILY;UNTIL=20270210;BYDAY=MO"
        );
        assert_eq!(with_date_until("FREQ=DAILY", oslo), "FREQ=DAILY");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn oslo_changes_twice_a_year_at_the_right_local_times() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        let found = changes(oslo, 2026, 2026);
        assert_eq!(found.len(), 2);
        assert_eq!(local_stamp(found[0].at), "20260329T020000");
        assert_eq!(
            (found[0].from, found[0].to, found[0].daylight),
            (3600, 7200, true)
        );
        assert_eq!(local_stamp(found[1].at), "20261025T030000");
        assert_eq!(found[1].name, "CET");
        assert!(changes("Asia/Tokyo".parse().unwrap(), 2026, 2030).is_empty());
    }
}
