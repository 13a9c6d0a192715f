//! A new version of an event: what the person gives replaces, every other field is kept.
//!
//! `mule cal put ID "dec 12 at 10:00"` moves the event and keeps its title; `mule cal put ID
//! --title "Board"` renames it and keeps its schedule. A schedule with no zone of its own is
//! read in the zone asked for, or else in the event's own zone (where it was written), so
//! editing from another zone does not shift the event.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::event::{Event, EventError};
use super::schedule::{self, ScheduleError};

/// What a person asks to change in an event.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    /// A new schedule in everyday words (its left-over words, if any, become the title).
    pub text: Option<&'a str>,
    /// A new title.
    pub title: Option<String>,
    /// The zone to read the schedule in, when the person named one.
    pub tz: Option<Tz>,
}

/// Why a change could not be made into an event version.
#[derive(Debug, thiserror::Error)]
pub enum ReviseError {
    /// The schedule text could not be read.
    #[error("the schedule {text:?}: {source}")]
    Schedule {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        source: ScheduleError,
    },
    /// The schedule reads, but not as an event.
    #[error(transparent)]
    Event(#[from] EventError),
    /// Only a title was given for an event that does not exist.
    #[error("no event `{id}` to change (never added, or removed): give a schedule to write it")]
    NoEvent {
        /// The event id.
        id: String,
    },
    /// Neither a schedule nor a title was given.
    #[error("nothing to change: give a schedule, --title, or both")]
    Nothing,
}

/// Event `id` as `change` makes it from `current`, its newest version (`None`: a new event).
/// A schedule is read against `now` in `change.tz`, else the current event's zone, else
/// `default_tz`; a schedule that leaves no words for a title keeps the current title.
pub fn revise(
    id: &str,
    current: Option<&Event>,
    change: Change<'_>,
    now: DateTime<Utc>,
    default_tz: Tz,
) -> Result<Event, ReviseError> {
    let mut event = match (change.text, current) {
        (Some(text), _) => {
            let tz = change.tz.or(current.map(|c| c.tz)).unwrap_or(default_tz);
            let read = schedule::parse(text, now.with_timezone(&tz)).map_err(|source| {
                ReviseError::Schedule {
                    text: text.to_owned(),
                    source,
                }
            })?;
            let mut event = Event::from_schedule(id.to_owned(), Some(text.to_owned()), &read)?;
            if event.title.is_empty()
                && let Some(current) = current
            {
                event.title.clone_from(&current.title);
            }
            event
        }
        (None, Some(current)) if change.title.is_some() => current.clone(),
        (None, Some(_)) => return Err(ReviseError::Nothing),
        (None, None) => return Err(ReviseError::NoEvent { id: id.to_owned() }),
    };
    if let Some(title) = change.title {
        event.title = title;
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
    }

    fn added(text: &str, tz: Tz) -> Event {
        let change = Change {
            text: Some(text),
            ..Change::default()
        };
        revise("e1", None, change, now(), tz).unwrap()
    }

    #[test]
    fn a_new_schedule_keeps_the_title_and_the_zone() {
        let current = added("DMV friday at 10:30", chrono_tz::Europe::Oslo);
        let change = Change {
            text: Some("dec 12 at 10:00"),
            ..Change::default()
        };
        let next = revise("e1", Some(&current), change, now(), Tz::UTC).unwrap();
        assert_eq!(next.title, "DMV");
        assert_eq!(next.tz, chrono_tz::Europe::Oslo);
        assert_eq!(next.first_start().to_rfc3339(), "2026-12-12T10:00:00+01:00");
    }

    #[test]
    fn words_left_over_or_a_title_option_replace_the_title() {
        let current = added("DMV friday at 10:30", chrono_tz::Europe::Oslo);
        let change = Change {
            text: Some("dentist dec 12 at 10:00"),
            ..Change::default()
        };
        let next = revise("e1", Some(&current), change, now(), Tz::UTC).unwrap();
        assert_eq!(next.title, "dentist");
        let change = Change {
            title: Some("Board".into()),
            ..Change::default()
        };
        let renamed = revise("e1", Some(&current), change, now(), Tz::UTC).unwrap();
        assert_eq!(renamed.title, "Board");
        assert_eq!(renamed.span, current.span);
        assert_eq!(renamed.text, current.text);
    }

    #[test]
    fn a_zone_asked_for_wins_over_the_events_own() {
        let current = added("DMV friday at 10:30", chrono_tz::Europe::Oslo);
        let change = Change {
            text: Some("dec 12 at 10:00"),
            tz: Some(chrono_tz::America::New_York),
            ..Change::default()
        };
        let next = revise("e1", Some(&current), change, now(), Tz::UTC).unwrap();
        assert_eq!(next.first_start().to_rfc3339(), "2026-12-12T10:00:00-05:00");
    }

    #[test]
    fn a_title_alone_needs_an_event_and_an_empty_change_is_refused() {
        let change = Change {
            title: Some("Board".into()),
            ..Change::default()
        };
        let missing = revise("e1", None, change, now(), Tz::UTC).unwrap_err();
        assert!(matches!(missing, ReviseError::NoEvent { .. }), "{missing}");
        let current = added("DMV friday at 10:30", chrono_tz::Europe::Oslo);
        let nothing = revise("e1", Some(&current), Change::default(), now(), Tz::UTC);
        assert!(matches!(nothing, Err(ReviseError::Nothing)));
    }
}
