//! The calendar: events written in everyday words, fixed in a time zone, expanded into
//! occurrences and written out for other calendar programs. Nothing here touches the log or a
//! database; the calendar *view* ([`crate::views::cal`]) stores events and queries them.
//!
//! - [`schedule`]: reads "every other friday at 4pm until march" against a wall-clock `now`.
//! - [`event`]: an event as its entry stores it, its recurrence (RFC 5545 RRULE) and occurrences.
//! - [`time`]: time zones, and times given by the user.
//! - [`ics`]: writes events as iCalendar (RFC 5545).
//! - [`repeat`]: an event's recurrence in parts, for putting it in words.
//! - [`revise`]: a new version of an event keeps every field the person did not change.

pub mod event;
pub mod ics;
pub mod repeat;
pub mod revise;
pub mod schedule;
pub mod time;
