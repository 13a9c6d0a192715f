//! Time zones and times as people give them on the command line, and wall-clock times that a
//! clock change skips or repeats.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Why a zone or a time given by the user cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// No zone was given and the system's cannot be told.
    #[error("cannot tell this system's time zone ({source}); pass --tz, e.g. --tz Europe/Oslo")]
    SystemZone {
        /// Why the system's zone is unknown.
        source: iana_time_zone::GetTimezoneError,
    },
    /// The zone name is not an IANA name.
    #[error("unknown time zone `{name}`; use an IANA name such as Europe/Oslo or UTC")]
    UnknownZone {
        /// The name as given.
        name: String,
    },
    /// The day after the date is past what chrono can hold.
    #[error("`{text}` is out of range")]
    OutOfRange {
        /// The time as given.
        text: String,
    },
    /// The text is no date or time in any accepted form.
    #[error(
        "`{text}` is not a date or time; write 2026-12-01, 2026-12-01T09:00 or 2026-12-01T09:00:00+01:00"
    )]
    NotATime {
        /// The time as given.
        text: String,
    },
}

/// A wall-clock time in `tz`: the earlier of two readings in a repeated hour, and for a time
/// skipped by a clock change, the same reading an hour later (as calendar programs do).
pub(crate) fn local(tz: Tz, time: NaiveDateTime) -> DateTime<Tz> {
    tz.from_local_datetime(&time)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(time + Duration::hours(1)))
                .earliest()
        })
        .unwrap_or_else(|| tz.from_utc_datetime(&time))
}

/// The zone named `name` (IANA, such as `Europe/Oslo`), or the system's zone when `None`.
pub fn zone(name: Option<&str>) -> Result<Tz, TimeError> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => {
            iana_time_zone::get_timezone().map_err(|source| TimeError::SystemZone { source })?
        }
    };
    Tz::from_str(&name).map_err(|_| TimeError::UnknownZone { name })
}

/// Reads a time given on the command line: a date (`2026-12-01`, meaning its first moment, or
/// with `day_end` the first moment of the next day, so a range of dates includes its last day),
/// a wall-clock time in `tz` (`2026-12-01T09:00`, seconds optional, a space instead of `T`
/// allowed), or an RFC 3339 time with an offset (`2026-12-01T09:00:00+01:00`).
pub fn parse_time(text: &str, tz: Tz, day_end: bool) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let date = if day_end {
            date.succ_opt().ok_or_else(|| TimeError::OutOfRange {
                text: text.to_owned(),
            })?
        } else {
            date
        };
        return Ok(local(tz, date.and_time(NaiveTime::MIN)).with_timezone(&Utc));
    }
    let wall = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .ok_or_else(|| TimeError::NotATime {
        text: text.to_owned(),
    })?;
    Ok(local(tz, wall).with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oslo() -> Tz {
        "Europe/Oslo".parse().unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        parse_time(text, Tz::UTC, false).unwrap()
    }

    #[test]
    fn command_line_times_read_dates_wall_clock_and_offsets() {
        let tz = oslo();
        assert_eq!(
            parse_time("2026-12-01", tz, false).unwrap(),
            utc("2026-11-30T23:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-01", tz, true).unwrap(),
            utc("2026-12-01T23:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-01T09:00", tz, false).unwrap(),
            utc("2026-12-01T08:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-01 09:00:30", tz, false).unwrap(),
            utc("2026-12-01T08:00:30Z")
        );
        assert_eq!(
            parse_time("2026-12-01T09:00:00-05:00", tz, false).unwrap(),
            utc("2026-12-01T14:00:00Z")
        );
        assert!(parse_time("next week", tz, false).is_err());
        assert!(zone(Some("Nowhere/Special")).is_err());
    }
}
