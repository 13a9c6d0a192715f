//! `mule cal`: events written the way people write schedules.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};

use mule::calendar::event::{Event, Span};
use mule::calendar::revise::{Change, revise};
use mule::calendar::{self, time};
use mule::replica::Replica;
use mule::report;
use mule::views::{cal, map};

use super::{Context, doc_written};
use crate::output::{count, print, write_json};
use mule::fsutil::write_atomically;

#[derive(Subcommand)]
/// `mule cal ...`.
pub enum CalCommand {
    /// Add an event: "dec 5 9:30am", "every other friday at 4pm until march", ... Prints its id
    Add {
        /// The schedule in everyday words; words that are not schedule become the title
        text: String,
        /// The title (instead of the words left over from the text)
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        clock: Clock,
    },
    /// Change an event: a new schedule, a new --title, or both; what is not given is kept (links its current versions)
    Put {
        /// The event id
        id: String,
        /// The new schedule in everyday words (read in the event's own zone unless --tz is given)
        text: Option<String>,
        /// The title (instead of the words left over from the text)
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        clock: Clock,
    },
    /// Remove an event
    Rm {
        /// The event id
        id: String,
    },
    /// Every occurrence from FROM to TO (recurrences expanded), sorted by start
    Query {
        /// Start: a date (2026-12-01) or a date and time (2026-12-01T09:00, or with an offset)
        from: String,
        /// End: a date (included whole) or a date and time (excluded)
        to: String,
        #[command(flatten)]
        clock: Clock,
    },
    /// Write every event as iCalendar (RFC 5545) for calendar programs
    Export {
        /// The .ics file to write (`-` for standard output)
        #[arg(long, value_name = "FILE")]
        ics: PathBuf,
    },
}

/// How to read times: the zone, and what "now" is.
#[derive(Args)]
pub struct Clock {
    /// Time zone (IANA name such as Europe/Oslo) for times without an offset, and where a query places all-day events; a zone written after a time ("9am PST") overrides it for that event [default: the system's]
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// What "now" is when reading "tomorrow", "friday": 2026-11-25T10:00 (in --tz) or with an offset [default: the clock]
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

impl Clock {
    fn zone(&self) -> Result<chrono_tz::Tz> {
        time::zone(self.tz.as_deref()).map_err(|e| anyhow!(e))
    }

    /// The zone given with --tz, if one was.
    fn explicit_zone(&self) -> Result<Option<chrono_tz::Tz>> {
        self.tz.as_deref().map(|_| self.zone()).transpose()
    }

