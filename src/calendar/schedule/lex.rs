//! Scanning: text → tokens with their columns, quoted titles set aside.

use super::ScheduleError;
use super::words::weekday_named;

/// One word of the text.
#[derive(Debug)]
pub(super) struct Token {
    /// As written.
    pub(super) raw: String,
    /// Lowercase, without surrounding punctuation.
    pub(super) word: String,
    /// 1-based char index of its first character.
    pub(super) column: usize,
}

impl Token {
    /// The error that names this token and its column.
    pub(super) fn error(&self, reason: impl Into<String>) -> ScheduleError {
        ScheduleError {
            word: self.raw.clone(),
            column: self.column,
            reason: reason.into(),
        }
    }
}

/// The words of a text, and the quoted parts set aside as its title.
#[derive(Debug)]
pub(super) struct Scanned {
    /// The words outside quotes, in order.
    pub(super) tokens: Vec<Token>,
    /// The text inside each pair of quotes.
    pub(super) quoted: Vec<String>,
}

/// Splits `text` into words, setting quoted text aside.
pub(super) fn scan(text: &str) -> Scanned {
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

/// Ends the word being scanned, split at the dashes of ranges.
fn push_word(tokens: &mut Vec<Token>, word: &mut String, start: usize) {
    if word.is_empty() {
        return;
    }
    let pieces = split_weekday_list(word).unwrap_or_else(|| split_ranges(word));
    for (offset, piece) in pieces {
        tokens.push(Token {
            word: normalize(&piece),
            raw: piece,
            column: start + offset + 1,
        });
    }
    word.clear();
}

/// Splits "Mon/Wed/Fri" and "mon&thu" at their joins, when every part is a weekday.
fn split_weekday_list(word: &str) -> Option<Vec<(usize, String)>> {
    let is_join = |c: char| matches!(c, '/' | '&' | '+');
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in word.chars().enumerate() {
        if is_join(c) {
            pieces.push((start, word.chars().skip(start).take(i - start).collect()));
            pieces.push((i, c.to_string()));
            start = i + 1;
        }
    }
    pieces.push((start, word.chars().skip(start).collect()));
    // Pieces alternate: a weekday, a join, a weekday, ...
    let all_weekdays = pieces
        .iter()
        .step_by(2)
        .all(|(_, piece)| weekday_named(&normalize(piece)).is_some());
    (pieces.len() > 1 && all_weekdays).then_some(pieces)
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

/// Lowercase, without the punctuation around a word.
fn normalize(raw: &str) -> String {
    raw.trim_matches(|c: char| ".,;:!?()[]{}\"'“”‘’".contains(c))
        .to_lowercase()
}

/// "2026-12-24": four digits, then two groups of up to four digits, joined by dashes.
pub(super) fn is_iso_date(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}
