//! Live updates for open pages: server-sent events at `GET /api/events`.
//!
//! The replica's thread publishes on a [`Bus`] (a write made through the API, entries that
//! another process added to the store, progress of a sync the page started); each page that
//! listens holds one connection whose thread waits on the bus and writes what it publishes. The
//! bus keeps the last [`KEPT`] events: a page that falls further behind is told `lagged` and
//! reloads what it shows, so a slow reader never makes the bus grow.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;

/// How many recent events the bus keeps for readers that are behind.
pub const KEPT: usize = 256;
/// How long a listening page may see nothing before a keep-alive comment is sent (which also
/// finds out that a page has gone).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One published event: its SSE `event:` name and its JSON `data:`.
#[derive(Debug, Clone)]
pub struct Event {
    name: &'static str,
    data: String,
}

/// Events in order, numbered from 1.
#[derive(Debug, Default)]
pub struct Bus {
    state: Mutex<State>,
    published: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The number of the newest event (0: none yet).
    newest: u64,
    recent: VecDeque<(u64, Event)>,
}

/// What a reader gets from [`Bus::wait`].
#[derive(Debug)]
pub enum News {
    /// The events after the reader's cursor.
    Events(Vec<Event>),
    /// Events were dropped before the reader got them: it must reload.
    Lagged,
    /// Nothing came within the wait.
    Quiet,
}

impl Bus {
    /// Publishes `data` as event `name` to every listening page.
    pub fn publish(&self, name: &'static str, data: &impl Serialize) {
        let data = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
        let mut state = self.state();
        state.newest += 1;
        let number = state.newest;
        state.recent.push_back((number, Event { name, data }));
        if state.recent.len() > KEPT {
            state.recent.pop_front();
        }
        drop(state);
        self.published.notify_all();
    }

    /// The cursor of a reader that starts listening now.
    pub fn cursor(&self) -> u64 {
        self.state().newest
    }

    /// Waits up to `timeout` for events after `cursor`, and moves the cursor past them.
    pub fn wait(&self, cursor: &mut u64, timeout: Duration) -> News {
        let state = self.state();
        let (state, _) = self
            .published
            .wait_timeout_while(state, timeout, |state| state.newest == *cursor)
            .unwrap_or_else(PoisonError::into_inner);
        if state.newest == *cursor {
            return News::Quiet;
        }
        let oldest_kept = state.recent.front().map_or(state.newest, |(n, _)| *n);
        let lagged = oldest_kept > *cursor + 1;
        let events = state
            .recent
            .iter()
            .filter(|(n, _)| *n > *cursor)
            .map(|(_, event)| event.clone())
            .collect();
        *cursor = state.newest;
        if lagged {
            News::Lagged
        } else {
            News::Events(events)
        }
    }

    /// No code panics while holding the state, so a poisoned lock is still right.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The response head of an event stream.
const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n";

/// Streams the bus's events to `out` until the page goes away (a write fails or times out).
pub fn stream(bus: &Bus, out: &mut impl Write) -> io::Result<()> {
    let mut cursor = bus.cursor();
    out.write_all(HEAD)?;
    // Tells the page it is connected, so it can reload what it missed while it was not.
    out.write_all(b"event: hello\ndata: {}\n\n")?;
    out.flush()?;
    loop {
        match bus.wait(&mut cursor, KEEP_ALIVE) {
            News::Events(events) => {
                for event in events {
                    write!(out, "event: {}\ndata: {}\n\n", event.name, event.data)?;
                }
            }
            News::Lagged => out.write_all(b"event: lagged\ndata: {}\n\n")?,
            News::Quiet => out.write_all(b": still here\n\n")?,
        }
        out.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_gets_what_was_published_after_its_cursor() {
        let bus = Bus::default();
        bus.publish("changed", &1);
        let mut cursor = bus.cursor();
        assert!(matches!(bus.wait(&mut cursor, Duration::ZERO), News::Quiet));
        bus.publish("changed", &2);
        bus.publish("progress", &"x");
        let News::Events(events) = bus.wait(&mut cursor, Duration::ZERO) else {
            panic!("two events were published");
        };
        let names: Vec<_> = events.iter().map(|e| (e.name, e.data.as_str())).collect();
        assert_eq!(names, [("changed", "2"), ("progress", "\"x\"")]);
    }

    #[test]
    fn a_reader_too_far_behind_is_told_to_reload() {
        let bus = Bus::default();
        let mut cursor = bus.cursor();
        for n in 0..=KEPT {
            bus.publish("changed", &n);
        }
        assert!(matches!(
            bus.wait(&mut cursor, Duration::ZERO),
            News::Lagged
        ));
        bus.publish("changed", &0);
        assert!(matches!(
            bus.wait(&mut cursor, Duration::ZERO),
            News::Events(events) if events.len() == 1
        ));
    }

    #[test]
    fn a_waiting_reader_wakes_when_an_event_is_published() {
        let bus = std::sync::Arc::new(Bus::default());
        let mut cursor = bus.cursor();
        let publisher = std::sync::Arc::clone(&bus);
        let thread = std::thread::spawn(move || publisher.publish("changed", &"now"));
        // Waits for the event itself; the long timeout is only a bound if it never comes.
        let news = bus.wait(&mut cursor, Duration::from_secs(60));
        thread.join().expect("publisher");
        assert!(matches!(news, News::Events(events) if events.len() == 1));
    }
}
