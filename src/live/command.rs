//! A live peer reached through a program whose stdin and stdout carry the protocol: `ssh HOST
//! mule --store PATH sync -` for an `ssh://` address, as git and rsync do, or any command
//! (`mule sync --exec CMD`). The program's stderr passes through to the user (ssh's password
//! prompt and messages); when it fails, its exit status says why in one line: 255 is ssh's own
//! failure, 127 a command the remote shell did not find.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::transport::{Duplex, TimedReader};

/// The remote command's program when none is named (`--remote-mule`, `MULE_REMOTE`).
pub const DEFAULT_REMOTE_MULE: &str = "mule";
/// Longest wait, after a sync failed, for the program to exit on its own before it is killed
/// (ssh has its exit status to tell, and its message to print).
const GRACE: Duration = Duration::from_secs(5);
/// ssh's exit status for its own failures (host unreachable, refused key, bad option).
const SSH_FAILED: i32 = 255;
/// A POSIX shell's exit status for a command it did not find.
const NOT_FOUND: i32 = 127;

/// Why the peer's program failed or could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `ssh://` address does not parse.
    #[error("`{url}`: {why}; write ssh://[USER@]HOST[:PORT]/PATH/TO/STORE")]
    BadUrl {
        /// The address as given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The program could not be started.
    #[error("cannot start `{program}`: {source}; {hint}")]
    Spawn {
        /// The program.
        program: String,
        /// What to do.
        hint: &'static str,
        /// The failure.
        source: io::Error,
    },
    /// ssh itself failed (exit status 255).
    #[error(
        "ssh could not reach {host} or log in (it exited with 255; its message is above); check that `{login}` works, or name another ssh program with MULE_SSH"
    )]
    Unreachable {
        /// The `[user@]host` ssh was given.
        host: String,
        /// The ssh command line that logs in there (`ssh -p 2222 ana@camp`).
        login: String,
    },
    /// The remote shell did not find mule (exit status 127).
    #[error(
        "`{remote_mule}` was not found on {host} (exit 127); install mule there, or say where it is with --remote-mule PATH (or MULE_REMOTE)"
    )]
    NoRemoteMule {
        /// The `[user@]host` ssh was given.
        host: String,
        /// The program the remote shell looked for.
        remote_mule: String,
    },
    /// The shell did not find the command of `--exec` (exit status 127).
    #[error("the shell did not find the program of `{command}` (exit 127); check the command")]
    NotFound {
        /// The command.
        command: String,
    },
    /// The program exited with a failure.
    #[error("`{command}` ended with {status}{}; its message, if any, is above", failure.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
    Exited {
        /// The command line, as a person would type it.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// How the sync failed, if it did.
        failure: Option<String>,
    },
    /// Waiting for the program failed.
    #[error("cannot wait for `{command}`: {source}")]
    Wait {
        /// The command line.
        command: String,
        /// The failure.
        source: io::Error,
    },
}

/// An `ssh://[user@]host[:port]/path` address of a remote store. A path starting with `/~` is
/// relative to the remote home (`ssh://host/~/mule` is `~/mule` there), as in git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshUrl {
    /// `host` or `user@host`, as ssh takes it.
    pub destination: String,
    /// The port, when not ssh's default.
    pub port: Option<u16>,
    /// The store's path on the remote side.
    pub path: String,
}

impl SshUrl {
    /// Parses `ssh://[user@]host[:port]/path` (an IPv6 host in brackets: `ssh://[::1]:2222/x`).
    pub fn parse(url: &str) -> Result<Self, Error> {
        let bad = |why| Error::BadUrl {
            url: url.to_owned(),
            why,
        };
        let rest = url
            .strip_prefix("ssh://")
            .ok_or(bad("not an ssh:// address"))?;
        let (authority, path) = rest.split_once('/').ok_or(bad("it names no store path"))?;
        let path = match path {
            "" | "~" | "~/" => return Err(bad("it names no store path")),
            home if home.starts_with('~') => home.to_owned(),
            absolute => format!("/{absolute}"),
        };
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) => (Some(user), host_port),
            None => (None, authority),
        };
        let (host, port) = split_port(host_port).ok_or(bad("its port is not a number"))?;
        if host.is_empty() || user.is_some_and(str::is_empty) {
            return Err(bad("it names no host"));
        }
        // ssh would take a leading `-` as an option (CVE-2017-1000117 in git).
        if host.starts_with('-') || user.is_some_and(|u| u.starts_with('-')) {
            return Err(bad("a host or user may not start with `-`"));
        }
        Ok(Self {
            destination: user.map_or(host.to_owned(), |user| format!("{user}@{host}")),
            port,
            path,
        })
    }
}

