//! Time zones written in a schedule: "9am PST", "9:30 Europe/Oslo". A zone is read right after a
//! time of day, so "PT appointment friday" keeps its title.
//!
//! Abbreviations name a zone, not an offset ("3pm EST" in July is 3pm New York time), and only
//! the unambiguous common ones are read; the ambiguous ones are refused with their readings.

use std::str::FromStr;

use chrono_tz::{TZ_VARIANTS, Tz};

use super::ScheduleError;
use super::lex::Token;
use super::piece::{Item, Piece};

/// Abbreviations that name one zone.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("utc", "UTC"),
    ("pst", "America/Los_Angeles"),
    ("pdt", "America/Los_Angeles"),
    ("pt", "America/Los_Angeles"),
    ("mdt", "America/Denver"),
    ("cdt", "America/Chicago"),
    ("ct", "America/Chicago"),
    ("est", "America/New_York"),
    ("edt", "America/New_York"),
    ("et", "America/New_York"),
    ("akst", "America/Anchorage"),
    ("akdt", "America/Anchorage"),
    ("hst", "Pacific/Honolulu"),
    ("cet", "Europe/Berlin"),
    ("cest", "Europe/Berlin"),
    ("jst", "Asia/Tokyo"),
    ("kst", "Asia/Seoul"),
    ("aest", "Australia/Sydney"),
    ("aedt", "Australia/Sydney"),
    ("nzst", "Pacific/Auckland"),
    ("nzdt", "Pacific/Auckland"),
];

/// Abbreviations that name several zones, with their readings.
const AMBIGUOUS: &[(&str, &str)] = &[
    (
        "cst",
        "America/Chicago (US Central) or Asia/Shanghai (China)",
    ),
    (
        "mst",
        "America/Denver (with summer time) or America/Phoenix (without)",
    ),
    (
        "ist",
        "Asia/Kolkata (India), Europe/Dublin (Ireland) or Asia/Jerusalem (Israel)",
    ),
    (
        "bst",
        "Europe/London (British Summer Time) or Asia/Dhaka (Bangladesh)",
    ),
    ("gmt", "UTC or Europe/London (which keeps summer time)"),
    ("ast", "America/Halifax (Atlantic) or Asia/Riyadh (Arabia)"),
];

/// The first parts of IANA names: a word starting with one and a "/" is meant as a zone.
const AREAS: &[&str] = &[
    "africa/",
    "america/",
    "antarctica/",
    "asia/",
    "atlantic/",
    "australia/",
    "etc/",
    "europe/",
    "indian/",
    "pacific/",
];

/// The zone `token` names, if it is written as one; an ambiguous or unknown zone is an error.
pub(super) fn zone_at(token: &Token) -> Result<Option<Tz>, ScheduleError> {
    let word = token.word.as_str();
    if let Some(&(_, name)) = ABBREVIATIONS
        .iter()
        .find(|(abbreviation, _)| *abbreviation == word)
    {
        return Ok(Tz::from_str(name).ok());
    }
    if let Some((_, readings)) = AMBIGUOUS
        .iter()
        .find(|(abbreviation, _)| *abbreviation == word)
    {
        return Err(token.error(format!(
            "names several time zones: {readings}; write the one you mean, e.g. \"9am America/Chicago\""
        )));
    }
    if !AREAS.iter().any(|area| word.starts_with(area)) {
        return Ok(None);
    }
    match TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(word))
    {
        Some(&tz) => Ok(Some(tz)),
        None => Err(token
            .error("unknown time zone; use an IANA name such as America/New_York or Europe/Oslo")),
    }
}

/// The zone the pieces name, and the other pieces; a second zone is an error.
pub(super) fn take_zone(
    tokens: &[Token],
    items: Vec<Item>,
) -> Result<(Option<Tz>, Vec<Item>), ScheduleError> {
    let mut zone = None;
    let mut rest = Vec::with_capacity(items.len());
    for item in items {
        let Piece::Zone(tz) = item.piece else {
            rest.push(item);
            continue;
        };
        if zone.is_some() {
            let token = tokens.get(item.at).expect("a zone is read at a token");
            return Err(token.error("a second time zone; the schedule already has one"));
        }
        zone = Some(tz);
    }
    Ok((zone, rest))
}
