//! Vocabulary: the words a schedule is written in (months, weekdays, ordinals, counts).

use chrono::Weekday;

use super::piece::Meridiem;

/// "dec", "december", "sept": the month's number.
pub(super) fn month_named(word: &str) -> Option<u32> {
    let month = match word {
        "jan" | "january" => 1,
        "feb" | "february" => 2,
        "mar" | "march" => 3,
        "apr" | "april" => 4,
        "may" => 5,
        "jun" | "june" => 6,
        "jul" | "july" => 7,
        "aug" | "august" => 8,
        "sep" | "sept" | "september" => 9,
        "oct" | "october" => 10,
        "nov" | "november" => 11,
        "dec" | "december" => 12,
        _ => return None,
    };
    Some(month)
}

/// A weekday name, and whether it is plural ("mondays": every monday).
pub(super) fn weekday_named(word: &str) -> Option<(Weekday, bool)> {
    let (singular, plural) = match word.strip_suffix('s') {
        Some(stem) if stem.ends_with("day") => (stem, true),
        _ => (word, false),
    };
    let weekday = match singular {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" | "weds" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    };
    Some((weekday, plural))
}

/// Nouns ending in "day" that are not days of the week.
const DAY_NOUNS: &[&str] = &[
    "birthday",
    "holiday",
    "payday",
    "workday",
    "schoolday",
    "gameday",
    "matchday",
    "someday",
    "everyday",
    "yesterday",
    "midday",
    "heyday",
    "doomsday",
    "weekday",
    "today",
];

/// "blursday": shaped like a weekday name ("…day") but not one.
pub(super) fn looks_like_weekday(word: &str) -> bool {
    let singular = word.strip_suffix('s').unwrap_or(word);
    singular.len() > 3
        && singular.ends_with("day")
        && singular.chars().all(|c| c.is_ascii_alphabetic())
        && !DAY_NOUNS.contains(&singular)
        && weekday_named(word).is_none()
}

/// "weekdays" and "weekends": the days they stand for.
pub(super) fn weekday_group(word: &str) -> Option<&'static [Weekday]> {
    match word {
        "weekday" | "weekdays" => Some(&[
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]),
        "weekend" | "weekends" => Some(&[Weekday::Sat, Weekday::Sun]),
        _ => None,
    }
}

/// "first".."fifth", "1st".."5th", "last": which weekday of the month.
pub(super) fn weekday_ordinal(word: &str) -> Option<i8> {
    match word {
        "first" | "1st" => Some(1),
        "second" | "2nd" => Some(2),
        "third" | "3rd" => Some(3),
        "fourth" | "4th" => Some(4),
        "fifth" | "5th" => Some(5),
        "last" => Some(-1),
        _ => None,
    }
}

/// "15th", "1st", "22nd": the number of an ordinal written in digits.
pub(super) fn digit_ordinal(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))?;
    small_number(digits)
}

/// Up to three digits, nothing else.
pub(super) fn small_number(word: &str) -> Option<u32> {
    if word.is_empty() || word.len() > 3 || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

/// A day of the month as written after or before a month: "5", "05", "5th".
pub(super) fn day_number(word: &str) -> Option<u32> {
    if word.len() <= 2 {
        small_number(word)
    } else {
        None
    }
    .or_else(|| digit_ordinal(word))
}

/// "2", "two": a count.
pub(super) fn count(word: &str) -> Option<u32> {
    let n = match word {
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        _ => return small_number(word),
    };
    Some(n)
}

/// Words that join items of a list: "mon and wed", "1st & 15th".
pub(super) fn is_conjunction(word: &str) -> bool {
    matches!(word, "and" | "&" | "or" | "/" | "+")
}

/// Words between the start and the end of a range: "9 to 5", "dec 5 - dec 7".
pub(super) fn is_range_word(word: &str) -> bool {
    matches!(
        word,
        "-" | "–" | "—" | "to" | "till" | "til" | "until" | "through" | "thru"
    )
}

/// "am", "p.m" written as a word of their own.
pub(super) fn meridiem_named(word: &str) -> Option<Meridiem> {
    match word {
        "am" | "a.m" => Some(Meridiem::Am),
        "pm" | "p.m" => Some(Meridiem::Pm),
        _ => None,
    }
}
