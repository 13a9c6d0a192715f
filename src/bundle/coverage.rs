//! Which entries a set of bundles carries, read from their manifests: what `mule sync` leaves
//! out of a new bundle and what `--compact` may replace.

use std::collections::BTreeMap;

use super::{Kind, Range};
use crate::id::AuthorId;

/// A union of seq ranges per (kind, author).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    intervals: BTreeMap<(Kind, AuthorId), Vec<(u64, u64)>>,
}

impl Coverage {
    /// Adds a range.
    pub fn add(&mut self, range: &Range) {
        let list = self
            .intervals
            .entry((range.kind, range.author))
            .or_default();
        list.push((range.first, range.last));
        list.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(list.len());
        for &(first, last) in list.iter() {
            match merged.last_mut() {
                Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
                _ => merged.push((first, last)),
            }
        }
        *list = merged;
    }

    /// Adds every range of a manifest.
    pub fn add_all<'a>(&mut self, ranges: impl IntoIterator<Item = &'a Range>) {
        for range in ranges {
            self.add(range);
        }
    }

    /// Whether `range` lies entirely inside the union.
    pub fn contains(&self, range: &Range) -> bool {
        self.intervals
            .get(&(range.kind, range.author))
            .is_some_and(|list| {
                list.iter()
                    .any(|&(first, last)| first <= range.first && range.last <= last)
            })
    }

    /// The highest seq `n` such that the author's chain `1..=n` is covered (0 if none).
    pub fn prefix(&self, author: &AuthorId) -> u64 {
        self.intervals
            .get(&(Kind::Log, *author))
            .and_then(|list| list.first())
            .filter(|(first, _)| *first == 1)
            .map_or(0, |&(_, last)| last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(first: u64, last: u64) -> Range {
        Range {
            kind: Kind::Log,
            author: AuthorId::from_bytes([1; 32]),
            first,
            last,
        }
    }

    #[test]
    fn merges_adjacent_and_overlapping() {
        let mut c = Coverage::default();
        c.add(&log(5, 9));
        assert_eq!(c.prefix(&log(1, 1).author), 0);
        c.add(&log(1, 4));
        c.add(&log(8, 12));
        assert_eq!(c.prefix(&log(1, 1).author), 12);
        assert!(c.contains(&log(3, 11)));
        assert!(!c.contains(&log(3, 13)));
        let fork = Range {
            kind: Kind::Fork,
            ..log(3, 4)
        };
        assert!(!c.contains(&fork));
    }
}
