//! The calendar's inputs: schedule text, and event bodies whose recurrences the `rrule` crate
//! expands.
//!
//! The first byte picks what the rest is:
//! - 0..=84: schedule text (UTF-8), parsed against a fixed `now` seen from three zones; what
//!   parses becomes an event that is expanded like a stored one;
//! - 85..=169: an event body as JSON;
//! - 170..=255: an event body from NUL-separated fields, so the fuzzer works on the rule text
//!   itself: `rrule`, `start`, `end`, `tz`, `except` (comma-separated), `all_day` (non-empty).
#![no_main]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use libfuzzer_sys::fuzz_target;
use mule::calendar::event::Event;
use mule::views::cal::MAX_OCCURRENCES;
use serde_json::{Value, json};

fn now() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 14)
        .and_then(|d| d.and_hms_opt(9, 26, 53))
        .expect("a valid time")
}

/// Expands the event over the year from `from`, as a query in `reader`'s zone would.
fn expand(event: &Event, from: DateTime<Utc>, reader: chrono_tz::Tz) {
    let to = from + Duration::days(366);
    if let Ok(occurrences) = event.occurrences(from, to, MAX_OCCURRENCES, reader) {
        assert!(occurrences.len() <= MAX_OCCURRENCES);
        for (start, end) in occurrences {
            assert!(start <= end, "an occurrence ends before it starts");
        }
    }
}

fn check_body(body: &Value) {
    let Ok(event) = Event::from_json(body) else {
        return;
    };
    let again = Event::from_json(&event.to_json()).expect("an event's own body reads back");
    assert_eq!(again, event);
    expand(&event, now().and_utc(), event.tz);
    expand(
        &event,
        event.first_start().with_timezone(&Utc),
        chrono_tz::Pacific::Kiritimati,
    );
}

fn fields_body(text: &str) -> Value {
    let mut fields = text.split('\0');
    let mut next = || fields.next().unwrap_or_default();
    let (rrule, start, end, tz, except, all_day) = (next(), next(), next(), next(), next(), next());
    let mut body = json!({
        "id": "e",
        "title": "t",
        "tz": if tz.is_empty() { "Europe/Berlin" } else { tz },
        "start": if start.is_empty() { "2026-03-29T02:30:00" } else { start },
        "end": if end.is_empty() { "2026-03-29T03:30:00" } else { end },
    });
    if !rrule.is_empty() {
        body["rrule"] = json!(rrule);
    }
    if !except.is_empty() {
        body["except"] = json!(except.split(',').collect::<Vec<_>>());
    }
    if !all_day.is_empty() {
        body["all_day"] = json!(true);
    }
    body
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    match mode {
        0..=84 => {
            let Ok(text) = std::str::from_utf8(data) else {
                return;
            };
            for tz in [
                chrono_tz::UTC,
                chrono_tz::Europe::Berlin,
                chrono_tz::Pacific::Apia,
            ] {
                let now = now().and_utc().with_timezone(&tz);
                let Ok(schedule) = mule::calendar::schedule::parse(text, now) else {
                    continue;
                };
                if let Ok(event) = Event::from_schedule("e".into(), Some(text.into()), &schedule) {
                    check_body(&event.to_json());
                }
            }
        }
        85..=169 => {
            if let Ok(body) = serde_json::from_slice::<Value>(data) {
                check_body(&body);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(data) {
                check_body(&fields_body(text));
            }
        }
    }
});
