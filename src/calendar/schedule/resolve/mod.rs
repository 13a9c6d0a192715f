//! Resolving: pieces → dates and times against `now`. Pieces are gathered by kind, checked for
//! conflicts, and filled in: a one-time event here, a repeating one in `recur`.

mod recur;

#[cfg(test)]
pub(super) use recur::occurs_on;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::lex::Token;
use super::piece::{Clock, DayRef, Item, Length, Limit, Meridiem, Piece, Repeat, Span};
use super::{Frequency, Recurrence, ScheduleError, When, no_schedule};

/// The first occurrence, the rule and the exceptions of a schedule.
type Resolved = (When, Option<Recurrence>, Vec<NaiveDate>);

/// Resolves the pieces read from `tokens` (the words of `text`) against `now`.
pub(super) fn resolve(
    text: &str,
    tokens: &[Token],
    now: NaiveDateTime,
    items: Vec<Item>,
) -> Result<Resolved, ScheduleError> {
    Resolver { text, tokens, now }.resolve(items)
}

/// A day or range of days named in the text.
#[derive(Debug, Clone, Copy)]
enum Mention {
    One(DayRef),
    /// First, last, and the last day's token.
    Range(DayRef, DayRef, usize),
}

/// How a timed event ends.
#[derive(Debug, Clone, Copy)]
enum Ends {
    At(NaiveTime),
    After(i64),
}

/// The pieces sorted by kind, each with the token it is reported at.
#[derive(Debug, Default)]
struct Gathered {
    days: Vec<(Mention, usize)>,
    span: Option<(Span, usize)>,
    length: Option<(Length, usize)>,
    repeat: Option<(Repeat, usize)>,
    start: Option<(DayRef, usize)>,
    until: Option<(Limit, usize)>,
    except: Vec<(DayRef, usize)>,
    except_at: Option<usize>,
}

/// Resolves pieces against `now`; errors name the tokens of `text` they are reported at.
struct Resolver<'a> {
    text: &'a str,
    tokens: &'a [Token],
    now: NaiveDateTime,
}

