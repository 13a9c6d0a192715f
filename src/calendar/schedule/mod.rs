//! Schedules written the way people write them: "dec 5 9:30am", "tomorrow at noon for 2 hours",
//! "javascript study group thursdays at 7 pm", "every other friday at 4pm until march".
//!
//! [`parse`] reads such text against `now` (a wall-clock time in the user's zone) and returns a
//! [`Schedule`]: a title, the first occurrence ([`When`]) and, for a repeating event, a
//! [`Recurrence`] whose fields mean what the RFC 5545 RRULE parts of the same names mean. It is a
//! pure function and never panics on its input; text it cannot read is a [`ScheduleError`] that
//! names the word and its 1-based character column, never a silent guess.
//!
//! # Rules
//!
//! **Words.** Matching ignores case, extra spaces, commas and semicolons, and a trailing "." on
//! a word ("dec.", "p.m."). Months are written in full, in three letters, or as "sept"; a month
//! name without a day ("I may come") is an ordinary word. Weekdays are written in full or
//! abbreviated ("tue", "tues", "thu", "thurs"); "sun", "sat" and "wed" right after "the", "a" or
//! a pronoun ("in the sun", "we sat") are ordinary words.
//!
//! **Title.** Text in quotes ("…", '…', “…”, ‘…’) is the title, and nothing inside the quotes is
//! read as schedule. Without quotes the title is the words that are not schedule, joined by single
//! spaces in their original case; words without a letter or digit (a lone "-") are dropped. "at",
//! "on", "the", "from", "for", "in", "next" and "this" followed by something that is not schedule
//! stay in the title ("meet at the office friday 3pm" → "meet at the office"), and so does
//! "each" not followed by a repeat. A plain number ("room 9") is title, but a word shaped like a
//! time ("25:00", "13pm") or a date ("2026-02-30") that is not a real one is an error.
//!
//! **Dates.** "dec 5", "5 dec", "december 5th", "5th of december", "dec 5, 2027", "dec 5 2027",
//! "2026-12-24", "3/14", "14/3", "3/14/2027", "14.3.", "14.3.2027", "today", "tonight",
//! "tomorrow", "in 3 days", "in 2 weeks". With slashes, month/day or day/month, whichever alone
//! is a date; "4/5" (either) is an error naming both readings. With dots, day.month, ending in
//! "." or a year ("1.5" is a number). A date without a year
//! is the next such date on or after today (Feb 29: the next leap year's). A weekday ("friday") is
//! the next such day; today counts when there is no time or the start time is at or after now.
//! "next friday" is the same but never today; "this friday" is "friday". A word shaped like a
//! weekday where one belongs ("on blursday", "next blursday") is an error, not title.
//!
//! **All day.** Without a time of day the event is all day: one day, or a range of days ("dec 5
//! to dec 7", "dec 5-7", "dec 5 for 3 days"); a range's end without a year is the next such date
//! on or after its start.
//!
//! **Times.** "9am", "9 am", "9:30", "09:30", "21:00", "7:30 p.m.", "19h", "noon", "midnight",
//! "half past nine", "quarter past 7 pm", "quarter to 10", "quarter to midnight" (read as the
//! time they name would be: "half past 9" as "9:30").
//! A bare number ("9") is a time only after "at", "@" or "from", or as the start of a range whose
//! end is plainly a time ("9-10am"). An hour without am/pm is read on the 24-hour clock, except:
//! an hour 1–7 without a leading zero after "at", "@" or "from" is pm ("at 7" → 19:00), and
//! after "tonight" any hour 1–11 is pm. A time without a date is today if it is at or after now,
//! else tomorrow.
//!
//! **Zones.** A zone right after a time ("9am PST", "9:30 Europe/Oslo") is the schedule's zone
//! ([`Schedule::tz`]), and `now` is read in it. IANA names are read in any case; abbreviations
//! from a small table of unambiguous ones (see `zone`), each naming a zone, not an offset;
//! ambiguous ones ("CST") are an error naming their readings.
//!
//! **Ends.** "3pm to 5pm", "9am-5pm", "18:00-22:00", "from 3 to 5pm", "9-10am": when the start has
//! no am/pm and the end has, the end's am/pm applies to the start if that puts the start before
//! the end. An end without am/pm is the first of h or h+12 after the start. An end at or before
//! the start is on the next day ("10pm to 2am"). Or a length: "for 2 hours", "for 90 minutes",
//! "for 1.5 hours", "for an hour", "for half an hour", "for 2h". With neither, an event lasts
//! one hour.
//!
//! **Repeats.** "every"/"each" (with "other" or a count: "every 2 weeks") followed by "day",
//! "week", "month", "year", weekdays, "weekday", "weekend", a numbered weekday, a day of the
//! month or a month and day; "daily", "weekly", "biweekly", "fortnightly", "monthly", "yearly",
//! "annually", "quarterly" (every 3 months), "every quarter"; "every 3rd day", "every second
//! week" (an ordinal before a unit counts the interval); plural weekdays ("thursdays"), a list of
//! weekdays ("mon/wed/fri", "mon & thu", "mon, wed and fri": a one-time event has one day),
//! "weekdays" (Monday to Friday), "weekends". A
//! numbered weekday ("first tuesday", "2nd and 4th thursday", "last friday of the month") or a
//! day of the month after "the", "on" or "every" ("the 15th", "on the 1st and 15th", "every
//! 15th"), or before "of every month" ("15th of every month", "first of the month"), repeats
//! monthly; "every oct 31st" and "every year on march 3" repeat yearly, and
//! so does a numbered weekday "of september". "every 2nd tuesday" alone (every 2 weeks, or the
//! 2nd of the month?) is an error naming both readings; "first" and "last" are not ambiguous. Repeats more often than daily are not supported.
//! Weekly weekdays are listed Monday first.
//!
//! **Filling a repeat in.** The start date is the date after "starting", "beginning" or "from", or
//! a plain date in the text, else today; a range of days ("from jan 15 to feb 10") gives the start
//! and the end. A weekly repeat with no weekday takes the start date's
//! weekday, a monthly one with no day its day of the month, a yearly one with no date its month
//! and day. The first occurrence ([`Schedule::when`]) is the first date that matches the rule at
//! or after the later of now and the start date, and is not an exception.
//!
//! **Ends of repeats.** "until DATE" is the last date an occurrence may start on (inclusive);
//! without a year it is the next such date on or after the first occurrence. "until MONTH" runs
//! through the last day before the first of the next such month after the first occurrence: from
//! a first occurrence in November 2026, "until march" ends on 2027-02-28.
//!
//! **Exceptions.** "except dec 25 and jan 1": dates without a year take the year that puts them
//! on or after the first occurrence. Each must be an occurrence (the interval counts from the
//! first one, as an RRULE's from DTSTART); one that is not is an error naming the nearest
//! occurrences. They are sorted and deduplicated.
//!
//! **Conflicts.** Two days ("tomorrow friday"), two times, two lengths, two starts or two ends
//! are an error at the second one, and so are parts that do not fit together: a weekday in a
//! daily repeat, a time with a range of days, "until" or "except" without a repeat.