/// `host` and port of `host:port`, `[v6]:port`, `host` or `[v6]`; `None` for a bad port.
fn split_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    match port {
        Some(port) => Some((host, Some(port.parse().ok()?))),
        None => Some((host, None)),
    }
}

/// `text` quoted for a POSIX shell: in single quotes, each `'` written as `'\''`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The command the remote shell runs: `REMOTE_MULE --store 'PATH' sync -`. `remote_mule` goes
/// in as written (it may be `~/bin/mule`); the path is quoted, but for a leading `~/`, which the
/// remote shell expands to the home folder.
pub fn remote_command(remote_mule: &str, path: &str) -> String {
    let path = match path.strip_prefix("~/") {
        Some(in_home) => format!("~/{}", shell_quote(in_home)),
        None => shell_quote(path),
    };
    format!("{remote_mule} --store {path} sync -")
}

/// What runs the peer: a command line and what its failures mean.
#[derive(Debug, Clone)]
pub struct Peer {
    program: OsString,
    args: Vec<OsString>,
    /// The command line, as a person would type it.
    shown: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Ssh {
        host: String,
        login: String,
        remote_mule: String,
    },
    Exec,
}

impl Peer {
    /// `command` run by `sh -c`: its stdin and stdout carry the protocol (`mule sync --exec
    /// 'mule --store B sync -'` syncs two local stores).
    pub fn exec(command: &str) -> Self {
        Self {
            program: "sh".into(),
            args: vec!["-c".into(), command.into()],
            shown: command.to_owned(),
            kind: Kind::Exec,
        }
    }

