//! Reading days: dates, ranges of dates, "tomorrow", weekdays, "first tuesday", "the 15th".

use chrono::NaiveDate;

use super::{Read, Reader};
use crate::calendar::schedule::piece::{DayRef, Item, Piece, Repeat};
use crate::calendar::schedule::words::{
    count, day_number, digit_ordinal, is_conjunction, is_range_word, month_named, weekday_group,
    weekday_named, weekday_ordinal,
};
use crate::calendar::schedule::{Frequency, ScheduleError, lex::is_iso_date};

/// Days in each month, in the longest year.
const MAX_MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Weekdays, each with the index of the token that names it.
type NamedWeekdays = Vec<(chrono::Weekday, usize)>;

/// BYDAY entries: weekdays with an optional ordinal.
type ByDay = Vec<(Option<i8>, chrono::Weekday)>;

impl Reader<'_> {
    /// A date, or a range of dates: "dec 5", "dec 5 to dec 7", "dec 5-7".
    pub(super) fn read_dates(&self, i: usize) -> Read<Piece> {
        let Some((first, next)) = self.read_date(i)? else {
            return Ok(None);
        };
        if !is_range_word(self.word(next)) {
            return Ok(Some((Piece::Day(first), next)));
        }
        if let Some((last, after)) = self.read_date(next + 1)? {
            return Ok(Some((Piece::Days(first, last, next + 1), after)));
        }
        let (DayRef::Date { year, month, .. }, Some(day)) =
            (first, day_number(self.word(next + 1)))
        else {
            return Ok(Some((Piece::Day(first), next)));
        };
        if month_named(self.word(next + 2)).is_some() {
            return Ok(Some((Piece::Day(first), next)));
        }
        self.check_day(next + 1, year, month, day)?;
        Ok(Some((
            Piece::Days(first, DayRef::Date { year, month, day }, next + 1),
            next + 2,
        )))
    }

    /// One calendar date: "2026-12-24", "dec 5", "dec 5 2027", "5 dec", "5th of december".
    pub(super) fn read_date(&self, i: usize) -> Read<DayRef> {
        let word = self.word(i);
        if is_iso_date(word) {
            return self.read_iso_date(i).map(Some);
        }
        if let Some(found) = self.read_numeric_date(i)? {
            return Ok(Some(found));
        }
        if let Some(month) = month_named(word) {
            let Some(day) = day_number(self.word(i + 1)) else {
                return Ok(None);
            };
            return self.finish_date(i + 1, month, day, i + 2).map(Some);
        }
        let Some(day) = day_number(word) else {
            return Ok(None);
        };
        let month_at = if self.word(i + 1) == "of" {
            i + 2
        } else {
            i + 1
        };
        match month_named(self.word(month_at)) {
            Some(month) => self.finish_date(i, month, day, month_at + 1).map(Some),
            None => Ok(None),
        }
    }

    /// "3/14", "14/3", "3/14/2027" (month and day, in the order only one reading allows),
    /// "14.3." and "14.3.2027" (day, then month). "4/5" could be either, and is an error.
    fn read_numeric_date(&self, i: usize) -> Read<DayRef> {
        let word = self.word(i);
        let raw = self.tokens.get(i).map_or("", |token| token.raw.as_str());
        let dotted = !word.contains('/');
        let parts: Vec<&str> = word.split(if dotted { '.' } else { '/' }).collect();
        let digits = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let shaped = matches!(parts.len(), 2 | 3) && parts.iter().all(digits);
        // "1.5" is a number: a date written with dots ends in one ("14.3.") or has a year.
        if !shaped || (dotted && parts.len() == 2 && !raw.ends_with('.')) {
            return Ok(None);
        }
        let number = |part: &str| part.parse::<u32>().ok().filter(|_| part.len() <= 2);
        let year = match parts.get(2) {
            None => None,
            Some(year) => Some(small_year(year).ok_or_else(|| {
                self.error(
                    i,
                    "not a date; write the year in four digits, e.g. 3/14/2027",
                )
            })?),
        };
        let (Some(a), Some(b)) = (number(parts[0]), number(parts[1])) else {
            return Err(self.error(i, "no such date"));
        };
        let is_month = |n: u32| (1..=12).contains(&n);
        let (month, day) = match (dotted, is_month(a), is_month(b)) {
            (true, _, true) => (b, a),
            (false, true, true) if a != b => {
                return Err(self.error(
                    i,
                    format!(
                        "could be {} {b} or {a} {}; write the month's name: \"{} {b}\" or \"{a} {}\"",
                        month_name(a),
                        month_name(b),
                        month_name(a).to_lowercase(),
                        month_name(b).to_lowercase(),
                    ),
                ));
            }
            (false, true, _) => (a, b),
            (false, false, true) => (b, a),
            _ => return Err(self.error(i, "no such date")),
        };
        self.check_day(i, year, month, day)?;
        Ok(Some((DayRef::Date { year, month, day }, i + 1)))
    }

    /// "2026-12-24", which must be a real date.
    fn read_iso_date(&self, i: usize) -> Result<(DayRef, usize), ScheduleError> {
        let parts: Vec<i32> = self
            .word(i)
            .split('-')
            .filter_map(|p| p.parse().ok())
            .collect();
        match parts[..] {
            [year, month, day] if (1..=9999).contains(&year) => {
                let (month, day) = (
                    u32::try_from(month).unwrap_or(0),
                    u32::try_from(day).unwrap_or(0),
                );
                match NaiveDate::from_ymd_opt(year, month, day) {
                    Some(_) => Ok((
                        DayRef::Date {
                            year: Some(year),
                            month,
                            day,
                        },
                        i + 1,
                    )),
                    None => Err(self.error(i, "no such date")),
                }
            }
            _ => Err(self.error(i, "no such date")),
        }
    }

    /// The date `month` `day` (day's token at `day_at`), with a year if one is at `next`.
    fn finish_date(
        &self,
        day_at: usize,
        month: u32,
        day: u32,
        next: usize,
    ) -> Result<(DayRef, usize), ScheduleError> {
        let year = small_year(self.word(next));
        self.check_day(day_at, year, month, day)?;
        let after = if year.is_some() { next + 1 } else { next };
        Ok((DayRef::Date { year, month, day }, after))
    }

    /// Whether `month` has a day `day` (in `year`, or in some year); the error is at `day_at`.
    fn check_day(
        &self,
        day_at: usize,
        year: Option<i32>,
        month: u32,
        day: u32,
    ) -> Result<(), ScheduleError> {
        let exists = match year {
            Some(year) => NaiveDate::from_ymd_opt(year, month, day).is_some(),
            None => {
                day >= 1
                    && MAX_MONTH_DAYS
                        .get(month as usize - 1)
                        .is_some_and(|&max| day <= max)
            }
        };
        if exists {
            Ok(())
        } else {
            Err(self.error(day_at, "no such day in that month"))
        }
    }

    /// Any one day: a date, "today", "tomorrow", "friday", "next friday", "in 3 days".
    pub(super) fn read_day(&self, i: usize) -> Read<DayRef> {
        if let Some(found) = self.read_date(i)? {
            return Ok(Some(found));
        }
        let day = match self.word(i) {
            "today" => DayRef::Today,
            "tonight" => DayRef::Tonight,
            "tomorrow" | "tmrw" => DayRef::Tomorrow,
            "next" | "this" => {
                return Ok(self
                    .read_named_weekday(i)
                    .and_then(|(item, next)| match item.piece {
                        Piece::Day(day) => Some((day, next)),
                        _ => None,
                    }));
            }
            "in" => return Ok(self.read_in_days(i + 1)),
            word => match weekday_named(word) {
                Some((weekday, false)) => DayRef::Weekday {
                    weekday,
                    skip_today: false,
                },
                _ => return Ok(None),
            },
        };
        Ok(Some((day, i + 1)))
    }

    /// "next friday", "this friday", at the index of "next"/"this".
    pub(super) fn read_named_weekday(&self, i: usize) -> Option<(Item, usize)> {
        let (weekday, false) = weekday_named(self.word(i + 1))? else {
            return None;
        };
        let day = DayRef::Weekday {
            weekday,
            skip_today: self.word(i) == "next",
        };
        Some((
            Item {
                piece: Piece::Day(day),
                at: i + 1,
            },
            i + 2,
        ))
    }

    /// "3 days", "2 weeks", with `i` after "in".
    pub(super) fn read_in_days(&self, i: usize) -> Option<(DayRef, usize)> {
        let n = count(self.word(i))?;
        let days = match self.word(i + 1) {
            "day" | "days" => n,
            "week" | "weeks" => n.checked_mul(7)?,
            _ => return None,
        };
        Some((DayRef::InDays(days), i + 2))
    }

    /// "monday", "mondays and wednesdays", "weekdays", "mon, wed and fri".
    pub(super) fn read_weekdays(&self, i: usize) -> Option<(NamedWeekdays, bool, usize)> {
        if self.is_ordinary_word(i) {
            return None;
        }
        let mut days = Vec::new();
        let mut plural = false;
        let mut next = i;
        loop {
            let at = if days.is_empty() || !is_conjunction(self.word(next)) {
                next
            } else {
                next + 1
            };
            if let Some(group) = weekday_group(self.word(at)) {
                days.extend(group.iter().map(|&weekday| (weekday, at)));
                plural = true;
            } else if let Some((weekday, is_plural)) = weekday_named(self.word(at)) {
                days.push((weekday, at));
                plural |= is_plural;
            } else {
                break;
            }
            next = at + 1;
        }
        if days.is_empty() {
            None
        } else {
            Some((days, plural, next))
        }
    }

    /// "sun", "sat" and "wed" after "the", "a" or a pronoun are words, not weekdays.
    fn is_ordinary_word(&self, i: usize) -> bool {
        let before = i.checked_sub(1).map_or("", |before| self.word(before));
        matches!(self.word(i), "sun" | "sat" | "wed")
            && matches!(
                before,
                "the" | "a" | "i" | "we" | "you" | "they" | "he" | "she"
            )
    }

    /// "first tuesday", "2nd and 4th thursday", "last friday of the month",
    /// "first monday of september".
    pub(super) fn read_numbered_weekdays(&self, i: usize) -> Option<(Repeat, usize)> {
        let mut weekdays = Vec::new();
        let mut next = i;
        while let Some((group, after)) = self.read_numbered_group(next) {
            weekdays.extend(group);
            next = after;
            if !(is_conjunction(self.word(next)) && weekday_ordinal(self.word(next + 1)).is_some())
            {
                break;
            }
            next += 1;
            if self.read_numbered_group(next).is_none() {
                next -= 1;
                break;
            }
        }
        if weekdays.is_empty() {
            return None;
        }
        let mut repeat = Repeat {
            weekdays,
            ..Repeat::new(Frequency::Monthly)
        };
        next = self.skip_every_month(next);
        if matches!(self.word(next), "of" | "in")
            && let Some(month) = month_named(self.word(next + 1))
        {
            repeat.frequency = Frequency::Yearly;
            repeat.months.push(month as u8);
            next += 2;
        }
        Some((repeat, next))
    }

    /// "2nd and 4th thursday": ordinals joined by "and", then one weekday.
    fn read_numbered_group(&self, i: usize) -> Option<(ByDay, usize)> {
        let mut ordinals = vec![weekday_ordinal(self.word(i))?];
        let mut next = i + 1;
        while is_conjunction(self.word(next)) {
            let Some(ordinal) = weekday_ordinal(self.word(next + 1)) else {
                break;
            };
            ordinals.push(ordinal);
            next += 2;
        }
        let (weekday, _) = weekday_named(self.word(next))?;
        Some((
            ordinals.into_iter().map(|n| (Some(n), weekday)).collect(),
            next + 1,
        ))
    }

    /// Skips "of the month", "of every month", "each month", "a month" at `i`.
    fn skip_every_month(&self, i: usize) -> usize {
        let start = if self.word(i) == "of" { i + 1 } else { i };
        if matches!(self.word(start), "the" | "every" | "each" | "a")
            && matches!(self.word(start + 1), "month" | "months")
        {
            start + 2
        } else {
            i
        }
    }

    /// "15th", "1st and 15th", "15th of every month", "first of the month". Without "the",
    /// "on" or "every" before it (`introduced`) the list must end in "of every month" or the
    /// like: "2nd floor" is not a schedule.
    pub(super) fn read_month_days(&self, i: usize, introduced: bool) -> Read<Repeat> {
        let first = match (digit_ordinal(self.word(i)), weekday_ordinal(self.word(i))) {
            (Some(day), _) => day,
            (None, Some(n @ 1..=5)) if self.skip_every_month(i + 1) > i + 1 => {
                u32::from(n.unsigned_abs())
            }
            _ => return Ok(None),
        };
        let mut days = vec![(first, i)];
        let mut next = i + 1;
        loop {
            let mut at = next + 1;
            if self.word(at) == "the" {
                at += 1;
            }
            match digit_ordinal(self.word(at)) {
                Some(day) if is_conjunction(self.word(next)) => days.push((day, at)),
                _ => break,
            }
            next = at + 1;
        }
        let after = self.skip_every_month(next);
        if !introduced && after == next {
            return Ok(None);
        }
        let month_days = days
            .into_iter()
            .map(|(day, at)| self.month_day(at, day))
            .collect::<Result<_, _>>()?;
        let repeat = Repeat {
            month_days,
            ..Repeat::new(Frequency::Monthly)
        };
        Ok(Some((repeat, after)))
    }

    /// `day` as a BYMONTHDAY (token `i`).
    fn month_day(&self, i: usize, day: u32) -> Result<u8, ScheduleError> {
        match u8::try_from(day) {
            Ok(day @ 1..=31) => Ok(day),
            _ => Err(self.error(i, "no such day of the month; use 1st to 31st")),
        }
    }
}

/// "April" for 4.
fn month_name(month: u32) -> &'static str {
    u8::try_from(month)
        .ok()
        .and_then(|month| chrono::Month::try_from(month).ok())
        .map_or("", |month| month.name())
}

/// A four-digit year from 1900 to 2199.
fn small_year(word: &str) -> Option<i32> {
    if word.len() != 4 || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse()
        .ok()
        .filter(|year| (1900..=2199).contains(year))
}