//!
//! # Layout
//!
//! Text goes through three stages, each in its own module: `lex` splits it into words with
//! their columns and sets quoted titles aside; `read` turns words into pieces of schedule
//! (`piece`: a day, a time span, a length, a repeat, ...) using the vocabulary in `words`;
//! `resolve` fills the pieces in against `now` into dates, times and a recurrence rule.

mod lex;
mod piece;
mod read;
mod resolve;
mod words;
mod zone;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Weekday};
use chrono_tz::Tz;

use lex::Scanned;

/// A schedule read from text by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Quoted text if present, else the words that were not schedule, joined by single spaces
    /// (original case kept). Empty string when there are none.
    pub title: String,
    /// The zone its times are in: the one written in the text ("9am PST"), else `now`'s.
    pub tz: Tz,
    /// The first occurrence (for a recurrence: the first one that matches the rule at or after
    /// max(now, the "starting" date)).
    pub when: When,
    /// How the event repeats; `None` for a one-time event.
    pub recurrence: Option<Recurrence>,
    /// Dates whose occurrence is cancelled ("except dec 25"), sorted, deduplicated.
    pub exceptions: Vec<NaiveDate>,
}

/// When an occurrence takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A date without a time of day: an all-day event over `first..=last` (last == first for one day).
    AllDay {
        /// The first day.
        first: NaiveDate,
        /// The last day (inclusive).
        last: NaiveDate,
    },
    /// Wall-clock start and end in the user's zone; end > start, end may be on a later day
    /// ("10pm to 2am"). No end or duration given: end = start + 1 hour.
    Timed {
        /// The start.
        start: NaiveDateTime,
        /// The end, after the start.
        end: NaiveDateTime,
    },
}