impl Resolver<'_> {
    /// The error at token `i` (the whole text when there is no such token).
    fn error(&self, i: usize, reason: impl Into<String>) -> ScheduleError {
        match self.tokens.get(i) {
            Some(token) => token.error(reason),
            None => no_schedule(self.text),
        }
    }

    /// The error for a date past what the calendar can hold, at token `i`.
    fn out_of_range(&self, i: usize) -> ScheduleError {
        self.error(i, "the date is beyond the calendar's range")
    }

    /// The first occurrence, rule and exceptions the pieces describe.
    fn resolve(&self, items: Vec<Item>) -> Result<Resolved, ScheduleError> {
        let mut gathered = self.gather(items)?;
        let evening = gathered
            .days
            .iter()
            .any(|(day, _)| matches!(day, Mention::One(DayRef::Tonight)));
        let timing = self.timing(&gathered, evening)?;
        match gathered.repeat.take() {
            Some(repeat) => self.recurring(gathered, repeat, timing),
            None => self.single(gathered, timing),
        }
    }

    /// The pieces sorted by kind; a second time, length, start or end is an error.
    fn gather(&self, items: Vec<Item>) -> Result<Gathered, ScheduleError> {
        let mut gathered = Gathered::default();
        for Item { piece, at } in items {
            match piece {
                Piece::Day(day) => gathered.days.push((Mention::One(day), at)),
                Piece::Days(first, last, last_at) => gathered
                    .days
                    .push((Mention::Range(first, last, last_at), at)),
                // A list of weekdays ("mon/wed/fri") can only mean a repeat: a one-time event
                // happens on one day.
                Piece::Weekdays(days, plural) if plural || days.len() > 1 => {
                    let weekdays = days
                        .into_iter()
                        .map(|(weekday, _)| (None, weekday))
                        .collect();
                    self.merge_repeat(
                        &mut gathered.repeat,
                        Repeat {
                            weekdays,
                            ..Repeat::new(Frequency::Weekly)
                        },
                        at,
                    )?;
                }
                Piece::Weekdays(days, _) => {
                    gathered.days.extend(days.into_iter().map(|(weekday, at)| {
                        (
                            Mention::One(DayRef::Weekday {
                                weekday,
                                skip_today: false,
                            }),
                            at,
                        )
                    }))
                }
                Piece::Span(span) => self.set_once(&mut gathered.span, span, at, "time")?,
                Piece::Length(length) => {
                    self.set_once(&mut gathered.length, length, at, "length")?
                }
                Piece::Repeat(repeat) => self.merge_repeat(&mut gathered.repeat, repeat, at)?,
                Piece::Start(day) => self.set_once(&mut gathered.start, day, at, "start")?,
                Piece::Until(limit) => self.set_once(&mut gathered.until, limit, at, "end")?,
                Piece::Except(days) => {
                    gathered.except.extend(days);
                    gathered.except_at.get_or_insert(at);
                }
                // Taken out before resolving (`zone::take_zone`): it decides what now is.
                Piece::Zone(_) => {}
            }
        }
        Ok(gathered)
    }

    /// Fills `slot` with `value` (a `what`, at token `at`), unless it is already full.
    fn set_once<T>(
        &self,
        slot: &mut Option<(T, usize)>,
        value: T,
        at: usize,
        what: &str,
    ) -> Result<(), ScheduleError> {
        if slot.is_some() {
            return Err(self.error(at, format!("a second {what}; the schedule already has one")));
        }
        *slot = Some((value, at));
        Ok(())
    }

    /// Adds a repeat to the one already read, if they fit together ("every week" "on tuesday").
    fn merge_repeat(
        &self,
        slot: &mut Option<(Repeat, usize)>,
        new: Repeat,
        at: usize,
    ) -> Result<(), ScheduleError> {
        let Some((old, _)) = slot else {
            *slot = Some((new, at));
            return Ok(());
        };
        if old.frequency != new.frequency {
            return Err(self.error(at, "does not fit the repeat before it"));
        }
        if new.interval != 1 {
            if old.interval != 1 && old.interval != new.interval {
                return Err(self.error(at, "a second interval; the repeat already has one"));
            }
            old.interval = new.interval;
        }
        old.weekdays.extend(new.weekdays);
        old.month_days.extend(new.month_days);
        old.months.extend(new.months);
        Ok(())
    }

    /// The start time of day and how the event ends, if it has a time.
    fn timing(
        &self,
        gathered: &Gathered,
        evening: bool,
    ) -> Result<Option<(NaiveTime, Ends)>, ScheduleError> {
        let Some((span, _)) = gathered.span else {
            return match gathered.length {
                Some((Length::Minutes(_), at)) => Err(self.error(
                    at,
                    "a length needs a start time; write e.g. \"3pm for 2 hours\"",
                )),
                _ => Ok(None),
            };
        };
        let start = start_time(&span, evening);
        let ends = match (span.end, gathered.length) {
            (Some(_), Some((_, at))) => {
                return Err(self.error(at, "a second end; the time already has one"));
            }
            (Some((clock, at)), None) => {
                let end = end_time(&clock, start);
                if end == start {
                    return Err(self.error(at, "ends when it starts"));
                }
                Ends::At(end)
            }
            (None, Some((Length::Minutes(minutes), _))) => Ends::After(minutes),
            (None, Some((Length::Days(_), at))) => {
                return Err(self.error(at, "days are for all-day events; give hours or minutes"));
            }
            (None, None) => Ends::After(60),
        };
        Ok(Some((start, ends)))
    }

    /// A one-time event: one day or a range of days, with or without a time.
    fn single(
        &self,
        gathered: Gathered,
        timing: Option<(NaiveTime, Ends)>,
    ) -> Result<Resolved, ScheduleError> {
        if let Some((_, at)) = gathered.until {
            return Err(self.error(
                at,
                "only a repeating event has an end date; write e.g. \"every monday until march\"",
            ));
        }
        if let Some(at) = gathered.except_at {
            return Err(self.error(
                at,
                "only a repeating event has exceptions; write e.g. \"every day except dec 25\"",
            ));
        }
        let mut days = gathered.days;
        days.extend(gathered.start.map(|(day, at)| (Mention::One(day), at)));
        days.sort_by_key(|&(_, at)| at);
        if let Some(&(_, at)) = days.get(1) {
            return Err(self.error(at, "a second day; the schedule already has one"));
        }
        let today = self.now.date();
        let when = match (days.first().copied(), timing) {
            (None, None) => return Err(no_schedule(self.text)),
            (None, Some((start, ends))) => {
                let date = if start >= self.now.time() {
                    Some(today)
                } else {
                    today.succ_opt()
                };
                let date = date.ok_or_else(|| self.out_of_range(0))?;
                self.timed(date, start, ends, 0)?
            }
            (Some((Mention::One(day), at)), Some((start, ends))) => {
                let date = self.resolve_day(day, today, Some(start), at)?;
                self.timed(date, start, ends, at)?
            }
            (Some((Mention::One(day), at)), None) => {
                let first = self.resolve_day(day, today, None, at)?;
                let last = match gathered.length {
                    Some((Length::Days(n), length_at)) => first
                        .checked_add_days(Days::new(u64::from(n) - 1))
                        .ok_or_else(|| self.out_of_range(length_at))?,
                    _ => first,
                };
                When::AllDay { first, last }
            }
            (Some((Mention::Range(first, last, last_at), at)), None) => {
                if let Some((_, length_at)) = gathered.length {
                    return Err(
                        self.error(length_at, "a second end; the range of days already has one")
                    );
                }
                let first = self.resolve_day(first, today, None, at)?;
                let last = self.resolve_day(last, first, None, last_at)?;
                if last < first {
                    return Err(self.error(last_at, "ends before it starts"));
                }
                When::AllDay { first, last }
            }
            (Some((Mention::Range(..), _)), Some(_)) => {
                let at = gathered.span.map_or(0, |(_, at)| at);
                return Err(self.error(at, "a time needs one day; for each day write e.g. \"every day 9am from dec 5 to dec 7\""));
            }
        };
        Ok((when, None, Vec::new()))
    }

    /// The date a day names: dates without a year on or after `anchor`, relative words from
    /// today; a weekday skips today when `time` has passed.
    fn resolve_day(
        &self,
        day: DayRef,
        anchor: NaiveDate,
        time: Option<NaiveTime>,
        at: usize,
    ) -> Result<NaiveDate, ScheduleError> {
        let today = self.now.date();
        let date = match day {
            DayRef::Date {
                year: Some(year),
                month,
                day,
            } => NaiveDate::from_ymd_opt(year, month, day),
            DayRef::Date {
                year: None,
                month,
                day,
            } => next_date(month, day, anchor),
            DayRef::Today | DayRef::Tonight => Some(today),
            DayRef::Tomorrow => today.succ_opt(),
            DayRef::InDays(n) => today.checked_add_days(Days::new(u64::from(n))),
            DayRef::Weekday {
                weekday,
                skip_today,
            } => {
                let ahead = (weekday.num_days_from_monday() + 7
                    - today.weekday().num_days_from_monday())
                    % 7;
                let passed = time.is_some_and(|time| time < self.now.time());
                let ahead = if ahead == 0 && (skip_today || passed) {
                    7
                } else {
                    ahead
                };
                today.checked_add_days(Days::new(u64::from(ahead)))
            }
        };
        date.ok_or_else(|| self.out_of_range(at))
    }

    /// The timed occurrence on `date` starting at `start` (reported at token `at`).
    fn timed(
        &self,
        date: NaiveDate,
        start: NaiveTime,
        ends: Ends,
        at: usize,
    ) -> Result<When, ScheduleError> {
        let start = date.and_time(start);
        let end = match ends {
            Ends::At(time) if time > start.time() => Some(date.and_time(time)),
            Ends::At(time) => date.succ_opt().map(|next| next.and_time(time)),
            Ends::After(minutes) => {
                TimeDelta::try_minutes(minutes).and_then(|length| start.checked_add_signed(length))
            }
        };
        let end = end.ok_or_else(|| self.out_of_range(at))?;
        Ok(When::Timed { start, end })
    }
}

