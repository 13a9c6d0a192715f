//! Reading: tokens → the schedule pieces they say. Each phrase is read where it starts; a word
//! no phrase starts with is part of the title. Times are read in `clock`, days in `day`, and
//! repeats with their bounds here.

mod clock;
mod day;

use super::lex::Token;
use super::piece::{DayRef, Item, Limit, Piece, Repeat};
use super::words::{
    count, digit_ordinal, is_conjunction, looks_like_weekday, month_named, weekday_ordinal,
};
use super::{Frequency, ScheduleError, zone};

/// What a reading function found at a token, and the index after it.
type Read<T> = Result<Option<(T, usize)>, ScheduleError>;

/// Every piece of schedule in `tokens` in order, and the indexes of the title's tokens.
pub(super) fn read(tokens: &[Token]) -> Result<(Vec<Item>, Vec<usize>), ScheduleError> {
    Reader { tokens }.read()
}

/// Reads phrases from the tokens, each method at a token index.
struct Reader<'a> {
    tokens: &'a [Token],
}

impl Reader<'_> {
    /// The normalized word at `i`, or "" past the end.
    fn word(&self, i: usize) -> &str {
        self.tokens.get(i).map_or("", |token| token.word.as_str())
    }

    /// The zone written at token `i` ("PST", "Europe/Oslo"), if any.
    fn zone_at(&self, i: usize) -> Result<Option<chrono_tz::Tz>, ScheduleError> {
        self.tokens.get(i).map_or(Ok(None), zone::zone_at)
    }

    /// The error at token `i` (the last token when `i` is past the end).
    fn error(&self, i: usize, reason: impl Into<String>) -> ScheduleError {
        match self.tokens.get(i).or(self.tokens.last()) {
            Some(token) => token.error(reason),
            None => ScheduleError {
                word: String::new(),
                column: 1,
                reason: reason.into(),
            },
        }
    }

    /// Every piece of schedule in order, and the indexes of the title's tokens.
    fn read(&self) -> Result<(Vec<Item>, Vec<usize>), ScheduleError> {
        let mut items = Vec::new();
        let mut title = Vec::new();
        let mut i = 0;
        while i < self.tokens.len() {
            match self.phrase_at(i)? {
                Some((item, next)) => {
                    let timed = matches!(item.piece, Piece::Span(_));
                    items.push(item);
                    i = next;
                    if timed && let Some(zone) = self.zone_at(i)? {
                        items.push(Item {
                            piece: Piece::Zone(zone),
                            at: i,
                        });
                        i += 1;
                    }
                }
                None => {
                    title.push(i);
                    i += 1;
                }
            }
        }
        Ok((items, title))
    }

    /// The phrase starting at token `i`, after at most two connecting words ("on the 15th").
    fn phrase_at(&self, i: usize) -> Read<Item> {
        let mut start = i;
        while start < i + 2 && matches!(self.word(start), "on" | "the") {
            start += 1;
        }
        let found = self.keyword_phrase(start)?;
        if found.is_some() {
            return Ok(found);
        }
        let found = self.plain_phrase(start, start > i)?;
        if found.is_none() && start > i {
            self.refuse_made_up_weekday(start)?;
        }
        Ok(found)
    }

    /// "on blursday", "next blursday": a word shaped like a weekday where one belongs is an
    /// error, not part of the title.
    fn refuse_made_up_weekday(&self, i: usize) -> Result<(), ScheduleError> {
        if looks_like_weekday(self.word(i)) {
            return Err(self.error(i, "not a weekday; write monday to sunday, or mon, tue, ..."));
        }
        Ok(())
    }

    /// A phrase led by a keyword: "every", "at", "until", "for", ...
    fn keyword_phrase(&self, i: usize) -> Read<Item> {
        let item = |piece| Item { piece, at: i };
        match self.word(i) {
            "every" => self.read_every(i).map(Some),
            "each" => Ok(self.read_every(i).ok()),
            "daily" | "nightly" => Ok(Some((
                item(Piece::Repeat(Repeat::new(Frequency::Daily))),
                i + 1,
            ))),
            "weekly" => Ok(Some((
                item(Piece::Repeat(Repeat::new(Frequency::Weekly))),
                i + 1,
            ))),
            "biweekly" | "fortnightly" => {
                let repeat = Repeat {
                    interval: 2,
                    ..Repeat::new(Frequency::Weekly)
                };
                Ok(Some((item(Piece::Repeat(repeat)), i + 1)))
            }
            "quarterly" => {
                let repeat = Repeat {
                    interval: 3,
                    ..Repeat::new(Frequency::Monthly)
                };
                Ok(Some((item(Piece::Repeat(repeat)), i + 1)))
            }
            "monthly" => Ok(Some((
                item(Piece::Repeat(Repeat::new(Frequency::Monthly))),
                i + 1,
            ))),
            "yearly" | "annually" => Ok(Some((
                item(Piece::Repeat(Repeat::new(Frequency::Yearly))),
                i + 1,
            ))),
            "today" => Ok(Some((item(Piece::Day(DayRef::Today)), i + 1))),
            "tonight" => Ok(Some((item(Piece::Day(DayRef::Tonight)), i + 1))),
            "tomorrow" | "tmrw" => Ok(Some((item(Piece::Day(DayRef::Tomorrow)), i + 1))),
            "at" | "@" => Ok(self.read_span(i + 1, true)?.map(|(span, next)| {
                (
                    Item {
                        piece: Piece::Span(span),
                        at: i + 1,
                    },
                    next,
                )
            })),
            "from" => self.read_from(i),
            "starting" | "beginning" | "starts" | "begins" | "start" => {
                self.read_start(i).map(Some)
            }
            "until" | "till" | "til" => self.read_until(i).map(Some),
            "through" | "thru" | "ending" => Ok(self.read_until(i).ok()),
            "except" | "excluding" => self.read_except(i).map(Some),
            "for" => Ok(self
                .read_length(i + 1)?
                .map(|(length, next)| (item(Piece::Length(length)), next))),
            "in" => Ok(self
                .read_in_days(i + 1)
                .map(|(day, next)| (item(Piece::Day(day)), next))),
            "next" | "this" => {
                let found = self.read_named_weekday(i);
                if found.is_none() {
                    self.refuse_made_up_weekday(i + 1)?;
                }
                Ok(found)
            }
            _ => Ok(None),
        }
    }

    /// A phrase without a keyword: a date, weekdays, "first tuesday", "the 15th", a time;
    /// `introduced` when "on" or "the" came before it.
    fn plain_phrase(&self, i: usize, introduced: bool) -> Read<Item> {
        if let Some((piece, next)) = self.read_dates(i)? {
            return Ok(Some((Item { piece, at: i }, next)));
        }
        if let Some((days, plural, next)) = self.read_weekdays(i) {
            return Ok(Some((
                Item {
                    piece: Piece::Weekdays(days, plural),
                    at: i,
                },
                next,
            )));
        }
        if let Some((repeat, next)) = self.read_numbered_weekdays(i) {
            return Ok(Some((
                Item {
                    piece: Piece::Repeat(repeat),
                    at: i,
                },
                next,
            )));
        }
        if let Some((repeat, next)) = self.read_month_days(i, introduced)? {
            return Ok(Some((
                Item {
                    piece: Piece::Repeat(repeat),
                    at: i,
                },
                next,
            )));
        }
        Ok(self.read_span(i, false)?.map(|(span, next)| {
            (
                Item {
                    piece: Piece::Span(span),
                    at: i,
                },
                next,
            )
        }))
    }

    /// "every day", "every other friday", "every 2 weeks", "every first monday", "every 15th",
    /// "every oct 31st", at the index of "every".
    fn read_every(&self, i: usize) -> Result<(Item, usize), ScheduleError> {
        let mut next = i + 1;
        let mut interval = 1;
        if self.word(next) == "other" {
            interval = 2;
            next += 1;
        } else if let Some(n) = count(self.word(next)).or_else(|| self.ordinal_interval(next)) {
            if n == 0 || n > 1000 {
                return Err(self.error(next, "repeat every 1 to 1000 days, weeks, months or years"));
            }
            interval = n;
            next += 1;
        }
        if next >= self.tokens.len() {
            return Err(self.error(
                i,
                "says how often but not what; write e.g. \"every monday\"",
            ));
        }
        let (repeat, after) = self.read_every_what(next)?;
        Ok((
            Item {
                piece: Piece::Repeat(Repeat {
                    interval: interval * repeat.interval,
                    ..repeat
                }),
                at: i,
            },
            after,
        ))
    }

    /// "3rd" in "every 3rd day", "second" in "every second week": an ordinal before a unit
    /// counts the interval ("every 3rd of the month" is a day of the month).
    fn ordinal_interval(&self, i: usize) -> Option<u32> {
        let word = self.word(i);
        let n = digit_ordinal(word).or_else(|| {
            weekday_ordinal(word)
                .filter(|&n| n > 0)
                .map(|n| u32::from(n.unsigned_abs()))
        })?;
        let unit = matches!(
            self.word(i + 1),
            "day"
                | "days"
                | "night"
                | "nights"
                | "week"
                | "weeks"
                | "month"
                | "months"
                | "quarter"
                | "quarters"
                | "year"
                | "years"
        );
        (unit && self.word(i + 2) != "of").then_some(n)
    }

    /// "every 2nd tuesday" alone could be every other Tuesday or the second Tuesday of each
    /// month: an error naming both, unless "of the month" (or a month) says which. The numbered
    /// weekdays were read from `i` to `next`.
    fn refuse_every_nth_weekday(
        &self,
        i: usize,
        repeat: &Repeat,
        next: usize,
    ) -> Result<(), ScheduleError> {
        let [(Some(n @ 2..=5), _)] = repeat.weekdays[..] else {
            return Ok(());
        };
        if next != i + 2 {
            return Ok(());
        }
        let day = self.word(i + 1);
        Err(self.error(
            i,
            format!(
                "could be every {n} weeks on {day} or the {} {day} of each month; write \"every {n} weeks on {day}\" or \"{} {day} of the month\"",
                self.word(i),
                self.word(i)
            ),
        ))
    }

    /// What follows "every" (and "other" or a count), at `i`.
    fn read_every_what(&self, i: usize) -> Result<(Repeat, usize), ScheduleError> {
        let unit = match self.word(i) {
            "day" | "days" | "night" | "nights" => Some(Frequency::Daily),
            "week" | "weeks" => Some(Frequency::Weekly),
            "month" | "months" => Some(Frequency::Monthly),
            "quarter" | "quarters" => {
                let repeat = Repeat {
                    interval: 3,
                    ..Repeat::new(Frequency::Monthly)
                };
                return Ok((repeat, i + 1));
            }
            "year" | "years" => Some(Frequency::Yearly),
            "hour" | "hours" | "minute" | "minutes" => {
                return Err(self.error(i, "repeating more often than once a day is not supported"));
            }
            _ => None,
        };
        if let Some(frequency) = unit {
            return Ok((Repeat::new(frequency), i + 1));
        }
        if let Some((days, _, next)) = self.read_weekdays(i) {
            let weekdays = days
                .into_iter()
                .map(|(weekday, _)| (None, weekday))
                .collect();
            return Ok((
                Repeat {
                    weekdays,
                    ..Repeat::new(Frequency::Weekly)
                },
                next,
            ));
        }
        if let Some((repeat, next)) = self.read_numbered_weekdays(i) {
            self.refuse_every_nth_weekday(i, &repeat, next)?;
            return Ok((repeat, next));
        }
        if let Some((DayRef::Date { year, month, day }, next)) = self.read_date(i)? {
            if year.is_some() {
                return Err(self.error(
                    next - 1,
                    "a yearly date takes no year; write e.g. \"every oct 31\"",
                ));
            }
            let repeat = Repeat {
                months: vec![month as u8],
                month_days: vec![day as u8],
                ..Repeat::new(Frequency::Yearly)
            };
            return Ok((repeat, next));
        }
        let at = if self.word(i) == "the" { i + 1 } else { i };
        if let Some(found) = self.read_month_days(at, true)? {
            return Ok(found);
        }
        Err(self.error(i, "not a day, weekday, date, week, month or year"))
    }

    /// "from jan 15", "from dec 5 to dec 7", "from 3 to 5pm", at the index of "from".
    fn read_from(&self, i: usize) -> Read<Item> {
        if let Some((piece, next)) = self.read_dates(i + 1)? {
            let piece = match piece {
                Piece::Day(day) => Piece::Start(day),
                other => other,
            };
            return Ok(Some((Item { piece, at: i + 1 }, next)));
        }
        if let Some((day, next)) = self.read_day(i + 1)? {
            return Ok(Some((
                Item {
                    piece: Piece::Start(day),
                    at: i + 1,
                },
                next,
            )));
        }
        Ok(self.read_span(i + 1, true)?.map(|(span, next)| {
            (
                Item {
                    piece: Piece::Span(span),
                    at: i + 1,
                },
                next,
            )
        }))
    }

    /// "starting jan 15", "beginning tomorrow", "starting at 9am", at the keyword.
    fn read_start(&self, i: usize) -> Result<(Item, usize), ScheduleError> {
        let mut next = i + 1;
        if matches!(self.word(next), "on" | "from") {
            next += 1;
        }
        if let Some((day, after)) = self.read_day(next)? {
            return Ok((
                Item {
                    piece: Piece::Start(day),
                    at: next,
                },
                after,
            ));
        }
        if self.word(next) == "at"
            && let Some((span, after)) = self.read_span(next + 1, true)?
        {
            let item = Item {
                piece: Piece::Span(span),
                at: next + 1,
            };
            return Ok((item, after));
        }
        Err(self.missing(i, next, "not a date; write e.g. \"starting jan 15\""))
    }

    /// "until feb 10", "until 2027-03-01", "until march", at the keyword.
    fn read_until(&self, i: usize) -> Result<(Item, usize), ScheduleError> {
        let next = i + 1;
        if let Some((day, after)) = self.read_day(next)? {
            return Ok((
                Item {
                    piece: Piece::Until(Limit::Date(day)),
                    at: i,
                },
                after,
            ));
        }
        if let Some(month) = month_named(self.word(next)) {
            return Ok((
                Item {
                    piece: Piece::Until(Limit::Month(month)),
                    at: i,
                },
                next + 1,
            ));
        }
        Err(self.missing(
            i,
            next,
            "not a date or month; write e.g. \"until feb 10\" or \"until march\"",
        ))
    }

    /// "except dec 25 and jan 1", at the keyword.
    fn read_except(&self, i: usize) -> Result<(Item, usize), ScheduleError> {
        let mut next = i + 1;
        if matches!(self.word(next), "on" | "for") {
            next += 1;
        }
        let mut days = Vec::new();
        while let Some((day, after)) = self.read_day(next)? {
            days.push((day, next));
            next = after;
            if is_conjunction(self.word(next)) && self.read_day(next + 1)?.is_some() {
                next += 1;
            } else if self.read_date(next)?.is_none() {
                break;
            }
        }
        if days.is_empty() {
            return Err(self.missing(i, next, "not a date; write e.g. \"except dec 25\""));
        }
        Ok((
            Item {
                piece: Piece::Except(days),
                at: i,
            },
            next,
        ))
    }

    /// The error for a keyword at `keyword` whose argument at `i` is missing or unreadable.
    fn missing(&self, keyword: usize, i: usize, reason: &str) -> ScheduleError {
        if i < self.tokens.len() {
            self.error(i, reason)
        } else {
            self.error(keyword, format!("nothing after it; {reason}"))
        }
    }
}
