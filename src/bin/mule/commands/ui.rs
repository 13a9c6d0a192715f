//! `mule ui`: the app in the browser, served from this store.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, ExitCode, Stdio};

use anyhow::Result;
use clap::Args;
use mule::{report, ui};

use super::Context;
use crate::output::print;

/// `mule ui`'s options.
#[derive(Args)]
pub struct UiArgs {
    /// The port (0: a free one)
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The address to listen on
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    listen: IpAddr,
    /// Allow an address other than loopback (other machines can then reach the page; the
    /// secret token is still required)
    #[arg(long)]
    allow_remote: bool,
    /// Also open the app in the system's browser ($BROWSER when set)
    #[arg(long)]
    open: bool,
}

/// Runs `mule ui`: prints the URL, then serves until stopped.
pub fn ui(args: UiArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    let server = ui::Server::bind(&ui::Options {
        listen: SocketAddr::new(args.listen, args.port),
        allow_remote: args.allow_remote,
    })?;
    let url = server.url();
    let text = format!("mule ui: open {url}\n(stop with Ctrl-C)");
    print(context, &report::UiStarted { url: url.clone() }, &text)?;
    context.out.flush()?;
    if args.open {
        // The socket is bound: the browser's first request waits in its backlog until served.
        open_browser(url);
    }
    server.run(&mut replica)?;
    Ok(ExitCode::SUCCESS)
}

/// Opens `url` in the system's browser on a thread of its own (a browser command may not return
/// until the browser closes); when no command starts, says so in a warning line: the URL is
/// printed already, so the server goes on.
///
/// Hand-written rather than the `opener` or `webbrowser` crate: it is one command per platform,
/// and those crates bring their own dependencies (and on Linux embed a copy of xdg-open).
fn open_browser(url: String) {
    std::thread::spawn(move || {
        let mut failures = Vec::new();
        for mut command in browser_commands(&url) {
            let program = command.get_program().to_string_lossy().into_owned();
            // The browser's chatter must not mix with the URL line (or `--json`) on stdout.
            let run = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            match run {
                Ok(status) if status.success() => return,
                Ok(status) => failures.push(format!("{program} exited with {status}")),
                Err(e) => failures.push(format!("{program}: {e}")),
            }
        }
        eprintln!(
            "warning: could not open a browser ({}); open the URL above yourself",
            failures.join("; ")
        );
    });
}

/// The commands that may open `url`, to try in turn: each of `$BROWSER` (the convention of
/// xdg-open and Python's webbrowser: commands separated by the path separator, `%s` standing for
/// the URL, which is appended when no `%s` is given), then the platform's opener.
fn browser_commands(url: &str) -> Vec<Command> {
    let from_env = std::env::var_os("BROWSER").unwrap_or_default();
    let mut commands: Vec<Command> = std::env::split_paths(&from_env)
        .filter_map(|entry| {
            let entry = entry.to_string_lossy().into_owned();
            let mut words = entry.split_whitespace();
            let mut command = Command::new(words.next()?);
            let mut named = false;
            for word in words {
                named |= word.contains("%s");
                command.arg(word.replace("%s", url));
            }
            if !named {
                command.arg(url);
            }
            Some(command)
        })
        .collect();
    commands.push(system_opener(url));
    commands
}

/// The platform's own way to open a URL in the default browser.
fn system_opener(url: &str) -> Command {
    let (program, before): (&str, &[&str]) = if cfg!(windows) {
        // `start` is a cmd builtin; its first quoted argument is a window title. The URL holds
        // no character cmd treats specially (an address, a port and a hex token).
        ("cmd", &["/C", "start", ""])
    } else if cfg!(target_os = "macos") {
        ("open", &[])
    } else {
        ("xdg-open", &[])
    };
    let mut command = Command::new(program);
    command.args(before).arg(url);
    command
}