/// How an event repeats, with the meaning of the RFC 5545 RRULE parts of the same names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// FREQ.
    pub frequency: Frequency,
    /// 1 = every, 2 = "every other", n = "every n weeks".
    pub interval: u32,
    /// BYDAY: weekdays, each with an optional ordinal (1..=5, or -1 for "last"), ordinals only with Monthly.
    pub weekdays: Vec<(Option<i8>, Weekday)>,
    /// BYMONTHDAY (1..=31): "the 15th".
    pub month_days: Vec<u8>,
    /// BYMONTH (1..=12): "every oct 31st" is Yearly with months `[10]` and month_days `[31]`.
    pub months: Vec<u8>,
    /// Last date an occurrence may start on, inclusive.
    pub until: Option<NaiveDate>,
}

/// FREQ of a [`Recurrence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Every day (or every n days).
    Daily,
    /// Every week on the given weekdays.
    Weekly,
    /// Every month on the given days of the month or numbered weekdays.
    Monthly,
    /// Every year in the given months.
    Yearly,
}

/// Text that cannot be read: names the word and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {word:?} at character {column}: {reason}")]
pub struct ScheduleError {
    /// The word as written.
    pub word: String,
    /// 1-based char index of the word.
    pub column: usize,
    /// Why it cannot be read, and what would work.
    pub reason: String,
}

/// Parses `text` as a schedule, resolving relative words ("tomorrow", "friday") against `now`
/// in the zone the text names, else in `now`'s zone. Never mutates anything; pure function.
pub fn parse(text: &str, now: DateTime<Tz>) -> Result<Schedule, ScheduleError> {
    let scanned = lex::scan(text);
    let (items, title_words) = read::read(&scanned.tokens)?;
    let (zone, items) = zone::take_zone(&scanned.tokens, items)?;
    if items.is_empty() {
        return Err(no_schedule(text));
    }
    let tz = zone.unwrap_or(now.timezone());
    let now = now.with_timezone(&tz).naive_local();
    let (when, recurrence, exceptions) = resolve::resolve(text, &scanned.tokens, now, items)?;
    Ok(Schedule {
        title: title_of(&scanned, &title_words),
        tz,
        when,
        recurrence,
        exceptions,
    })
}

/// The error for text in which nothing is schedule.
fn no_schedule(text: &str) -> ScheduleError {
    ScheduleError {
        word: text.to_string(),
        column: 1,
        reason: "no date, day or time in it; write e.g. \"friday 3pm\" or \"every monday 9-10am\""
            .to_string(),
    }
}

/// The title: the quoted text, else the words that are not schedule.
fn title_of(scanned: &Scanned, title_words: &[usize]) -> String {
    let quoted = scanned.quoted.join(" ");
    if !quoted.trim().is_empty() {
        return quoted.trim().to_string();
    }
    title_words
        .iter()
        .filter_map(|&i| scanned.tokens.get(i))
        .map(|token| token.raw.as_str())
        .filter(|raw| raw.chars().any(char::is_alphanumeric))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod phrase_tests;
#[cfg(test)]
mod tests;
