//! Schedules written the way people write them: "dec 5 9:30am", "tomorrow at noon for 2 hours",
//! "javascript study group thursdays at 7 pm", "every other friday at 4pm until march".
//!
//! [`parse`] reads such text against `now` (a wall-clock time in the user's zone) and returns a
//! [`Schedule`]: a title, the first occurrence ([`When`]) and, for a repeating event, a
//! [`Recurrence`] whose fields mean what the RFC 5545 RRULE parts of the same names mean. It is a
//! pure function and never panics on its input; text it cannot read is a [`ScheduleError`] that
//! names the word and its 1-based character column, never a silent guess.
//!
//! # Rules
//!
//! **Words.** Matching ignores case, extra spaces, commas and semicolons, and a trailing "." on
//! a word ("dec.", "p.m."). Months are written in full, in three letters, or as "sept"; a month
//! name without a day ("I may come") is an ordinary word. Weekdays are written in full or
//! abbreviated ("tue", "tues", "thu", "thurs"); "sun", "sat" and "wed" right after "the", "a" or
//! a pronoun ("in the sun", "we sat") are ordinary words.
//!
//! **Title.** Text in quotes ("…", '…', “…”, ‘…’) is the title, and nothing inside the quotes is
//! read as schedule. Without quotes the title is the words that are not schedule, joined by single
//! spaces in their original case; words without a letter or digit (a lone "-") are dropped. "at",
//! "on", "the", "from", "for", "in", "next" and "this" followed by something that is not schedule
//! stay in the title ("meet at the office friday 3pm" → "meet at the office"), and so does
//! "each" not followed by a repeat. A plain number ("room 9") is title, but a word shaped like a
//! time ("25:00", "13pm") or a date ("2026-02-30") that is not a real one is an error.
//!
//! **Dates.** "dec 5", "5 dec", "december 5th", "5th of december", "dec 5, 2027", "dec 5 2027",
//! "2026-12-24", "today", "tonight", "tomorrow", "in 3 days", "in 2 weeks". A date without a year
//! is the next such date on or after today (Feb 29: the next leap year's). A weekday ("friday") is
//! the next such day; today counts when there is no time or the start time is at or after now.
//! "next friday" is the same but never today; "this friday" is "friday".
//!
//! **All day.** Without a time of day the event is all day: one day, or a range of days ("dec 5
//! to dec 7", "dec 5-7", "dec 5 for 3 days"); a range's end without a year is the next such date
//! on or after its start.
//!
//! **Times.** "9am", "9 am", "9:30", "09:30", "21:00", "7:30 p.m.", "19h", "noon", "midnight".
//! A bare number ("9") is a time only after "at", "@" or "from", or as the start of a range whose
//! end is plainly a time ("9-10am"). An hour without am/pm is read on the 24-hour clock, except:
//! an hour 1–7 without a leading zero after "at", "@" or "from" is pm ("at 7" → 19:00), and
//! after "tonight" any hour 1–11 is pm. A time without a date is today if it is at or after now,
//! else tomorrow.
//!
//! **Ends.** "3pm to 5pm", "9am-5pm", "18:00-22:00", "from 3 to 5pm", "9-10am": when the start has
//! no am/pm and the end has, the end's am/pm applies to the start if that puts the start before
//! the end. An end without am/pm is the first of h or h+12 after the start. An end at or before
//! the start is on the next day ("10pm to 2am"). Or a length: "for 2 hours", "for 90 minutes",
//! "for 1.5 hours", "for an hour", "for half an hour", "for 2h". With neither, an event lasts
//! one hour.
//!
//! **Repeats.** "every"/"each" (with "other" or a count: "every 2 weeks") followed by "day",
//! "week", "month", "year", weekdays, "weekday", "weekend", a numbered weekday, a day of the
//! month or a month and day; "daily", "weekly", "biweekly", "fortnightly", "monthly", "yearly",
//! "annually"; plural weekdays ("thursdays"), "weekdays" (Monday to Friday), "weekends". A
//! numbered weekday ("first tuesday", "2nd and 4th thursday", "last friday of the month") or a
//! day of the month after "the", "on" or "every" ("the 15th", "on the 1st and 15th", "every
//! 15th"), or before "of every month" ("15th of every month", "first of the month"), repeats
//! monthly; "every oct 31st" and "every year on march 3" repeat yearly, and
//! so does a numbered weekday "of september". Repeats more often than daily are not supported.
//! Weekly weekdays are listed Monday first.
//!
//! **Filling a repeat in.** The start date is the date after "starting", "beginning" or "from", or
//! a plain date in the text, else today; a range of days ("from jan 15 to feb 10") gives the start
//! and the end. A weekly repeat with no weekday takes the start date's
//! weekday, a monthly one with no day its day of the month, a yearly one with no date its month
//! and day. The first occurrence ([`Schedule::when`]) is the first date that matches the rule at
//! or after the later of now and the start date, and is not an exception.
//!
//! **Ends of repeats.** "until DATE" is the last date an occurrence may start on (inclusive);
//! without a year it is the next such date on or after the first occurrence. "until MONTH" runs
//! through the last day before the first of the next such month after the first occurrence: from
//! a first occurrence in November 2026, "until march" ends on 2027-02-28.
//!
//! **Exceptions.** "except dec 25 and jan 1": dates without a year take the year that puts them
//! on or after the first occurrence. They are sorted and deduplicated.
//!
//! **Conflicts.** Two days ("tomorrow friday"), two times, two lengths, two starts or two ends
//! are an error at the second one, and so are parts that do not fit together: a weekday in a
//! daily repeat, a time with a range of days, "until" or "except" without a repeat.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Weekday};

/// A schedule read from text by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Quoted text if present, else the words that were not schedule, joined by single spaces
    /// (original case kept). Empty string when there are none.
    pub title: String,
    /// The first occurrence (for a recurrence: the first one that matches the rule at or after
    /// max(now, the "starting" date)).
    pub when: When,
    /// How the event repeats; `None` for a one-time event.
    pub recurrence: Option<Recurrence>,
    /// Dates whose occurrence is cancelled ("except dec 25"), sorted, deduplicated.
    pub exceptions: Vec<NaiveDate>,
}

/// When an occurrence takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A date without a time of day: an all-day event over `first..=last` (last == first for one day).
    AllDay {
        /// The first day.
        first: NaiveDate,
        /// The last day (inclusive).
        last: NaiveDate,
    },
    /// Wall-clock start and end in the user's zone; end > start, end may be on a later day
    /// ("10pm to 2am"). No end or duration given: end = start + 1 hour.
    Timed {
        /// The start.
        start: NaiveDateTime,
        /// The end, after the start.
        end: NaiveDateTime,
    },
}

