//! Reading times of day, time ranges and lengths: "9am", "7:30 p.m.", "9-10am", "for 2 hours".

use super::{Read, Reader};
use crate::calendar::schedule::ScheduleError;
use crate::calendar::schedule::piece::{Clock, Length, Meridiem, Span};
use crate::calendar::schedule::words::{count, is_range_word, meridiem_named, small_number};

/// The longest event length accepted: a week.
const MAX_MINUTES: i64 = 7 * 24 * 60;

impl Reader<'_> {
    /// A time of day at token `i`, the index after it, and whether it is a bare number.
    pub(super) fn read_clock(
        &self,
        i: usize,
    ) -> Result<Option<(Clock, usize, bool)>, ScheduleError> {
        let word = self.word(i);
        let fixed = |hour| Clock {
            hour,
            minute: 0,
            meridiem: None,
            fixed: true,
        };
        match word {
            "noon" | "midday" => return Ok(Some((fixed(12), i + 1, false))),
            "midnight" => return Ok(Some((fixed(0), i + 1, false))),
            "half" | "quarter" => return self.read_clock_words(i),
            _ => {}
        }
        if !word.starts_with(|c: char| c.is_ascii_digit()) {
            return Ok(None);
        }
        let (body, mut meridiem) = split_meridiem(word);
        let Some(shape) = clock_shape(body) else {
            return Ok(None);
        };
        let mut next = i + 1;
        if meridiem.is_none() {
            meridiem = meridiem_named(self.word(next));
            if meridiem.is_some() {
                next += 1;
            }
        }
        let bare = meridiem.is_none() && shape.minute.is_none() && !shape.h_form;
        if bare && (shape.hour.len() > 2 || small_number(shape.hour).is_none_or(|h| h > 23)) {
            return Ok(None);
        }
        let clock = self.validate_clock(i, &shape, meridiem)?;
        if matches!(self.word(next), "o'clock" | "oclock") {
            next += 1;
        }
        Ok(Some((clock, next, bare)))
    }

    /// "half past nine", "quarter to 10", "quarter past noon", "half past 7 pm", at "half" or
    /// "quarter".
    fn read_clock_words(&self, i: usize) -> Result<Option<(Clock, usize, bool)>, ScheduleError> {
        let minutes: i32 = match (self.word(i), self.word(i + 1)) {
            ("half", "past") => 30,
            ("quarter", "past") => 15,
            ("quarter", "to" | "til" | "till") => -15,
            _ => return Ok(None),
        };
        let hour_at = i + 2;
        let Some((hour, mut meridiem, fixed)) = clock_hour(self.word(hour_at)) else {
            return Ok(None);
        };
        let mut next = hour_at + 1;
        if meridiem.is_none()
            && let Some(written) = meridiem_named(self.word(next))
        {
            meridiem = Some(written);
            next += 1;
        }
        if meridiem.is_some() && !(1..=12).contains(&hour) {
            return Err(self.error(hour_at, "no such hour; write e.g. \"half past 9 pm\""));
        }
        let clock = Clock {
            hour,
            minute: 0,
            meridiem,
            fixed,
        };
        let minute_of_day =
            i32::try_from(chrono::Timelike::num_seconds_from_midnight(&clock.as_written()) / 60)
                .expect("minutes of a day");
        let time = (minute_of_day + minutes).rem_euclid(24 * 60);
        let (hour, minute) = ((time / 60) as u32, (time % 60) as u32);
        let clock = match meridiem {
            // "quarter to 12 pm" is 11:45 am: the meridiem follows the time, not the hour named.
            Some(_) => Clock {
                hour: hour % 12,
                minute,
                meridiem: Some(if hour >= 12 {
                    Meridiem::Pm
                } else {
                    Meridiem::Am
                }),
                fixed: false,
            },
            None if fixed => Clock {
                hour,
                minute,
                meridiem: None,
                fixed: true,
            },
            // "half past nine" is am or pm as "9:30" would be.
            None => Clock {
                hour: if hour == 0 { 12 } else { hour },
                minute,
                meridiem: None,
                fixed: false,
            },
        };
        Ok(Some((clock, next, false)))
    }

    /// The clock time `shape` and `meridiem` describe, if it is a real one (token `i`).
    fn validate_clock(
        &self,
        i: usize,
        shape: &ClockShape,
        meridiem: Option<Meridiem>,
    ) -> Result<Clock, ScheduleError> {
        let hour = small_number(shape.hour).filter(|_| shape.hour.len() <= 2);
        let hour = match (hour, meridiem) {
            (Some(h @ 1..=12), Some(_)) | (Some(h @ 0..=23), None) => h,
            _ => {
                return Err(self.error(
                    i,
                    "no such hour; write e.g. \"9am\", \"9:30pm\" or \"21:00\"",
                ));
            }
        };
        let minute = match shape.minute {
            None => 0,
            Some(text) => match small_number(text) {
                Some(m) if text.len() == 2 && m <= 59 => m,
                _ => {
                    return Err(
                        self.error(i, "no such minute; write minutes as two digits 00 to 59")
                    );
                }
            },
        };
        let fixed = meridiem.is_none()
            && (hour == 0 || hour > 12 || shape.hour.starts_with('0') || shape.h_form);
        Ok(Clock {
            hour,
            minute,
            meridiem,
            fixed,
        })
    }

    /// A start time at `i` with its end if one follows ("3pm to 5pm", "9-10am").
    pub(super) fn read_span(&self, i: usize, after_at: bool) -> Read<Span> {
        let Some((start, mut next, start_bare)) = self.read_clock(i)? else {
            return Ok(None);
        };
        let mut end = None;
        if is_range_word(self.word(next))
            && let Some((clock, after, end_bare)) = self.read_clock(next + 1)?
            && (after_at || !start_bare || !end_bare)
        {
            end = Some((clock, next + 1));
            next = after;
        }
        if start_bare && !after_at && end.is_none() {
            return Ok(None);
        }
        Ok(Some((
            Span {
                start,
                end,
                after_at,
            },
            next,
        )))
    }

    /// "for 2 hours", "for 90 minutes", "for 1.5 hours", "for an hour", "for half an hour",
    /// "for 2h", "for 3 days", with `i` after "for".
    pub(super) fn read_length(&self, i: usize) -> Read<Length> {
        let (amount, unit, next) = match self.word(i) {
            "half" if matches!(self.word(i + 1), "an" | "a") => (0.5, self.word(i + 2), i + 3),
            "a" | "an" => (1.0, self.word(i + 1), i + 2),
            word => match split_amount(word) {
                Some((amount, "")) => (amount, self.word(i + 1), i + 2),
                Some((amount, unit)) => (amount, unit, i + 1),
                None => return Ok(None),
            },
        };
        let minutes_per_unit = match unit {
            "hour" | "hours" | "hr" | "hrs" | "h" => 60.0,
            "minute" | "minutes" | "min" | "mins" | "m" => 1.0,
            "day" | "days" => {
                return match count_days(amount) {
                    Some(days) => Ok(Some((Length::Days(days), next))),
                    None => Err(self.error(i, "give a whole number of days, 1 to 366")),
                };
            }
            _ => return Ok(None),
        };
        let minutes = (amount * minutes_per_unit).round();
        if !(1.0..=MAX_MINUTES as f64).contains(&minutes) {
            return Err(self.error(i, "an event lasts from a minute to a week"));
        }
        Ok(Some((Length::Minutes(minutes as i64), next)))
    }
}

