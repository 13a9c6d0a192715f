//! Pieces of schedule: what the reader finds in the words (a day, a time span, a length, a
//! repeat, its bounds), before they are resolved against `now`.

use chrono::{NaiveTime, Weekday};

use super::Frequency;

/// Before or after noon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Meridiem {
    Am,
    Pm,
}

/// A time of day as written, before am/pm guesses.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    pub(super) hour: u32,
    pub(super) minute: u32,
    pub(super) meridiem: Option<Meridiem>,
    /// Read on the 24-hour clock as written: "09:30", "21:00", "19h", "noon", "midnight".
    pub(super) fixed: bool,
}

impl Clock {
    /// 1–12 without am/pm and not written 24-hour style: am or pm is a guess.
    pub(super) fn is_ambiguous(&self) -> bool {
        self.meridiem.is_none() && !self.fixed && (1..=12).contains(&self.hour)
    }

    /// The time read with `meridiem`.
    pub(super) fn with_meridiem(&self, meridiem: Meridiem) -> NaiveTime {
        let hour = match (meridiem, self.hour) {
            (Meridiem::Am, 12) => 0,
            (Meridiem::Am, h) => h,
            (Meridiem::Pm, 12) => 12,
            (Meridiem::Pm, h) => h + 12,
        };
        hm(hour, self.minute)
    }

    /// The time as written: am/pm if given, else the 24-hour clock.
    pub(super) fn as_written(&self) -> NaiveTime {
        match self.meridiem {
            Some(meridiem) => self.with_meridiem(meridiem),
            None => hm(self.hour, self.minute),
        }
    }
}

/// A validated hour and minute; out-of-range values (never produced by the reader) give midnight.
fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

/// A start time with its end, as written.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub(super) start: Clock,
    /// The end and the index of its token.
    pub(super) end: Option<(Clock, usize)>,
    /// After "at", "@" or "from": a bare hour 1–7 is pm.
    pub(super) after_at: bool,
}

/// A day as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DayRef {
    Date {
        year: Option<i32>,
        month: u32,
        day: u32,
    },
    Today,
    Tonight,
    Tomorrow,
    InDays(u32),
    Weekday {
        weekday: Weekday,
        skip_today: bool,
    },
}

/// The end of a repeat as written.
#[derive(Debug, Clone, Copy)]
pub(super) enum Limit {
    Date(DayRef),
    Month(u32),
}

/// How long an event lasts, as written.
#[derive(Debug, Clone, Copy)]
pub(super) enum Length {
    Minutes(i64),
    Days(u32),
}

/// A repeat rule, possibly partial ("every week" waits for "on tuesday").
#[derive(Debug, Clone)]
pub(super) struct Repeat {
    pub(super) frequency: Frequency,
    pub(super) interval: u32,
    pub(super) weekdays: Vec<(Option<i8>, Weekday)>,
    pub(super) month_days: Vec<u8>,
    pub(super) months: Vec<u8>,
}

impl Repeat {
    /// Every one of `frequency`, on days the rest of the text (or the start date) gives.
    pub(super) fn new(frequency: Frequency) -> Self {
        Repeat {
            frequency,
            interval: 1,
            weekdays: Vec::new(),
            month_days: Vec::new(),
            months: Vec::new(),
        }
    }
}

/// One thing the text says about the schedule.
#[derive(Debug, Clone)]
pub(super) enum Piece {
    Day(DayRef),
    /// A range of days; the index is the last day's token.
    Days(DayRef, DayRef, usize),
    /// Weekdays named without "every", each with its token; plural ones repeat.
    Weekdays(Vec<(Weekday, usize)>, bool),
    Span(Span),
    Length(Length),
    Repeat(Repeat),
    Start(DayRef),
    Until(Limit),
    Except(Vec<(DayRef, usize)>),
    /// The zone the times are in ("9am PST").
    Zone(chrono_tz::Tz),
}

/// A piece of schedule and the index of the token it is reported at.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) piece: Piece,
    pub(super) at: usize,
}
