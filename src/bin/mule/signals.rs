//! Ctrl-C during a command that changes things (`import`, `export`, `append`). Inside a write,
//! the library stops at its next safe point and undoes what it had not committed (its
//! transaction rolls back, its temporary files are removed); outside one, nothing is being
//! changed and the process stops at once. Either way it says so and exits 130, as shells expect.

use std::process::ExitCode;

/// The exit code of a command stopped by Ctrl-C (128 + SIGINT).
pub const EXIT: u8 = 130;

/// What an interrupted command that changed nothing says.
pub const NOTHING_CHANGED: &str = "interrupted; nothing was changed";

/// Catches Ctrl-C for the rest of the process. A second Ctrl-C stops it at once.
pub fn catch() {
    #[cfg(unix)]
    {
        use signal_hook::{consts::SIGINT, iterator::Signals};
        // Without a handler, Ctrl-C keeps its default: the process stops.
        let Ok(mut signals) = Signals::new([SIGINT]) else {
            return;
        };
        std::thread::spawn(move || {
            for _ in signals.forever() {
                if mule::interrupt::requested() {
                    eprintln!("interrupted again; stopped at once");
                    std::process::exit(EXIT.into());
                }
                if !mule::interrupt::request() {
                    eprintln!("{NOTHING_CHANGED}");
                    std::process::exit(EXIT.into());
                }
            }
        });
    }
}

/// Says the command was interrupted and what it had done (`None`: nothing); the exit code.
pub fn interrupted(done: Option<String>) -> ExitCode {
    match done {
        None => eprintln!("{NOTHING_CHANGED}"),
        Some(done) => eprintln!("interrupted; {done}, the rest was not changed"),
    }
    ExitCode::from(EXIT)
}