/// The hour named after "half past" or "quarter to": "9", "nine", "9pm", "21", "noon",
/// "midnight", with its am/pm and whether it is on the 24-hour clock.
fn clock_hour(word: &str) -> Option<(u32, Option<Meridiem>, bool)> {
    match word {
        "noon" | "midday" => return Some((12, None, true)),
        "midnight" => return Some((0, None, true)),
        _ => {}
    }
    let (body, meridiem) = split_meridiem(word);
    let hour = count(body).filter(|&h| h <= 23)?;
    let fixed = meridiem.is_none() && (hour == 0 || hour > 12 || body.starts_with('0'));
    Some((hour, meridiem, fixed))
}

/// "9am" → ("9", am); "7:30p.m" → ("7:30", pm); "21:00" → ("21:00", none).
fn split_meridiem(word: &str) -> (&str, Option<Meridiem>) {
    for (suffix, meridiem) in [
        ("a.m", Meridiem::Am),
        ("p.m", Meridiem::Pm),
        ("am", Meridiem::Am),
        ("pm", Meridiem::Pm),
        ("a", Meridiem::Am),
        ("p", Meridiem::Pm),
    ] {
        if let Some(body) = word.strip_suffix(suffix)
            && body.ends_with(|c: char| c.is_ascii_digit())
        {
            return (body, Some(meridiem));
        }
    }
    (word, None)
}

/// The parts of a clock time: "9", "9:30", "19h", "19h30".
struct ClockShape<'a> {
    hour: &'a str,
    minute: Option<&'a str>,
    h_form: bool,
}

fn clock_shape(body: &str) -> Option<ClockShape<'_>> {
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((hour, minute)) = body.split_once(':') {
        return is_digits(hour).then_some(ClockShape {
            hour,
            minute: Some(minute),
            h_form: false,
        });
    }
    if let Some((hour, minute)) = body.split_once('h') {
        let minute = (!minute.is_empty()).then_some(minute);
        let fits = is_digits(hour) && minute.is_none_or(is_digits);
        return fits.then_some(ClockShape {
            hour,
            minute,
            h_form: true,
        });
    }
    is_digits(body).then_some(ClockShape {
        hour: body,
        minute: None,
        h_form: false,
    })
}

/// "2", "1.5", "90min", "2h": an amount and the unit written onto it.
fn split_amount(word: &str) -> Option<(f64, &str)> {
    let end = word
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(word.len());
    let (number, unit) = word.split_at(end);
    if number.is_empty() || number.len() > 8 {
        return None;
    }
    let amount: f64 = number.parse().ok()?;
    Some((amount, unit))
}

/// A whole number of days, 1 to 366.
fn count_days(amount: f64) -> Option<u32> {
    (amount.fract() == 0.0 && (1.0..=366.0).contains(&amount)).then_some(amount as u32)
}
