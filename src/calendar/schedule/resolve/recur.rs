//! Repeats: the rule a repeat and its bounds make, and the first date that matches it.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime};

use super::{Ends, Gathered, Mention, Resolved, Resolver};
use crate::calendar::schedule::piece::{DayRef, Length, Limit, Repeat};
use crate::calendar::schedule::{Frequency, Recurrence, ScheduleError, When};

/// How far ahead to look for a first occurrence: Feb 29 comes back within 8 years.
const SEARCH_DAYS: usize = 366 * 9;

impl Resolver<'_> {
    /// A repeating event: the rule, its first occurrence at or after the start date and now,
    /// its end and its exceptions.
    pub(super) fn recurring(
        &self,
        gathered: Gathered,
        repeat: (Repeat, usize),
        timing: Option<(NaiveTime, Ends)>,
    ) -> Result<Resolved, ScheduleError> {
        let (mut repeat, repeat_at) = repeat;
        if let Some((Length::Days(_), at)) = gathered.length {
            return Err(self.error(
                at,
                "a repeat's days are not a length; write e.g. \"until dec 7\"",
            ));
        }
        let mut start = gathered.start;
        let mut until = gathered.until;
        for (mention, at) in gathered.days {
            match mention {
                Mention::One(DayRef::Weekday {
                    weekday,
                    skip_today: false,
                }) => {
                    if repeat.frequency != Frequency::Weekly {
                        return Err(self.error(at, "a weekday does not fit this repeat"));
                    }
                    repeat.weekdays.push((None, weekday));
                }
                Mention::One(DayRef::Date {
                    year: None,
                    month,
                    day,
                }) if repeat.frequency == Frequency::Yearly && repeat.months.is_empty() => {
                    repeat.months.push(month as u8);
                    repeat.month_days.push(day as u8);
                }
                Mention::One(day) => self.set_once(&mut start, day, at, "start")?,
                Mention::Range(first, last, last_at) => {
                    self.set_once(&mut start, first, at, "start")?;
                    self.set_once(&mut until, Limit::Date(last), last_at, "end")?;
                }
            }
        }
        let today = self.now.date();
        let start_date = match start {
            Some((day, at)) => self.resolve_day(day, today, timing.map(|(time, _)| time), at)?,
            None => today,
        };
        let mut rule = self.complete_rule(repeat, repeat_at, start_date)?;
        let search = Search {
            rule: &rule,
            timing,
            from: self.now.max(start_date.and_time(NaiveTime::MIN)),
        };
        let not_found = || self.error(repeat_at, "no date matches this repeat");
        let anchor = search.first(&[]).ok_or_else(not_found)?;
        let limit = match until {
            Some((limit, at)) => Some((self.resolve_limit(limit, anchor, at)?, at)),
            None => None,
        };
        let mut exceptions = Vec::new();
        for &(day, at) in &gathered.except {
            exceptions.push(self.resolve_day(day, anchor, None, at)?);
        }
        exceptions.sort();
        exceptions.dedup();
        let first = search.first(&exceptions).ok_or_else(not_found)?;
        if let Some((until, at)) = limit {
            if first > until {
                let at = if first == anchor {
                    at
                } else {
                    gathered.except_at.unwrap_or(at)
                };
                return Err(self.error(at, "no occurrence is left before the end"));
            }
            rule.until = Some(until);
        }
        let when = match timing {
            Some((start, ends)) => self.timed(first, start, ends, repeat_at)?,
            None => When::AllDay { first, last: first },
        };
        Ok((when, Some(rule), exceptions))
    }

    /// The RRULE parts: the repeat with what it leaves open taken from the start date.
    fn complete_rule(
        &self,
        repeat: Repeat,
        at: usize,
        start: NaiveDate,
    ) -> Result<Recurrence, ScheduleError> {
        let Repeat {
            frequency,
            interval,
            mut weekdays,
            mut month_days,
            mut months,
        } = repeat;
        let by_day_of_month = frequency == Frequency::Monthly || frequency == Frequency::Yearly;
        if by_day_of_month && !weekdays.is_empty() && !month_days.is_empty() {
            return Err(self.error(
                at,
                "a day of the month and a numbered weekday cannot be combined",
            ));
        }
        match frequency {
            Frequency::Daily => {}
            Frequency::Weekly if weekdays.is_empty() => weekdays.push((None, start.weekday())),
            Frequency::Weekly => {
                weekdays.sort_by_key(|&(_, weekday)| weekday.num_days_from_monday())
            }
            Frequency::Monthly | Frequency::Yearly => {
                if frequency == Frequency::Yearly && months.is_empty() {
                    months.push(start.month() as u8);
                }
                if weekdays.is_empty() && month_days.is_empty() {
                    month_days.push(start.day() as u8);
                }
            }
        }
        dedup_keeping_order(&mut weekdays);
        month_days.sort_unstable();
        month_days.dedup();
        months.sort_unstable();
        months.dedup();
        Ok(Recurrence {
            frequency,
            interval,
            weekdays,
            month_days,
            months,
            until: None,
        })
    }

    /// The last day of a repeat: a date on or after `anchor`, or the day before the first of
    /// the next such month after it.
    fn resolve_limit(
        &self,
        limit: Limit,
        anchor: NaiveDate,
        at: usize,
    ) -> Result<NaiveDate, ScheduleError> {
        let until = match limit {
            Limit::Date(day) => self.resolve_day(day, anchor, None, at)?,
            Limit::Month(month) => (anchor.year()..=anchor.year() + 1)
                .filter_map(|year| NaiveDate::from_ymd_opt(year, month, 1))
                .find(|first| *first > anchor)
                .and_then(|first| first.pred_opt())
                .ok_or_else(|| self.out_of_range(at))?,
        };
        if until < anchor {
            return Err(self.error(at, format!("ends before the first occurrence on {anchor}")));
        }
        Ok(until)
    }
}

