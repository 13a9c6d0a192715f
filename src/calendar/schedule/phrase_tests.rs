//! Phrases people type (issue 15), as a table: each read with a fixed now, Wednesday
//! 2026-11-25 10:00 in Oslo.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;

use super::{Recurrence, Schedule, When, parse};

/// The zone of [`now`].
const OSLO: Tz = chrono_tz::Europe::Oslo;

/// Wednesday 2026-11-25 10:00 in Oslo.
fn now() -> DateTime<Tz> {
    NaiveDate::from_ymd_opt(2026, 11, 25)
        .and_then(|day| day.and_hms_opt(10, 0, 0))
        .and_then(|wall| wall.and_local_timezone(OSLO).single())
        .expect("a time Oslo's clocks show")
}

/// A phrase and what it must read as: `Ok((title, first start, rule))` or `Err((word, part of
/// the reason))`. The start is `YYYY-MM-DD HH:MM` (or a date for an all-day event), followed by
/// the zone when the phrase names one; the rule is `FREQ[;INTERVAL=n][;BYDAY=..][;BYMONTHDAY=..]`.
type Row = (
    &'static str,
    Result<(&'static str, &'static str, &'static str), (&'static str, &'static str)>,
);

const PHRASES: &[Row] = &[
    (
        "Mon/Wed/Fri 7am",
        Ok(("", "2026-11-27 07:00", "WEEKLY;BYDAY=MO,WE,FR")),
    ),
    (
        "gym mon & wed and fri at 7am",
        Ok(("gym", "2026-11-27 07:00", "WEEKLY;BYDAY=MO,WE,FR")),
    ),
    (
        "mon&thu 18:00",
        Ok(("", "2026-11-26 18:00", "WEEKLY;BYDAY=MO,TH")),
    ),
    (
        "9am PST tomorrow",
        Ok(("", "2026-11-26 09:00 America/Los_Angeles", "")),
    ),
    (
        "call 9am america/new_york tomorrow",
        Ok(("call", "2026-11-26 09:00 America/New_York", "")),
    ),
    (
        "standup 9:30 est",
        Ok(("standup", "2026-11-25 09:30 America/New_York", "")),
    ),
    ("standup 9:30 CST friday", Err(("CST", "America/Chicago"))),
    (
        "9am Europe/Atlantis",
        Err(("Europe/Atlantis", "unknown time zone")),
    ),
    (
        "at 9am PST, at 10am CET",
        Err(("CET", "a second time zone")),
    ),
    (
        "quarterly on the 1st",
        Ok(("", "2026-12-01", "MONTHLY;INTERVAL=3;BYMONTHDAY=1")),
    ),
    (
        "every quarter",
        Ok(("", "2026-11-25", "MONTHLY;INTERVAL=3;BYMONTHDAY=25")),
    ),
    (
        "every 2 months",
        Ok(("", "2026-11-25", "MONTHLY;INTERVAL=2;BYMONTHDAY=25")),
    ),
    ("every 3rd day", Ok(("", "2026-11-25", "DAILY;INTERVAL=3"))),
    (
        "every 2nd tuesday",
        Err((
            "2nd",
            "every 2 weeks on tuesday or the 2nd tuesday of each month",
        )),
    ),
    (
        "every 2nd tuesday of the month",
        Ok(("", "2026-12-08", "MONTHLY;BYDAY=2TU")),
    ),
    (
        "every second week",
        Ok(("", "2026-11-25", "WEEKLY;INTERVAL=2;BYDAY=WE")),
    ),
    (
        "yearly on mar 3",
        Ok(("", "2027-03-03", "YEARLY;BYMONTHDAY=3;BYMONTH=3")),
    ),
    (
        "dentist 3/14 at 2pm",
        Ok(("dentist", "2027-03-14 14:00", "")),
    ),
    (
        "dentist 14/3 at 2pm",
        Ok(("dentist", "2027-03-14 14:00", "")),
    ),
    (
        "dentist 14.3. at 14:00",
        Ok(("dentist", "2027-03-14 14:00", "")),
    ),
    (
        "dentist 14.3.2027 at 14:00",
        Ok(("dentist", "2027-03-14 14:00", "")),
    ),
    (
        "dentist 3/14/2027 2pm",
        Ok(("dentist", "2027-03-14 14:00", "")),
    ),
    (
        "dentist 2027-03-14 2pm",
        Ok(("dentist", "2027-03-14 14:00", "")),
    ),
    ("visit 12/24-12/26", Ok(("visit", "2026-12-24", ""))),
    ("4/5 at 2pm", Err(("4/5", "April 5 or 4 May"))),
    ("13/13", Err(("13/13", "no such date"))),
    ("room 1.5 friday", Ok(("room 1.5", "2026-11-27", ""))),
    ("half past nine tomorrow", Ok(("", "2026-11-26 09:30", ""))),
    ("quarter to 10 friday", Ok(("", "2026-11-27 09:45", ""))),
    ("quarter past noon", Ok(("", "2026-11-25 12:15", ""))),
    ("quarter to midnight", Ok(("", "2026-11-25 23:45", ""))),
    ("tea at half past 4", Ok(("tea", "2026-11-25 16:30", ""))),
    ("half past 7 pm friday", Ok(("", "2026-11-27 19:30", ""))),
    (
        "lunch on blursday at noon",
        Err(("blursday", "not a weekday")),
    ),
    ("next blursday", Err(("blursday", "not a weekday"))),
    (
        "party on holiday friday",
        Ok(("party on holiday", "2026-11-27", "")),
    ),
    (
        "retro every other wednesday at 2pm except jan 6",
        Ok(("retro", "2026-11-25 14:00", "WEEKLY;INTERVAL=2;BYDAY=WE")),
    ),
    (
        "retro every other wednesday at 2pm except dec 30",
        Err(("dec", "2026-12-23 and 2027-01-06")),
    ),
    (
        "every monday except dec 29",
        Err(("dec", "2026-12-28 and 2027-01-04")),
    ),
];

/// A rule in the compact form of [`PHRASES`].
fn rule_text(rule: &Recurrence) -> String {
    let frequency = format!("{:?}", rule.frequency).to_uppercase();
    let mut parts = vec![frequency];
    if rule.interval > 1 {
        parts.push(format!("INTERVAL={}", rule.interval));
    }
    let list = |values: Vec<String>| values.join(",");
    if !rule.weekdays.is_empty() {
        let days = rule.weekdays.iter().map(|(n, d)| {
            let n = n.map_or(String::new(), |n| n.to_string());
            format!("{n}{}", d.to_string()[..2].to_uppercase())
        });
        parts.push(format!("BYDAY={}", list(days.collect())));
    }
    if !rule.month_days.is_empty() {
        parts.push(format!(
            "BYMONTHDAY={}",
            list(rule.month_days.iter().map(u8::to_string).collect())
        ));
    }
    if !rule.months.is_empty() {
        parts.push(format!(
            "BYMONTH={}",
            list(rule.months.iter().map(u8::to_string).collect())
        ));
    }
    parts.join(";")
}

/// What [`PHRASES`] says about a schedule.
fn described(schedule: &Schedule) -> (String, String, String) {
    let start = match schedule.when {
        When::Timed { start, .. } => start.format("%Y-%m-%d %H:%M").to_string(),
        When::AllDay { first, .. } => first.to_string(),
    };
    let start = if schedule.tz == OSLO {
        start
    } else {
        format!("{start} {}", schedule.tz.name())
    };
    let rule = schedule
        .recurrence
        .as_ref()
        .map(rule_text)
        .unwrap_or_default();
    (schedule.title.clone(), start, rule)
}

#[test]
fn phrases_people_type_read_as_they_mean_or_are_refused_by_name() {
    let mut wrong = Vec::new();
    for &(text, expected) in PHRASES {
        let got = match parse(text, now()) {
            Ok(schedule) => Ok(described(&schedule)),
            Err(error) => Err((error.word, error.reason)),
        };
        let fits = match (&got, expected) {
            (Ok(got), Ok((title, start, rule))) => {
                *got == (title.into(), start.into(), rule.into())
            }
            (Err((word, reason)), Err((want_word, want_reason))) => {
                word == want_word && reason.contains(want_reason)
            }
            _ => false,
        };
        if !fits {
            wrong.push(format!("{text:?}: got {got:?}, want {expected:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} phrases read wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