/// How an event repeats, with the meaning of the RFC 5545 RRULE parts of the same names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// FREQ.
    pub frequency: Frequency,
    /// 1 = every, 2 = "every other", n = "every n weeks".
    pub interval: u32,
    /// BYDAY: weekdays, each with an optional ordinal (1..=5, or -1 for "last"), ordinals only with Monthly.
    pub weekdays: Vec<(Option<i8>, Weekday)>,
    /// BYMONTHDAY (1..=31): "the 15th".
    pub month_days: Vec<u8>,
    /// BYMONTH (1..=12): "every oct 31st" is Yearly with months `[10]` and month_days `[31]`.
    pub months: Vec<u8>,
    /// Last date an occurrence may start on, inclusive.
    pub until: Option<NaiveDate>,
}

/// FREQ of a [`Recurrence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Every day (or every n days).
    Daily,
    /// Every week on the given weekdays.
    Weekly,
    /// Every month on the given days of the month or numbered weekdays.
    Monthly,
    /// Every year in the given months.
    Yearly,
}

/// Text that cannot be read: names the word and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {word:?} at character {column}: {reason}")]
pub struct ScheduleError {
    /// The word as written.
    pub word: String,
    /// 1-based char index of the word.
    pub column: usize,
    /// Why it cannot be read, and what would work.
    pub reason: String,
}

/// Parses `text` as a schedule, resolving relative words ("tomorrow", "friday") against `now`,
/// a wall-clock time in the user's time zone. Never mutates anything; pure function.
pub fn parse(text: &str, now: NaiveDateTime) -> Result<Schedule, ScheduleError> {
    let scanned = scan(text);
    let reader = Reader {
        tokens: &scanned.tokens,
    };
    let (items, title_words) = reader.read()?;
    if items.is_empty() {
        return Err(no_schedule(text));
    }
    let (when, recurrence, exceptions) = Resolver {
        text,
        tokens: &scanned.tokens,
        now,
    }
    .resolve(items)?;
    Ok(Schedule {
        title: title_of(&scanned, &title_words),
        when,
        recurrence,
        exceptions,
    })
}

fn no_schedule(text: &str) -> ScheduleError {
    ScheduleError {
        word: text.to_string(),
        column: 1,
        reason: "no date, day or time in it; write e.g. \"friday 3pm\" or \"every monday 9-10am\""
            .to_string(),
    }
}

fn title_of(scanned: &Scanned, title_words: &[usize]) -> String {
    let quoted = scanned.quoted.join(" ");
    if !quoted.trim().is_empty() {
        return quoted.trim().to_string();
    }
    title_words
        .iter()
        .filter_map(|&i| scanned.tokens.get(i))
        .map(|token| token.raw.as_str())
        .filter(|raw| raw.chars().any(char::is_alphanumeric))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// Scanning: text → tokens with their columns, quoted titles set aside.

/// One word of the text.
#[derive(Debug)]
struct Token {
    /// As written.
    raw: String,
    /// Lowercase, without surrounding punctuation.
    word: String,
    /// 1-based char index of its first character.
    column: usize,
}

#[derive(Debug)]
struct Scanned {
    tokens: Vec<Token>,
    quoted: Vec<String>,
}

fn scan(text: &str) -> Scanned {
    let chars: Vec<char> = text.chars().collect();
    let mut scanned = Scanned {
        tokens: Vec::new(),
        quoted: Vec::new(),
    };
    let mut word = String::new();
    let mut word_start = 0;
    let last_closer = last_closers(&chars);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if word.is_empty()
            && let Some(close) = closing_quote(&chars, i, &last_closer)
        {
            scanned.quoted.push(chars[i + 1..close].iter().collect());
            i = close + 1;
            continue;
        }
        if c.is_whitespace() || c == ',' || c == ';' {
            push_word(&mut scanned.tokens, &mut word, word_start);
        } else {
            if word.is_empty() {
                word_start = i;
            }
            word.push(c);
        }
        i += 1;
    }
    push_word(&mut scanned.tokens, &mut word, word_start);
    scanned
}

/// The last index of each quote character that could close a quote, so that an unclosed
/// quote is known without reading to the end again.
fn last_closers(chars: &[char]) -> Vec<(char, usize)> {
    let mut last: Vec<(char, usize)> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        let ends_word = chars.get(i + 1).is_none_or(|next| !next.is_alphanumeric());
        if matches!(c, '"' | '”' | '“' | '»') || (matches!(c, '\'' | '’') && ends_word) {
            match last.iter_mut().find(|(seen, _)| *seen == c) {
                Some(entry) => entry.1 = i,
                None => last.push((c, i)),
            }
        }
    }
    last
}

/// Where the quote opening at `open` closes, if `open` opens a quote at all.
fn closing_quote(chars: &[char], open: usize, last_closer: &[(char, usize)]) -> Option<usize> {
    let closers: &[char] = match chars.get(open)? {
        '"' => &['"'],
        '“' => &['”', '"'],
        '„' => &['“', '”'],
        '«' => &['»'],
        '\'' => &['\''],
        '‘' => &['’', '\''],
        _ => return None,
    };
    let single = matches!(chars[open], '\'' | '‘');
    let last = last_closer
        .iter()
        .filter(|(c, _)| closers.contains(c))
        .map(|&(_, i)| i)
        .max()?;
    (open + 1..=last).find(|&j| {
        closers.contains(&chars[j])
            && (!single || chars.get(j + 1).is_none_or(|next| !next.is_alphanumeric()))
    })
}

fn push_word(tokens: &mut Vec<Token>, word: &mut String, start: usize) {
    if word.is_empty() {
        return;
    }
    for (offset, piece) in split_ranges(word) {
        tokens.push(Token {
            word: normalize(&piece),
            raw: piece,
            column: start + offset + 1,
        });
    }
    word.clear();
}

/// Splits "9-10am", "18:00-22:00" and "5-7" at their dashes, keeping "2026-12-24" and
/// "co-op" whole. Returns each piece with its char offset in `word`.
fn split_ranges(word: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = word.chars().collect();
    if is_iso_date(word) {
        return vec![(0, word.to_string())];
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, &c) in chars.iter().enumerate() {
        let is_dash = matches!(c, '-' | '–' | '—');
        if is_dash && starts_like_time(&chars[start..i]) && starts_like_time(&chars[i + 1..]) {
            pieces.push((start, chars[start..i].iter().collect()));
            pieces.push((i, c.to_string()));
            start = i + 1;
        }
    }
    pieces.push((start, chars[start..].iter().collect()));
    pieces
}

/// Whether a piece of a word begins like a time: a digit, "noon" or "midnight".
fn starts_like_time(piece: &[char]) -> bool {
    let starts_with = |prefix: &str| {
        piece.len() >= prefix.len()
            && prefix
                .chars()
                .zip(piece)
                .all(|(a, b)| b.to_lowercase().eq([a]))
    };
    piece.first().is_some_and(char::is_ascii_digit)
        || starts_with("noon")
        || starts_with("midnight")
}

fn normalize(raw: &str) -> String {
    raw.trim_matches(|c: char| ".,;:!?()[]{}\"'“”‘’".contains(c))
        .to_lowercase()
}