    /// `ssh [-p PORT] [USER@]HOST 'REMOTE_MULE --store PATH sync -'`. `ssh_command` replaces
    /// `ssh` (a shell command, like git's GIT_SSH_COMMAND: `ssh -i key` works); `remote_mule`
    /// is the remote program ([`DEFAULT_REMOTE_MULE`] when `None`).
    pub fn ssh(url: &SshUrl, ssh_command: Option<&str>, remote_mule: Option<&str>) -> Self {
        let remote_mule = remote_mule.unwrap_or(DEFAULT_REMOTE_MULE);
        let mut login: Vec<String> = Vec::new();
        if let Some(port) = url.port {
            login.extend(["-p".to_owned(), port.to_string()]);
        }
        login.push(url.destination.clone());
        let ssh_args = [login.clone(), vec![remote_command(remote_mule, &url.path)]].concat();
        let (program, args) = match ssh_command {
            // As git runs GIT_SSH_COMMAND: through the shell, ssh's arguments after it.
            Some(command) => {
                let script = format!("{command} \"$@\"");
                let head = ["-c".to_owned(), script, "ssh".to_owned()];
                ("sh", [head.to_vec(), ssh_args.clone()].concat())
            }
            None => ("ssh", ssh_args.clone()),
        };
        let shown_with = |args: &[String]| {
            std::iter::once(ssh_command.unwrap_or("ssh"))
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (shown, login) = (shown_with(&ssh_args), shown_with(&login));
        let args = args.into_iter().map(OsString::from).collect();
        Self {
            program: program.into(),
            args,
            shown,
            kind: Kind::Ssh {
                host: url.destination.clone(),
                login,
                remote_mule: remote_mule.to_owned(),
            },
        }
    }

    /// Starts the program; every read from it waits at most `timeout`.
    pub fn spawn(&self, timeout: Duration) -> Result<Child, Error> {
        let cannot_start = |source| Error::Spawn {
            program: self.program.to_string_lossy().into_owned(),
            hint: match self.kind {
                Kind::Ssh { .. } => {
                    "install an OpenSSH client (Debian: openssh-client), or name one with MULE_SSH"
                }
                Kind::Exec => "--exec runs its command with `sh -c`, which must be installed",
            },
            source,
        };
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(cannot_start)?;
        let (Some(writer), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(cannot_start(io::Error::other(
                "its stdin or stdout is not a pipe",
            )));
        };
        Ok(Child {
            peer: self.clone(),
            process: child,
            stream: Duplex {
                reader: TimedReader::new(stdout, timeout),
                writer,
            },
        })
    }

    /// What the program's exit status says, given how the sync went (`failure`).
    fn verdict(&self, status: ExitStatus, failure: Option<String>) -> Result<(), Error> {
        match (status.code(), &self.kind) {
            (Some(0), _) => Ok(()),
            // Killed after the sync failed: the sync's own error says why.
            (None, _) if failure.is_some() => Ok(()),
            (Some(SSH_FAILED), Kind::Ssh { host, login, .. }) => Err(Error::Unreachable {
                host: host.clone(),
                login: login.clone(),
            }),
            (
                Some(NOT_FOUND),
                Kind::Ssh {
                    host, remote_mule, ..
                },
            ) => Err(Error::NoRemoteMule {
                host: host.clone(),
                remote_mule: remote_mule.clone(),
            }),
            (Some(NOT_FOUND), Kind::Exec) => Err(Error::NotFound {
                command: self.shown.clone(),
            }),
            _ => Err(Error::Exited {
                command: self.shown.clone(),
                status,
                failure,
            }),
        }
    }
}

/// A running peer program: the live protocol reads its stdout and writes its stdin.
#[derive(Debug)]
pub struct Child {
    peer: Peer,
    process: std::process::Child,
    stream: Duplex<TimedReader, ChildStdin>,
}

impl Read for Child {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for Child {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Child {
    /// Closes the program's stdin and waits for it to exit (killing it if it does not close
    /// its stdout in time); `failure` is how the sync failed, if it did. `Ok` when the program
    /// exited well, or was killed after the sync failed (then the sync's error says why);
    /// otherwise its exit status says what went wrong (ssh could not connect, no mule there).
    pub fn finish(self, failure: Option<String>) -> Result<(), Error> {
        let Self {
            peer,
            mut process,
            stream,
        } = self;
        let Duplex { mut reader, writer } = stream;
        drop(writer);
        if failure.is_some() {
            reader.set_timeout(reader.timeout().min(GRACE));
        }
        if !closes(&mut reader) {
            let _ = process.kill();
        }
        let status = process.wait().map_err(|source| Error::Wait {
            command: peer.shown.clone(),
            source,
        })?;
        peer.verdict(status, failure)
    }
}

/// Reads (and drops) what is left until the end: whether the writer closed it in time.
fn closes(reader: &mut TimedReader) -> bool {
    io::copy(reader, &mut io::sink()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> SshUrl {
        SshUrl::parse(text).unwrap()
    }

    #[test]
    fn ssh_addresses_parse_like_git() {
        let plain = url("ssh://field-laptop/srv/mule");
        assert_eq!(
            (plain.destination.as_str(), plain.port, plain.path.as_str()),
            ("field-laptop", None, "/srv/mule")
        );
        let full = url("ssh://ana@camp:2222/~/my store");
        assert_eq!(
            (full.destination.as_str(), full.port, full.path.as_str()),
            ("ana@camp", Some(2222), "~/my store")
        );
        let v6 = url("ssh://[::1]:22/x");
        assert_eq!((v6.destination.as_str(), v6.port), ("::1", Some(22)));
        for bad in [
            "ssh://host",
            "ssh://host/",
            "ssh://host:port/x",
            "ssh:///x",
            "ssh://-oProxyCommand=x/y",
            "ssh://-l@h/y",
        ] {
            assert!(SshUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_remote_path_is_quoted_for_the_remote_shell() {
        assert_eq!(
            remote_command("mule", "/a b/it's $HOME"),
            r"mule --store '/a b/it'\''s $HOME' sync -"
        );
        assert_eq!(
            remote_command("~/bin/mule", "~/my store"),
            "~/bin/mule --store ~/'my store' sync -"
        );
    }
}