/// The first `month`/`day` on or after `from` (Feb 29 waits for a leap year).
fn next_date(month: u32, day: u32, from: NaiveDate) -> Option<NaiveDate> {
    (from.year()..=from.year() + 8)
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .find(|date| *date >= from)
}

/// The start time of a span: an ambiguous hour takes the end's am/pm if that puts it first,
/// else pm after "tonight" or (1–7) after "at".
fn start_time(span: &Span, evening: bool) -> NaiveTime {
    let clock = span.start;
    if !clock.is_ambiguous() {
        return clock.as_written();
    }
    if let Some(meridiem) = span.end.and_then(|(end, _)| end.meridiem) {
        let guess = clock.with_meridiem(meridiem);
        if span.end.is_some_and(|(end, _)| guess < end.as_written()) {
            return guess;
        }
    }
    let pm = (evening && clock.hour <= 11) || (span.after_at && clock.hour <= 7);
    if pm {
        clock.with_meridiem(Meridiem::Pm)
    } else {
        clock.as_written()
    }
}

/// The end's time: an end without am/pm is the first of its readings after `start`.
fn end_time(clock: &Clock, start: NaiveTime) -> NaiveTime {
    if !clock.is_ambiguous() {
        return clock.as_written();
    }
    let mut readings = [
        clock.with_meridiem(Meridiem::Am),
        clock.with_meridiem(Meridiem::Pm),
    ];
    readings.sort();
    readings
        .into_iter()
        .find(|&time| time > start)
        .unwrap_or(readings[0])
}