    /// The current time in the zone.
    fn now(&self) -> Result<chrono::DateTime<chrono_tz::Tz>> {
        let tz = self.zone()?;
        let now = match &self.now {
            Some(text) => time::parse_time(text, tz, false).map_err(|e| anyhow!("--now: {e}"))?,
            None => chrono::Utc::now(),
        };
        Ok(now.with_timezone(&tz))
    }
}

/// Runs a `mule cal` command.
pub fn run(command: CalCommand, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    match command {
        CalCommand::Add { text, title, clock } => {
            let event = parse_event(map::new_id(), text, title, &clock)?;
            write_event(&mut replica, &event, context)
        }
        CalCommand::Put {
            id,
            text,
            title,
            clock,
        } => {
            let current = replica.event(&id)?;
            let change = Change {
                text: text.as_deref(),
                title,
                tz: clock.explicit_zone()?,
            };
            let event = revise(
                &id,
                current.as_ref(),
                change,
                clock.now()?.to_utc(),
                clock.zone()?,
            )?;
            write_event(&mut replica, &event, context)
        }
        CalCommand::Rm { id } => {
            replica.read_views(|views| views.cal().require(&id))?;
            let hash = replica.put_event(&id, None)?;
            print(
                context,
                &doc_written(&replica, &id, hash),
                &hash.to_string(),
            )
        }
        CalCommand::Query { from, to, clock } => {
            let tz = clock.zone()?;
            let from = time::parse_time(&from, tz, false).map_err(|e| anyhow!("FROM: {e}"))?;
            let to = time::parse_time(&to, tz, true).map_err(|e| anyhow!("TO: {e}"))?;
            if to <= from {
                bail!("TO must come after FROM");
            }
            let Ok(found) = replica.read_views(|views| views.cal().query(from, to, tz))? else {
                bail!(
                    "more than {} occurrences in that range; ask for a shorter one",
                    cal::MAX_OCCURRENCES
                );
            };
            let (json, out) = (context.json, &mut *context.out);
            for (occurrence, conflict) in found {
                if json {
                    write_json(out, &report::Occurrence::new(&occurrence, conflict))?;
                } else {
                    writeln!(out, "{}", occurrence_line(&occurrence, conflict))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CalCommand::Export { ics } => {
            let events = replica.read_views(|views| views.cal().events())?;
            let text = calendar::ics::calendar(&events, chrono::Utc::now());
            let events = events.len();
            if ics.as_os_str() == "-" {
                context.out.write_all(text.as_bytes())?;
                return Ok(ExitCode::SUCCESS);
            }
            write_atomically(&ics, text.as_bytes())?;
            print(
                context,
                &report::IcsWritten {
                    file: ics.clone(),
                    events: events as u64,
                },
                &format!(
                    "wrote {} to {}",
                    count(events as u64, "event"),
                    ics.display()
                ),
            )
        }
    }
}

/// Parses a schedule text into an event with id `id`.
fn parse_event(id: String, text: String, title: Option<String>, clock: &Clock) -> Result<Event> {
    let mut schedule = calendar::schedule::parse(&text, clock.now()?)
        .map_err(|e| anyhow!("the schedule {text:?}: {e}"))?;
    if let Some(title) = title {
        schedule.title = title;
    }
    Event::from_schedule(id, Some(text), &schedule).map_err(|e| anyhow!(e))
}

/// Writes an event version and prints its id, first occurrence and recurrence.
fn write_event(
    replica: &mut Replica,
    event: &Event,
    context: &mut Context<'_>,
) -> Result<ExitCode> {
    let hash = replica.put_event(&event.id, Some(event))?;
    let mut report = report::EventWritten::new(event, hash);
    report.views_rebuilt = replica.views_rebuilt().map(str::to_owned);
    let first = match event.span {
        Span::AllDay { start, .. } => format!("{start} (all day)"),
        Span::Timed { .. } => event.first_start().to_rfc3339(),
    };
    let repeats = event
        .rrule
        .as_deref()
        .map_or_else(String::new, |r| format!(", repeats {r}"));
    let except: Vec<String> = event.except.iter().map(|d| d.to_string()).collect();
    let except = if except.is_empty() {
        String::new()
    } else {
        format!(", except {}", except.join(", "))
    };
    let title = if event.title.is_empty() {
        "(no title)"
    } else {
        &event.title
    };
    let text = format!("{}  {title}: first {first}{repeats}{except}", event.id);
    print(context, &report, &text)
}

/// `2026-12-05 09:30-10:30 +01:00  DMV  [id]` for people.
fn occurrence_line(occurrence: &cal::Occurrence, conflict: bool) -> String {
    let event = occurrence.event.event.as_ref();
    let title = event.map_or("", |e| e.title.as_str());
    let title = if title.is_empty() {
        "(no title)"
    } else {
        title
    };
    let all_day = event.is_some_and(|e| matches!(e.span, Span::AllDay { .. }));
    let when = if all_day {
        format!("{} all day", occurrence.start.format("%a %Y-%m-%d"))
    } else {
        format!(
            "{}-{} {}",
            occurrence.start.format("%a %Y-%m-%d %H:%M"),
            occurrence.end.format("%H:%M"),
            occurrence.start.format("%:z")
        )
    };
    let conflict = if conflict {
        " (one of several versions)"
    } else {
        ""
    };
    format!("{when}  {title}  [{}]{conflict}", occurrence.id())
}