/// Looks for the first occurrence of a rule at or after `from`.
struct Search<'a> {
    rule: &'a Recurrence,
    timing: Option<(NaiveTime, Ends)>,
    from: NaiveDateTime,
}

impl Search<'_> {
    /// The first date that matches the rule, starts in time and is not among `exceptions`.
    fn first(&self, exceptions: &[NaiveDate]) -> Option<NaiveDate> {
        let starts_in_time = |date: NaiveDate| match self.timing {
            Some((time, _)) => date.and_time(time) >= self.from,
            None => true,
        };
        self.from
            .date()
            .iter_days()
            .take(SEARCH_DAYS)
            .find(|&date| {
                occurs_on(self.rule, date) && starts_in_time(date) && !exceptions.contains(&date)
            })
    }
}

/// Whether `date` matches the rule's BYDAY, BYMONTHDAY and BYMONTH (the interval counts from
/// the first occurrence, so it does not matter for finding it).
pub(in crate::calendar::schedule) fn occurs_on(rule: &Recurrence, date: NaiveDate) -> bool {
    match rule.frequency {
        Frequency::Daily => true,
        Frequency::Weekly => rule
            .weekdays
            .iter()
            .any(|&(_, weekday)| weekday == date.weekday()),
        Frequency::Monthly => matches_day_of_month(rule, date),
        Frequency::Yearly => {
            rule.months.contains(&(date.month() as u8)) && matches_day_of_month(rule, date)
        }
    }
}

/// Whether `date` is one of the rule's days of the month or numbered weekdays.
fn matches_day_of_month(rule: &Recurrence, date: NaiveDate) -> bool {
    rule.month_days.contains(&(date.day() as u8))
        || rule.weekdays.iter().any(|&(nth, weekday)| {
            weekday == date.weekday() && nth.is_some_and(|nth| is_nth_weekday(nth, date))
        })
}

/// Whether `date` is the nth of its weekday in its month (-1: the last).
fn is_nth_weekday(nth: i8, date: NaiveDate) -> bool {
    if nth > 0 {
        (date.day() - 1) / 7 + 1 == u32::from(nth.unsigned_abs())
    } else {
        date.checked_add_days(Days::new(7))
            .is_none_or(|week_later| week_later.month() != date.month())
    }
}

/// Removes repeated items, keeping the first of each.
fn dedup_keeping_order<T: PartialEq + Copy>(items: &mut Vec<T>) {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for &item in items.iter() {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    *items = kept;
}
