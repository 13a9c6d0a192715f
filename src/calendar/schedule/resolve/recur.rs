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
        let anchor = search.first().ok_or_else(not_found)?;
        if let Some((limit, at)) = until {
            rule.until = Some(self.resolve_limit(limit, anchor, at)?);
        }
        let series = Series {
            rule: &rule,
            anchor,
        };
        let mut exceptions = Vec::new();
        for &(day, at) in &gathered.except {
            let date = self.resolve_day(day, anchor, None, at)?;
            if !series.contains(date) {
                return Err(self.error(at, series.not_an_occurrence(date)));
            }
            exceptions.push(date);
        }
        exceptions.sort();
        exceptions.dedup();
        let Some(first) = series.after(anchor, &exceptions) else {
            let at = gathered.except_at.unwrap_or(repeat_at);
            return Err(self.error(
                at,
                "no occurrence is left once the exceptions are taken out",
            ));
        };
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
    /// The first date that matches the rule and starts in time.
    fn first(&self) -> Option<NaiveDate> {
        let starts_in_time = |date: NaiveDate| match self.timing {
            Some((time, _)) => date.and_time(time) >= self.from,
            None => true,
        };
        self.from
            .date()
            .iter_days()
            .take(SEARCH_DAYS)
            .find(|&date| occurs_on(self.rule, date) && starts_in_time(date))
    }
}

/// The occurrences of a rule from its first one, `anchor`: the interval counts from there, as
/// an RRULE's counts from DTSTART.
struct Series<'a> {
    rule: &'a Recurrence,
    anchor: NaiveDate,
}

impl Series<'_> {
    /// Whether an occurrence falls on `date`.
    fn contains(&self, date: NaiveDate) -> bool {
        date >= self.anchor
            && self.rule.until.is_none_or(|until| date <= until)
            && occurs_on(self.rule, date)
            && periods_between(self.rule.frequency, self.anchor, date)
                % i64::from(self.rule.interval)
                == 0
    }

    /// The first occurrence on or after `from` that is not among `exceptions`.
    fn after(&self, from: NaiveDate, exceptions: &[NaiveDate]) -> Option<NaiveDate> {
        from.iter_days()
            .take(SEARCH_DAYS)
            .find(|date| self.contains(*date) && !exceptions.contains(date))
    }

    /// The last occurrence before `date`.
    fn before(&self, date: NaiveDate) -> Option<NaiveDate> {
        date.pred_opt()?
            .iter_days()
            .rev()
            .take(SEARCH_DAYS)
            .take_while(|day| *day >= self.anchor)
            .find(|day| self.contains(*day))
    }

    /// Why `date` cannot be an exception: it is no occurrence; names the nearest ones.
    fn not_an_occurrence(&self, date: NaiveDate) -> String {
        let nearest: Vec<String> = [
            self.before(date),
            date.succ_opt().and_then(|d| self.after(d, &[])),
        ]
        .into_iter()
        .flatten()
        .map(|day| day.to_string())
        .collect();
        let nearest = match nearest.len() {
            0 => "it has none left".to_string(),
            1 => format!("the nearest is {}", nearest[0]),
            _ => format!("the nearest are {} and {}", nearest[0], nearest[1]),
        };
        format!("{date} is not one of the repeat's days ({nearest}); nothing to leave out")
    }
}

/// How many days, weeks (Monday to Sunday), months or years of `frequency` lie between the
/// ones holding `from` and `to`.
fn periods_between(frequency: Frequency, from: NaiveDate, to: NaiveDate) -> i64 {
    let months = |date: NaiveDate| i64::from(date.year()) * 12 + i64::from(date.month0());
    match frequency {
        Frequency::Daily => (to - from).num_days(),
        Frequency::Weekly => {
            let monday = |date: NaiveDate| {
                date - Days::new(u64::from(date.weekday().num_days_from_monday()))
            };
            (monday(to) - monday(from)).num_days() / 7
        }
        Frequency::Monthly => months(to) - months(from),
        Frequency::Yearly => i64::from(to.year() - from.year()),
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
