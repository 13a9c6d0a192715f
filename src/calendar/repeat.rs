//! An event's recurrence in parts (how often, on which days, until when), so a front end can
//! put it in words in the reader's language instead of showing an RRULE.

use chrono::NaiveDate;
use serde::Serialize;

use super::event::{Event, EventError};

/// How an event repeats, read back from its RRULE; the fields mean what the RRULE parts of
/// the same names mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repeat {
    /// `daily`, `weekly`, `monthly` or `yearly` (FREQ).
    pub frequency: &'static str,
    /// Every how many of them (1: every one, 2: every other).
    pub interval: u16,
    /// The weekdays (BYDAY), each perhaps numbered within the month or year.
    pub weekdays: Vec<Weekday>,
    /// Days of the month, 1 to 31, or from its end when negative (BYMONTHDAY).
    pub month_days: Vec<i8>,
    /// Months, 1 to 12 (BYMONTH).
    pub months: Vec<u8>,
    /// How many occurrences there are, when counted (COUNT).
    pub count: Option<u32>,
    /// The last date an occurrence may start on, in the event's zone (from UNTIL), as
    /// `YYYY-MM-DD`.
    #[serde(serialize_with = "iso_date")]
    pub until: Option<NaiveDate>,
}

/// A weekday of a [`Repeat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Weekday {
    /// 1 for Monday to 7 for Sunday (ISO 8601).
    pub day: u32,
    /// Which one in the month (or year): 1 the first, -1 the last; none for every one.
    pub nth: Option<i16>,
}

/// How `event` repeats, or `None` when it happens once.
pub fn repeat(event: &Event) -> Result<Option<Repeat>, EventError> {
    let Some(text) = &event.rrule else {
        return Ok(None);
    };
    let rule: rrule::RRule<rrule::Unvalidated> =
        text.parse().map_err(|source| EventError::Recurrence {
            rule: text.clone(),
            source: Box::new(source),
        })?;
    let frequency = match rule.get_freq() {
        rrule::Frequency::Daily => "daily",
        rrule::Frequency::Weekly => "weekly",
        rrule::Frequency::Monthly => "monthly",
        rrule::Frequency::Yearly => "yearly",
        _ => return Err(EventError::TooFrequent { rule: text.clone() }),
    };
    let weekdays = rule
        .get_by_weekday()
        .iter()
        .map(|day| match *day {
            rrule::NWeekday::Every(day) => Weekday {
                day: day.number_from_monday(),
                nth: None,
            },
            rrule::NWeekday::Nth(nth, day) => Weekday {
                day: day.number_from_monday(),
                nth: Some(nth),
            },
        })
        .collect();
    Ok(Some(Repeat {
        frequency,
        interval: rule.get_interval().max(1),
        weekdays,
        month_days: rule.get_by_month_day().to_vec(),
        months: rule.get_by_month().to_vec(),
        count: rule.get_count(),
        until: rule
            .get_until()
            .map(|until| until.with_timezone(&event.tz).date_naive()),
    }))
}

/// `2026-12-28` (chrono's serde feature is not built for this one field).
fn iso_date<S: serde::Serializer>(date: &Option<NaiveDate>, out: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => out.collect_str(date),
        None => out.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::calendar::schedule;

    fn event(text: &str) -> Event {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let read = schedule::parse(text, now.with_timezone(&chrono_tz::Europe::Oslo)).unwrap();
        Event::from_schedule("e".into(), Some(text.into()), &read).unwrap()
    }

    #[test]
    fn a_weekly_rule_reads_back_its_day_and_last_date_in_the_events_zone() {
        let standup = event("standup every monday 9-10am until dec 28 except dec 21");
        let repeat = repeat(&standup).unwrap().unwrap();
        assert_eq!(repeat.frequency, "weekly");
        assert_eq!(repeat.interval, 1);
        assert_eq!(repeat.weekdays, [Weekday { day: 1, nth: None }]);
        assert_eq!(repeat.until, NaiveDate::from_ymd_opt(2026, 12, 28));
    }

    #[test]
    fn numbered_weekdays_intervals_and_one_time_events_read_back() {
        let board = repeat(&event("board last friday of the month at 4pm"))
            .unwrap()
            .unwrap();
        assert_eq!(board.frequency, "monthly");
        assert_eq!(
            board.weekdays,
            [Weekday {
                day: 5,
                nth: Some(-1)
            }]
        );
        let payday = repeat(&event("every other week on friday"))
            .unwrap()
            .unwrap();
        assert_eq!((payday.frequency, payday.interval), ("weekly", 2));
        assert_eq!(repeat(&event("dentist dec 12 at 10:00")).unwrap(), None);
    }
}