fn is_iso_date(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

// ---------------------------------------------------------------------------------------------
// Vocabulary.

fn month_named(word: &str) -> Option<u32> {
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
fn weekday_named(word: &str) -> Option<(Weekday, bool)> {
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

/// "weekdays" and "weekends": the days they stand for.
fn weekday_group(word: &str) -> Option<&'static [Weekday]> {
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
fn weekday_ordinal(word: &str) -> Option<i8> {
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
fn digit_ordinal(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))?;
    small_number(digits)
}

/// Up to three digits, nothing else.
fn small_number(word: &str) -> Option<u32> {
    if word.is_empty() || word.len() > 3 || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

/// A day of the month as written after or before a month: "5", "05", "5th".
fn day_number(word: &str) -> Option<u32> {
    if word.len() <= 2 {
        small_number(word)
    } else {
        None
    }
    .or_else(|| digit_ordinal(word))
}

/// "2", "two": a count.
fn count(word: &str) -> Option<u32> {
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

fn is_conjunction(word: &str) -> bool {
    matches!(word, "and" | "&" | "or" | "/" | "+")
}

fn is_range_word(word: &str) -> bool {
    matches!(
        word,
        "-" | "–" | "—" | "to" | "till" | "til" | "until" | "through" | "thru"
    )
}

fn meridiem_named(word: &str) -> Option<Meridiem> {
    match word {
        "am" | "a.m" => Some(Meridiem::Am),
        "pm" | "p.m" => Some(Meridiem::Pm),
        _ => None,
    }
}

/// Days in each month, in the longest year.
const MAX_MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// How far ahead to look for a first occurrence: Feb 29 comes back within 8 years.
const SEARCH_DAYS: usize = 366 * 9;

/// The longest event length accepted: a week.
const MAX_MINUTES: i64 = 7 * 24 * 60;

// ---------------------------------------------------------------------------------------------
// Reading: tokens → the schedule pieces they say.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meridiem {
    Am,
    Pm,
}

/// A time of day as written, before am/pm guesses.
#[derive(Debug, Clone, Copy)]
struct Clock {
    hour: u32,
    minute: u32,
    meridiem: Option<Meridiem>,
    /// Read on the 24-hour clock as written: "09:30", "21:00", "19h", "noon", "midnight".
    fixed: bool,
}

impl Clock {
    /// 1–12 without am/pm and not written 24-hour style: am or pm is a guess.
    fn is_ambiguous(&self) -> bool {
        self.meridiem.is_none() && !self.fixed && (1..=12).contains(&self.hour)
    }

    fn with_meridiem(&self, meridiem: Meridiem) -> NaiveTime {
        let hour = match (meridiem, self.hour) {
            (Meridiem::Am, 12) => 0,
            (Meridiem::Am, h) => h,
            (Meridiem::Pm, 12) => 12,
            (Meridiem::Pm, h) => h + 12,
        };
        hm(hour, self.minute)
    }

    /// The time as written: am/pm if given, else the 24-hour clock.
    fn as_written(&self) -> NaiveTime {
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
struct Span {
    start: Clock,
    /// The end and the index of its token.
    end: Option<(Clock, usize)>,
    /// After "at", "@" or "from": a bare hour 1–7 is pm.
    after_at: bool,
}

/// A day as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayRef {
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
enum Limit {
    Date(DayRef),
    Month(u32),
}

#[derive(Debug, Clone, Copy)]
enum Length {
    Minutes(i64),
    Days(u32),
}

/// A repeat rule, possibly partial ("every week" waits for "on tuesday").
#[derive(Debug, Clone)]
struct Repeat {
    frequency: Frequency,
    interval: u32,
    weekdays: Vec<(Option<i8>, Weekday)>,
    month_days: Vec<u8>,
    months: Vec<u8>,
}

impl Repeat {
    fn new(frequency: Frequency) -> Self {
        Repeat {
            frequency,
            interval: 1,
            weekdays: Vec::new(),
            month_days: Vec::new(),
            months: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
enum Piece {
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
}

/// A piece of schedule and the index of the token it is reported at.
#[derive(Debug, Clone)]
struct Item {
    piece: Piece,
    at: usize,
}

/// What a reading function found at a token, and the index after it.
type Read<T> = Result<Option<(T, usize)>, ScheduleError>;

/// Weekdays, each with the index of the token that names it.
type NamedWeekdays = Vec<(Weekday, usize)>;

/// BYDAY entries: weekdays with an optional ordinal.
type ByDay = Vec<(Option<i8>, Weekday)>;

fn error_at(token: &Token, reason: impl Into<String>) -> ScheduleError {
    ScheduleError {
        word: token.raw.clone(),
        column: token.column,
        reason: reason.into(),
    }
}

struct Reader<'a> {
    tokens: &'a [Token],
}

impl Reader<'_> {
    fn word(&self, i: usize) -> &str {
        self.tokens.get(i).map_or("", |token| token.word.as_str())
    }

    fn error(&self, i: usize, reason: impl Into<String>) -> ScheduleError {
        match self.tokens.get(i).or(self.tokens.last()) {
            Some(token) => error_at(token, reason),
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
                    items.push(item);
                    i = next;
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
        self.plain_phrase(start, start > i)
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
            "next" | "this" => Ok(self.read_named_weekday(i)),
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

    // --- times ---

    /// A time of day at token `i`, the index after it, and whether it is a bare number.
    fn read_clock(&self, i: usize) -> Result<Option<(Clock, usize, bool)>, ScheduleError> {
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
    fn read_span(&self, i: usize, after_at: bool) -> Read<Span> {
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
    fn read_length(&self, i: usize) -> Read<Length> {
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

    // --- days ---

    /// A date, or a range of dates: "dec 5", "dec 5 to dec 7", "dec 5-7".
    fn read_dates(&self, i: usize) -> Read<Piece> {
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
    fn read_date(&self, i: usize) -> Read<DayRef> {
        let word = self.word(i);
        if is_iso_date(word) {
            return self.read_iso_date(i).map(Some);
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
    fn read_day(&self, i: usize) -> Read<DayRef> {
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
    fn read_named_weekday(&self, i: usize) -> Option<(Item, usize)> {
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
    fn read_in_days(&self, i: usize) -> Option<(DayRef, usize)> {
        let n = count(self.word(i))?;
        let days = match self.word(i + 1) {
            "day" | "days" => n,
            "week" | "weeks" => n.checked_mul(7)?,
            _ => return None,
        };
        Some((DayRef::InDays(days), i + 2))
    }

    /// "monday", "mondays and wednesdays", "weekdays", "mon, wed and fri".
    fn read_weekdays(&self, i: usize) -> Option<(NamedWeekdays, bool, usize)> {
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
    fn read_numbered_weekdays(&self, i: usize) -> Option<(Repeat, usize)> {
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
    fn read_month_days(&self, i: usize, introduced: bool) -> Read<Repeat> {
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

    fn month_day(&self, i: usize, day: u32) -> Result<u8, ScheduleError> {
        match u8::try_from(day) {
            Ok(day @ 1..=31) => Ok(day),
            _ => Err(self.error(i, "no such day of the month; use 1st to 31st")),
        }
    }

    // --- repeats and their bounds ---

    /// "every day", "every other friday", "every 2 weeks", "every first monday", "every 15th",
    /// "every oct 31st", at the index of "every".
    fn read_every(&self, i: usize) -> Result<(Item, usize), ScheduleError> {
        let mut next = i + 1;
        let mut interval = 1;
        if self.word(next) == "other" {
            interval = 2;
            next += 1;
        } else if let Some(n) = count(self.word(next)) {
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
                piece: Piece::Repeat(Repeat { interval, ..repeat }),
                at: i,
            },
            after,
        ))
    }

    /// What follows "every" (and "other" or a count), at `i`.
    fn read_every_what(&self, i: usize) -> Result<(Repeat, usize), ScheduleError> {
        let unit = match self.word(i) {
            "day" | "days" | "night" | "nights" => Some(Frequency::Daily),
            "week" | "weeks" => Some(Frequency::Weekly),
            "month" | "months" => Some(Frequency::Monthly),
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
        if let Some(found) = self.read_numbered_weekdays(i) {
            return Ok(found);
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

fn count_days(amount: f64) -> Option<u32> {
    (amount.fract() == 0.0 && (1.0..=366.0).contains(&amount)).then_some(amount as u32)
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

// ---------------------------------------------------------------------------------------------
// Resolving: pieces → dates and times against `now`.

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

struct Resolver<'a> {
    text: &'a str,
    tokens: &'a [Token],
    now: NaiveDateTime,
}

type Resolved = (When, Option<Recurrence>, Vec<NaiveDate>);

impl Resolver<'_> {
    fn error(&self, i: usize, reason: impl Into<String>) -> ScheduleError {
        match self.tokens.get(i) {
            Some(token) => error_at(token, reason),
            None => no_schedule(self.text),
        }
    }

    fn out_of_range(&self, i: usize) -> ScheduleError {
        self.error(i, "the date is beyond the calendar's range")
    }

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

    fn gather(&self, items: Vec<Item>) -> Result<Gathered, ScheduleError> {
        let mut gathered = Gathered::default();
        for Item { piece, at } in items {
            match piece {
                Piece::Day(day) => gathered.days.push((Mention::One(day), at)),
                Piece::Days(first, last, last_at) => gathered
                    .days
                    .push((Mention::Range(first, last, last_at), at)),
                Piece::Weekdays(days, true) => {
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
                Piece::Weekdays(days, false) => {
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
            }
        }
        Ok(gathered)
    }

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

    fn recurring(
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

/// Looks for the first occurrence of a rule at or after `from`.
struct Search<'a> {
    rule: &'a Recurrence,
    timing: Option<(NaiveTime, Ends)>,
    from: NaiveDateTime,
}

impl Search<'_> {
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
fn occurs_on(rule: &Recurrence, date: NaiveDate) -> bool {
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

/// The first `month`/`day` on or after `from` (Feb 29 waits for a leap year).
fn next_date(month: u32, day: u32, from: NaiveDate) -> Option<NaiveDate> {
    (from.year()..=from.year() + 8)
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .find(|date| *date >= from)
}

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

fn dedup_keeping_order<T: PartialEq + Copy>(items: &mut Vec<T>) {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for &item in items.iter() {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    *items = kept;
}

#[cfg(test)]
mod tests {
    use super::*;
    use Frequency::{Daily, Monthly, Weekly, Yearly};
    use Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
    use proptest::prelude::*;

    /// Wednesday 2026-11-25 10:00.
    fn now() -> NaiveDateTime {
        at(2026, 11, 25, 10, 0)
    }

    fn day(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("test date")
    }

    fn at(year: i32, month: u32, d: u32, hour: u32, minute: u32) -> NaiveDateTime {
        day(year, month, d)
            .and_hms_opt(hour, minute, 0)
            .expect("test time")
    }

    fn read(text: &str) -> Schedule {
        parse(text, now()).unwrap_or_else(|error| panic!("{text:?}: {error}"))
    }

    fn refused(text: &str) -> (String, usize) {
        match parse(text, now()) {
            Ok(schedule) => panic!("{text:?} was read as {schedule:?}"),
            Err(error) => (error.word, error.column),
        }
    }

    fn timed(title: &str, start: NaiveDateTime, end: NaiveDateTime) -> Schedule {
        Schedule {
            title: title.into(),
            when: When::Timed { start, end },
            recurrence: None,
            exceptions: vec![],
        }
    }

    fn all_day(title: &str, first: NaiveDate, last: NaiveDate) -> Schedule {
        Schedule {
            title: title.into(),
            when: When::AllDay { first, last },
            recurrence: None,
            exceptions: vec![],
        }
    }

    fn rule(frequency: Frequency, interval: u32) -> Recurrence {
        Recurrence {
            frequency,
            interval,
            weekdays: vec![],
            month_days: vec![],
            months: vec![],
            until: None,
        }
    }

    fn on(frequency: Frequency, weekdays: &[Weekday]) -> Recurrence {
        Recurrence {
            weekdays: weekdays.iter().map(|&w| (None, w)).collect(),
            ..rule(frequency, 1)
        }
    }

    fn nth(weekdays: &[(i8, Weekday)]) -> Recurrence {
        Recurrence {
            weekdays: weekdays.iter().map(|&(n, w)| (Some(n), w)).collect(),
            ..rule(Monthly, 1)
        }
    }

    fn monthly(days: &[u8]) -> Recurrence {
        Recurrence {
            month_days: days.to_vec(),
            ..rule(Monthly, 1)
        }
    }

    fn yearly(month: u8, month_day: u8) -> Recurrence {
        Recurrence {
            months: vec![month],
            month_days: vec![month_day],
            ..rule(Yearly, 1)
        }
    }

    fn repeating(schedule: &Schedule, recurrence: Recurrence) -> Schedule {
        Schedule {
            recurrence: Some(recurrence),
            ..schedule.clone()
        }
    }

    fn hour(start: NaiveDateTime) -> Schedule {
        timed("", start, start + TimeDelta::hours(1))
    }

    // --- single events ---

    #[test]
    fn month_day_and_time() {
        assert_eq!(
            read("dec 5 9:30am"),
            timed("", at(2026, 12, 5, 9, 30), at(2026, 12, 5, 10, 30))
        );
    }

    #[test]
    fn tomorrow_at_noon_for_two_hours() {
        assert_eq!(
            read("tomorrow at noon for 2 hours"),
            timed("", at(2026, 11, 26, 12, 0), at(2026, 11, 26, 14, 0))
        );
    }

    #[test]
    fn weekday_with_a_time_range() {
        assert_eq!(
            read("tuesday 3pm to 5pm"),
            timed("", at(2026, 12, 1, 15, 0), at(2026, 12, 1, 17, 0))
        );
    }

    #[test]
    fn iso_date_with_24_hour_range() {
        assert_eq!(
            read("2026-12-24 18:00-22:00"),
            timed("", at(2026, 12, 24, 18, 0), at(2026, 12, 24, 22, 0))
        );
    }

    #[test]
    fn title_before_weekday_and_time() {
        assert_eq!(
            read("DMV friday at 10:30"),
            timed("DMV", at(2026, 11, 27, 10, 30), at(2026, 11, 27, 11, 30))
        );
    }

    #[test]
    fn date_without_time_is_all_day() {
        assert_eq!(
            read("dec 5"),
            all_day("", day(2026, 12, 5), day(2026, 12, 5))
        );
    }

    #[test]
    fn ranges_of_days() {
        let expected = all_day("", day(2026, 12, 5), day(2026, 12, 7));
        for text in [
            "dec 5 to dec 7",
            "dec 5-7",
            "dec 5 - dec 7",
            "from dec 5 to dec 7",
            "dec 5 for 3 days",
        ] {
            assert_eq!(read(text), expected, "{text}");
        }
        assert_eq!(
            read("dec 30 to jan 2"),
            all_day("", day(2026, 12, 30), day(2027, 1, 2))
        );
    }

    #[test]
    fn every_month_name_is_read() {
        let names = [
            ("jan", 1),
            ("feb", 2),
            ("mar", 3),
            ("apr", 4),
            ("may", 5),
            ("jun", 6),
            ("jul", 7),
            ("aug", 8),
            ("sep", 9),
            ("sept", 9),
            ("oct", 10),
            ("nov", 11),
            ("dec", 12),
            ("january", 1),
            ("february", 2),
            ("march", 3),
            ("april", 4),
            ("june", 6),
            ("july", 7),
            ("august", 8),
            ("september", 9),
            ("october", 10),
            ("november", 11),
            ("december", 12),
            ("Dec.", 12),
            ("SEPT.", 9),
        ];
        for (name, month) in names {
            let year = if month == 12 { 2026 } else { 2027 };
            let date = day(year, month, 3);
            assert_eq!(
                read(&format!("{name} 3")),
                all_day("", date, date),
                "{name}"
            );
        }
    }

    #[test]
    fn dates_already_past_this_year_are_next_year() {
        assert_eq!(
            read("nov 3"),
            all_day("", day(2027, 11, 3), day(2027, 11, 3))
        );
        assert_eq!(read("apr 5"), all_day("", day(2027, 4, 5), day(2027, 4, 5)));
        assert_eq!(
            read("nov 25"),
            all_day("", day(2026, 11, 25), day(2026, 11, 25))
        );
    }

    #[test]
    fn day_before_month_and_ordinals() {
        let nov3 = all_day("", day(2027, 11, 3), day(2027, 11, 3));
        assert_eq!(read("3 nov"), nov3);
        assert_eq!(read("november 3rd"), nov3);
        assert_eq!(read("3rd of november"), nov3);
        assert_eq!(read("the 3rd of november"), nov3);
    }

    #[test]
    fn dates_with_a_year() {
        let expected = all_day("", day(2027, 12, 5), day(2027, 12, 5));
        assert_eq!(read("dec 5, 2027"), expected);
        assert_eq!(read("dec 5 2027"), expected);
        assert_eq!(read("5 december 2027"), expected);
    }

    #[test]
    fn feb_29_waits_for_a_leap_year() {
        assert_eq!(
            read("feb 29"),
            all_day("", day(2028, 2, 29), day(2028, 2, 29))
        );
    }

    #[test]
    fn an_end_before_the_start_is_the_next_day() {
        let expected = timed("", at(2026, 11, 27, 22, 0), at(2026, 11, 28, 2, 0));
        assert_eq!(read("10pm to 2am friday"), expected);
        assert_eq!(read("friday 10pm to 2am"), expected);
    }

    #[test]
    fn today_and_tonight() {
        assert_eq!(read("today 5pm"), hour(at(2026, 11, 25, 17, 0)));
        assert_eq!(read("tonight at 9"), hour(at(2026, 11, 25, 21, 0)));
        assert_eq!(read("tonight 10:30"), hour(at(2026, 11, 25, 22, 30)));
        assert_eq!(
            read("today"),
            all_day("", day(2026, 11, 25), day(2026, 11, 25))
        );
    }

    #[test]
    fn a_time_alone_is_today_or_tomorrow() {
        assert_eq!(read("noon"), hour(at(2026, 11, 25, 12, 0)));
        assert_eq!(read("midnight"), hour(at(2026, 11, 26, 0, 0)));
        assert_eq!(read("at 7 pm"), hour(at(2026, 11, 25, 19, 0)));
        assert_eq!(read("7:30 p.m."), hour(at(2026, 11, 25, 19, 30)));
        assert_eq!(read("9am"), hour(at(2026, 11, 26, 9, 0)));
        assert_eq!(read("10:00"), hour(at(2026, 11, 25, 10, 0)));
    }

    #[test]
    fn french_style_hours() {
        assert_eq!(read("19h"), hour(at(2026, 11, 25, 19, 0)));
        assert_eq!(read("friday 19h30"), hour(at(2026, 11, 27, 19, 30)));
    }

    #[test]
    fn in_some_days() {
        assert_eq!(
            read("in 3 days"),
            all_day("", day(2026, 11, 28), day(2026, 11, 28))
        );
        assert_eq!(read("in 2 weeks at 9am"), hour(at(2026, 12, 9, 9, 0)));
    }

    #[test]
    fn a_weekday_alone_is_the_next_one() {
        assert_eq!(
            read("friday"),
            all_day("", day(2026, 11, 27), day(2026, 11, 27))
        );
        assert_eq!(
            read("next friday"),
            all_day("", day(2026, 11, 27), day(2026, 11, 27))
        );
        assert_eq!(
            read("this friday"),
            all_day("", day(2026, 11, 27), day(2026, 11, 27))
        );
    }

    #[test]
    fn today_counts_as_the_weekday_only_while_ahead() {
        assert_eq!(
            read("wednesday"),
            all_day("", day(2026, 11, 25), day(2026, 11, 25))
        );
        assert_eq!(read("wednesday 11am"), hour(at(2026, 11, 25, 11, 0)));
        assert_eq!(read("wednesday 9am"), hour(at(2026, 12, 2, 9, 0)));
        assert_eq!(
            read("next wednesday"),
            all_day("", day(2026, 12, 2), day(2026, 12, 2))
        );
        assert_eq!(read("next wednesday 11am"), hour(at(2026, 12, 2, 11, 0)));
    }

    #[test]
    fn ways_to_write_a_time() {
        let cases = [
            ("friday at 9", (9, 0)),
            ("friday 9am", (9, 0)),
            ("friday 9 am", (9, 0)),
            ("friday 9:30", (9, 30)),
            ("friday 09:30", (9, 30)),
            ("friday 21:00", (21, 0)),
            ("friday noon", (12, 0)),
            ("friday midnight", (0, 0)),
            ("friday 12am", (0, 0)),
            ("friday 12pm", (12, 0)),
            ("friday at 12", (12, 0)),
            ("friday 9a", (9, 0)),
            ("friday at 7 o'clock", (19, 0)),
            ("friday @ 3", (15, 0)),
        ];
        for (text, (h, m)) in cases {
            assert_eq!(read(text), hour(at(2026, 11, 27, h, m)), "{text}");
        }
    }

    #[test]
    fn bare_hours_after_at() {
        assert_eq!(read("friday at 7"), hour(at(2026, 11, 27, 19, 0)));
        assert_eq!(read("friday at 1"), hour(at(2026, 11, 27, 13, 0)));
        assert_eq!(read("friday at 8"), hour(at(2026, 11, 27, 8, 0)));
        assert_eq!(read("friday at 07:00"), hour(at(2026, 11, 27, 7, 0)));
        assert_eq!(read("friday 7:00"), hour(at(2026, 11, 27, 7, 0)));
    }

    #[test]
    fn time_ranges() {
        let friday = |h1, m1, h2, m2| timed("", at(2026, 11, 27, h1, m1), at(2026, 11, 27, h2, m2));
        let cases = [
            ("friday 9-10am", friday(9, 0, 10, 0)),
            ("friday 9am-5pm", friday(9, 0, 17, 0)),
            ("friday 3pm to 5pm", friday(15, 0, 17, 0)),
            ("friday 18:00-22:00", friday(18, 0, 22, 0)),
            ("friday from 3 to 5pm", friday(15, 0, 17, 0)),
            ("friday 3 - 5pm", friday(15, 0, 17, 0)),
            ("friday 11-1pm", friday(11, 0, 13, 0)),
            ("friday 9am-5", friday(9, 0, 17, 0)),
            ("friday at 9-10", friday(9, 0, 10, 0)),
            ("friday 9:30am – 11:15am", friday(9, 30, 11, 15)),
            ("friday noon-2pm", friday(12, 0, 14, 0)),
            ("friday 9am until 5pm", friday(9, 0, 17, 0)),
        ];
        for (text, expected) in cases {
            assert_eq!(read(text), expected, "{text}");
        }
    }

    #[test]
    fn lengths() {
        let friday = |h2, m2| timed("", at(2026, 11, 27, 15, 0), at(2026, 11, 27, h2, m2));
        let cases = [
            ("friday 3pm for 2 hours", friday(17, 0)),
            ("friday 3pm for 90 minutes", friday(16, 30)),
            ("friday 3pm for 1.5 hours", friday(16, 30)),
            ("friday 3pm for an hour", friday(16, 0)),
            ("friday 3pm for half an hour", friday(15, 30)),
            ("friday 3pm for 2h", friday(17, 0)),
            ("friday 3pm for 45 min", friday(15, 45)),
        ];
        for (text, expected) in cases {
            assert_eq!(read(text), expected, "{text}");
        }
    }

    #[test]
    fn case_spaces_and_punctuation_are_tolerated() {
        assert_eq!(
            read("  Dentist,   FRIDAY,  at 3PM!  "),
            timed("Dentist", at(2026, 11, 27, 15, 0), at(2026, 11, 27, 16, 0))
        );
    }

    #[test]
    fn words_around_the_schedule_are_the_title() {
        assert_eq!(
            read("meet at the office friday 3pm"),
            timed(
                "meet at the office",
                at(2026, 11, 27, 15, 0),
                at(2026, 11, 27, 16, 0)
            )
        );
        assert_eq!(
            read("Lunch with Bob on friday at noon"),
            timed(
                "Lunch with Bob",
                at(2026, 11, 27, 12, 0),
                at(2026, 11, 27, 13, 0)
            )
        );
        assert_eq!(
            read("room 9 friday"),
            all_day("room 9", day(2026, 11, 27), day(2026, 11, 27))
        );
        assert_eq!(
            read("co-op meeting dec 5"),
            all_day("co-op meeting", day(2026, 12, 5), day(2026, 12, 5))
        );
        assert_eq!(
            read("bob's party friday"),
            all_day("bob's party", day(2026, 11, 27), day(2026, 11, 27))
        );
    }

    #[test]
    fn weekday_abbreviations_that_are_words() {
        let friday = |title| all_day(title, day(2026, 11, 27), day(2026, 11, 27));
        assert_eq!(read("walk in the sun friday"), friday("walk in the sun"));
        assert_eq!(read("we sat friday"), friday("we sat"));
        assert_eq!(
            read("sun"),
            all_day("", day(2026, 11, 29), day(2026, 11, 29))
        );
    }

    #[test]
    fn keywords_before_words_that_are_not_schedule_stay_in_the_title() {
        let friday = |title| all_day(title, day(2026, 11, 27), day(2026, 11, 27));
        assert_eq!(read("from bob friday"), friday("from bob"));
        assert_eq!(read("on call friday"), friday("on call"));
        assert_eq!(read("for bob friday"), friday("for bob"));
        assert_eq!(read("next steps friday"), friday("next steps"));
        assert_eq!(read("each of us friday"), friday("each of us"));
        assert_eq!(
            read("meet at 221b baker st friday"),
            friday("meet at 221b baker st")
        );
        assert_eq!(read("2nd floor friday"), friday("2nd floor"));
        assert_eq!(read("32nd street friday"), friday("32nd street"));
    }

    // --- repeats ---

    #[test]
    fn every_monday_with_a_range() {
        let expected = timed("", at(2026, 11, 30, 9, 0), at(2026, 11, 30, 10, 0));
        assert_eq!(
            read("every monday 9-10am"),
            repeating(&expected, on(Weekly, &[Mon]))
        );
    }

    #[test]
    fn plural_weekdays_repeat() {
        let expected = timed(
            "javascript study group",
            at(2026, 11, 26, 19, 0),
            at(2026, 11, 26, 20, 0),
        );
        assert_eq!(
            read("javascript study group thursdays at 7 pm"),
            repeating(&expected, on(Weekly, &[Thu]))
        );
    }

    #[test]
    fn every_other_friday_until_a_month() {
        let expected = timed("", at(2026, 11, 27, 16, 0), at(2026, 11, 27, 17, 0));
        let rule = Recurrence {
            until: Some(day(2027, 2, 28)),
            ..on(Weekly, &[Fri])
        };
        let rule = Recurrence {
            interval: 2,
            ..rule
        };
        assert_eq!(
            read("every other friday at 4pm until march"),
            repeating(&expected, rule)
        );
    }

    #[test]
    fn every_day_starting_until() {
        let expected = timed("", at(2027, 1, 15, 12, 0), at(2027, 1, 15, 13, 0));
        let rule = Recurrence {
            until: Some(day(2027, 2, 10)),
            ..rule(Daily, 1)
        };
        assert_eq!(
            read("every day at 12:00 starting jan 15 until feb 10"),
            repeating(&expected, rule)
        );
    }

    #[test]
    fn two_plural_weekdays() {
        let expected = hour(at(2026, 11, 30, 8, 0));
        assert_eq!(
            read("mondays and wednesdays 8am"),
            repeating(&expected, on(Weekly, &[Mon, Wed]))
        );
    }

    #[test]
    fn every_weekday_and_weekends() {
        let expected = hour(at(2026, 11, 26, 9, 0));
        assert_eq!(
            read("every weekday at 9"),
            repeating(&expected, on(Weekly, &[Mon, Tue, Wed, Thu, Fri]))
        );
        let saturday = all_day("", day(2026, 11, 28), day(2026, 11, 28));
        assert_eq!(
            read("weekends"),
            repeating(&saturday, on(Weekly, &[Sat, Sun]))
        );
        assert_eq!(
            read("every weekend"),
            repeating(&saturday, on(Weekly, &[Sat, Sun]))
        );
    }

    #[test]
    fn daily_weekly_and_every_n() {
        assert_eq!(
            read("daily at 7am"),
            repeating(&hour(at(2026, 11, 26, 7, 0)), rule(Daily, 1))
        );
        let tuesday = all_day("", day(2026, 12, 1), day(2026, 12, 1));
        assert_eq!(
            read("weekly on tuesday"),
            repeating(&tuesday, on(Weekly, &[Tue]))
        );
        let monday = all_day("", day(2026, 11, 30), day(2026, 11, 30));
        let rule2 = Recurrence {
            interval: 2,
            ..on(Weekly, &[Mon])
        };
        assert_eq!(read("every 2 weeks on monday"), repeating(&monday, rule2));
        let today = all_day("", day(2026, 11, 25), day(2026, 11, 25));
        assert_eq!(read("every 3 days"), repeating(&today, rule(Daily, 3)));
        assert_eq!(read("every week"), repeating(&today, on(Weekly, &[Wed])));
        assert_eq!(
            read("biweekly on friday"),
            repeating(
                &all_day("", day(2026, 11, 27), day(2026, 11, 27)),
                Recurrence {
                    interval: 2,
                    ..on(Weekly, &[Fri])
                }
            )
        );
    }

    #[test]
    fn days_of_the_month() {
        let dec15 = all_day("", day(2026, 12, 15), day(2026, 12, 15));
        for text in [
            "the 15th",
            "every 15th",
            "the 15th of every month",
            "on the 15th of the month",
            "monthly on the 15th",
            "every month on the 15th",
        ] {
            assert_eq!(read(text), repeating(&dec15, monthly(&[15])), "{text}");
        }
        let dec1 = all_day("", day(2026, 12, 1), day(2026, 12, 1));
        assert_eq!(
            read("on the 1st and 15th"),
            repeating(&dec1, monthly(&[1, 15]))
        );
        assert_eq!(
            read("monthly on the 3rd at 2pm"),
            repeating(&hour(at(2026, 12, 3, 14, 0)), monthly(&[3]))
        );
        assert_eq!(
            read("the first of the month"),
            repeating(&dec1, monthly(&[1]))
        );
        assert_eq!(
            read("every 31st"),
            repeating(
                &all_day("", day(2026, 12, 31), day(2026, 12, 31)),
                monthly(&[31])
            )
        );
        let today = all_day("", day(2026, 11, 25), day(2026, 11, 25));
        assert_eq!(read("monthly"), repeating(&today, monthly(&[25])));
    }

    #[test]
    fn yearly_dates() {
        let oct31 = all_day("", day(2027, 10, 31), day(2027, 10, 31));
        assert_eq!(read("every oct 31st"), repeating(&oct31, yearly(10, 31)));
        let mar3 = all_day("", day(2027, 3, 3), day(2027, 3, 3));
        assert_eq!(
            read("every year on march 3"),
            repeating(&mar3, yearly(3, 3))
        );
        let dec25 = all_day("", day(2026, 12, 25), day(2026, 12, 25));
        assert_eq!(read("annually dec 25"), repeating(&dec25, yearly(12, 25)));
        let today = all_day("", day(2026, 11, 25), day(2026, 11, 25));
        assert_eq!(read("yearly"), repeating(&today, yearly(11, 25)));
    }

    #[test]
    fn numbered_weekdays() {
        let dec1 = all_day("", day(2026, 12, 1), day(2026, 12, 1));
        assert_eq!(read("first tuesday"), repeating(&dec1, nth(&[(1, Tue)])));
        let nov26 = all_day("", day(2026, 11, 26), day(2026, 11, 26));
        assert_eq!(
            read("2nd and 4th thursday"),
            repeating(&nov26, nth(&[(2, Thu), (4, Thu)]))
        );
        let nov27 = all_day("", day(2026, 11, 27), day(2026, 11, 27));
        assert_eq!(
            read("last friday of the month"),
            repeating(&nov27, nth(&[(-1, Fri)]))
        );
        assert_eq!(
            read("every first monday at 6pm"),
            repeating(&hour(at(2026, 12, 7, 18, 0)), nth(&[(1, Mon)]))
        );
        let sep7 = all_day("", day(2027, 9, 6), day(2027, 9, 6));
        let labor_day = Recurrence {
            frequency: Yearly,
            months: vec![9],
            ..nth(&[(1, Mon)])
        };
        assert_eq!(
            read("first monday of september"),
            repeating(&sep7, labor_day)
        );
    }

    #[test]
    fn quoted_titles_are_not_read() {
        let expected = timed(
            "linux installfest friday",
            at(2026, 11, 27, 21, 0),
            at(2026, 11, 27, 22, 0),
        );
        assert_eq!(
            read("\"linux installfest friday\" friday at 21:00"),
            expected
        );
        assert_eq!(read("'linux installfest friday' friday at 21:00"), expected);
        assert_eq!(read("“linux installfest friday” friday at 21:00"), expected);
        assert_eq!(read("‘linux installfest friday’ friday at 21:00"), expected);
        assert_eq!(
            read("friday at 21:00 \"linux installfest friday\""),
            expected
        );
    }

    #[test]
    fn exceptions() {
        let expected = repeating(&hour(at(2026, 11, 30, 9, 0)), on(Weekly, &[Mon]));
        let expected = Schedule {
            exceptions: vec![day(2026, 12, 28)],
            ..expected
        };
        assert_eq!(read("every monday 9am except dec 28"), expected);
        let expected = repeating(&hour(at(2026, 11, 25, 12, 0)), rule(Daily, 1));
        let expected = Schedule {
            exceptions: vec![day(2026, 12, 25), day(2027, 1, 1)],
            ..expected
        };
        assert_eq!(read("every day at noon except dec 25 and jan 1"), expected);
        assert_eq!(read("every day at noon except jan 1, dec 25"), expected);
    }

    #[test]
    fn an_excepted_first_occurrence_is_skipped() {
        let expected = repeating(&hour(at(2026, 12, 7, 9, 0)), on(Weekly, &[Mon]));
        let expected = Schedule {
            exceptions: vec![day(2026, 11, 30)],
            ..expected
        };
        assert_eq!(read("every monday 9am except nov 30"), expected);
    }

    #[test]
    fn until_a_date() {
        let monday = all_day("", day(2026, 11, 30), day(2026, 11, 30));
        let until = |date: NaiveDate| {
            repeating(
                &monday,
                Recurrence {
                    until: Some(date),
                    ..on(Weekly, &[Mon])
                },
            )
        };
        assert_eq!(read("every monday until feb 10"), until(day(2027, 2, 10)));
        assert_eq!(
            read("every monday until 2027-03-01"),
            until(day(2027, 3, 1))
        );
        assert_eq!(
            read("every monday through dec 31"),
            until(day(2026, 12, 31))
        );
    }

    #[test]
    fn starting_a_date() {
        let jan18 = all_day("", day(2027, 1, 18), day(2027, 1, 18));
        for text in [
            "every monday starting jan 15",
            "every monday from jan 15",
            "every monday beginning jan 15",
            "mondays starting on jan 15",
        ] {
            assert_eq!(read(text), repeating(&jan18, on(Weekly, &[Mon])), "{text}");
        }
        let jan15 = all_day("", day(2027, 1, 15), day(2027, 1, 15));
        let range = Recurrence {
            until: Some(day(2027, 2, 10)),
            ..rule(Daily, 1)
        };
        assert_eq!(
            read("every day from jan 15 to feb 10"),
            repeating(&jan15, range)
        );
        assert_eq!(
            read("every week starting jan 15"),
            repeating(&jan15, on(Weekly, &[Fri]))
        );
    }

    // --- errors ---

    #[test]
    fn unknown_word_after_every() {
        assert_eq!(refused("every blursday"), ("blursday".into(), 7));
    }

    #[test]
    fn impossible_dates() {
        assert_eq!(refused("dec 45"), ("45".into(), 5));
        assert_eq!(refused("feb 30 3pm"), ("30".into(), 5));
        assert_eq!(refused("2026-02-30"), ("2026-02-30".into(), 1));
        assert_eq!(refused("the 32nd"), ("32nd".into(), 5));
        assert_eq!(refused("feb 29 2027"), ("29".into(), 5));
    }

    #[test]
    fn impossible_times() {
        assert_eq!(refused("at 25:00"), ("25:00".into(), 4));
        assert_eq!(refused("9:75"), ("9:75".into(), 1));
        assert_eq!(refused("friday 13pm"), ("13pm".into(), 8));
        assert_eq!(refused("friday 3pm to 9:5"), ("9:5".into(), 15));
    }

    #[test]
    fn unreadable_bounds() {
        assert_eq!(refused("until someday"), ("someday".into(), 7));
        assert_eq!(refused("except whenever"), ("whenever".into(), 8));
        assert_eq!(refused("starting soon"), ("soon".into(), 10));
        assert_eq!(refused("every monday until"), ("until".into(), 14));
    }

    #[test]
    fn text_without_a_schedule() {
        let error = parse("lunch with bob", now()).expect_err("no schedule");
        assert_eq!((error.word.as_str(), error.column), ("lunch with bob", 1));
        assert!(error.reason.contains("friday 3pm"), "{}", error.reason);
        assert_eq!(refused(""), (String::new(), 1));
        assert_eq!(refused("   "), ("   ".into(), 1));
    }

    #[test]
    fn conflicts_are_refused_at_the_second_part() {
        assert_eq!(refused("tomorrow friday"), ("friday".into(), 10));
        assert_eq!(refused("friday 3pm 5pm"), ("5pm".into(), 12));
        assert_eq!(refused("at 3pm at 5pm"), ("5pm".into(), 11));
        assert_eq!(refused("3pm to 4pm for 2 hours"), ("for".into(), 12));
        assert_eq!(refused("every day weekdays"), ("weekdays".into(), 11));
        assert_eq!(refused("every day on friday"), ("friday".into(), 14));
    }

    #[test]
    fn parts_that_need_a_repeat() {
        assert_eq!(refused("friday until march"), ("until".into(), 8));
        assert_eq!(refused("friday except dec 4"), ("except".into(), 8));
        assert_eq!(refused("tomorrow for 2 hours"), ("for".into(), 10));
        assert_eq!(refused("every hour"), ("hour".into(), 7));
        assert_eq!(refused("every day for 3 days"), ("for".into(), 11));
        assert_eq!(
            refused("every monday until nov 1 2026"),
            ("until".into(), 14)
        );
    }

    // --- properties ---

    fn is_occurrence(schedule: &Schedule) -> bool {
        let start = match schedule.when {
            When::Timed { start, end } => {
                if end <= start {
                    return false;
                }
                start.date()
            }
            When::AllDay { first, last } => {
                if last < first {
                    return false;
                }
                first
            }
        };
        let sorted = schedule.exceptions.windows(2).all(|pair| pair[0] < pair[1]);
        let matches = schedule.recurrence.as_ref().is_none_or(|rule| {
            let shape = match rule.frequency {
                Daily => {
                    rule.weekdays.is_empty() && rule.month_days.is_empty() && rule.months.is_empty()
                }
                Weekly => {
                    !rule.weekdays.is_empty() && rule.weekdays.iter().all(|(n, _)| n.is_none())
                }
                Monthly => {
                    rule.weekdays.is_empty() != rule.month_days.is_empty() && rule.months.is_empty()
                }
                Yearly => {
                    !rule.months.is_empty()
                        && rule.weekdays.is_empty() != rule.month_days.is_empty()
                }
            };
            shape
                && occurs_on(rule, start)
                && rule.until.is_none_or(|until| start <= until)
                && rule.interval >= 1
                && !schedule.exceptions.contains(&start)
        });
        sorted && matches
    }

    /// Words the occurrence property combines at random.
    const WORDS: &str = "every other monday fridays weekdays weekend day week month year daily weekly \
        monthly annually first last 2nd 4th thursday and of the 15th 31st dec feb nov 29 5 30 3 \
        2027 at 7 12 9am 12am 3pm to - noon midnight 21:00 19h for 2 hours an hour 90 minutes \
        until march except starting from jan 1 tomorrow today tonight next this on lunch \
        \"quoted word\" in days 2026-12-24 10pm 2am weekends sun o'clock through";

    fn some_now() -> impl Strategy<Value = NaiveDateTime> {
        (0_u64..60_000, 0_u32..24 * 60).prop_map(|(days, minutes)| {
            let date = day(1990, 1, 1) + Days::new(days);
            date.and_hms_opt(minutes / 60, minutes % 60, 0)
                .expect("minutes of a day")
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,200}") {
            let _ = parse(&text, now());
        }

        #[test]
        fn never_panics_on_long_text(word in "[a-z0-9:\\- ]{1,12}", times in 1_usize..3000) {
            let _ = parse(&word.repeat(times), now());
        }

        #[test]
        fn what_is_read_is_an_occurrence(
            words in prop::collection::vec(prop::sample::select(WORDS.split_whitespace().collect::<Vec<_>>()), 1..9),
            now in some_now(),
        ) {
            let text = words.join(" ");
            if let Ok(schedule) = parse(&text, now) {
                prop_assert!(is_occurrence(&schedule), "{text:?} gave {schedule:?}");
            }
        }
    }
}
