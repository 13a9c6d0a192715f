//! `mule project`: devices that admit each other, and the key that seals their bundles.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use mule::report;

use mule::replica;
use mule::store::Store;
use mule::{AuthorId, project};

use super::Context;
use crate::output::write_json;
use mule::fsutil::write_atomically;

#[derive(Subcommand)]
/// `mule project ...`.
pub enum ProjectCommand {
    /// Make this store the first device (and an admin) of a new project
    Create {
        /// The project's name, for people
        name: String,
    },
    /// Print an invite (text, and a QR code on a terminal) that lets one more device join
    Invite {
        /// Let the new device invite and remove devices too
        #[arg(long)]
        admin: bool,
        /// How long the invite can be used: 30m, 12h, 7d
        #[arg(long, default_value = "7d", value_name = "TIME", value_parser = parse_lifetime)]
        expires: u64,
        /// Also print the QR code when output is not a terminal
        #[arg(long)]
        qr: bool,
        /// Write the QR code to this PNG file
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// Join a project: INVITE is the invite's text, `-` to read it from stdin, a file holding
    /// the text, or an image (photo, screenshot) of its QR code
    Join {
        /// The invite
        invite: String,
    },
    /// List the project's devices and whether their entries count
    Members,
    /// Print the project's key as an age identity file, for `age -d -i FILE BUNDLE` (keep it
    /// as secret as an invite)
    Key,
    /// Remove a device: entries it writes from now on are not accepted
    Remove {
        /// The device's author id
        author: AuthorId,
    },
}

fn parse_lifetime(text: &str) -> Result<u64, String> {
    let (number, unit) = text.split_at(text.trim_end_matches(char::is_alphabetic).len());
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}`: write a number and a unit, such as 30m, 12h or 7d"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(seconds))
        .ok_or_else(|| format!("`{text}`: write a number and a unit, such as 30m, 12h or 7d"))
}

/// Runs a `mule project` command.
pub fn run(command: ProjectCommand, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    let (json, out) = (context.json, &mut *context.out);
    match command {
        ProjectCommand::Create { name } => {
            let made = replica.write(|store| project::create(store, &name))?;
            if json {
                let report = report::ProjectCreated {
                    project: made.id,
                    name: made.name,
                    root: made.root,
                };
                write_json(out, &report)?;
            } else {
                writeln!(
                    out,
                    "created project \"{}\" ({}); this device is its admin",
                    made.name,
                    made.id.short()
                )?;
                writeln!(
                    out,
                    "next: `mule project invite` for each device that should join"
                )?;
            }
        }
        ProjectCommand::Invite {
            admin,
            expires,
            qr,
            png,
        } => {
            let role = if admin {
                project::Role::Admin
            } else {
                project::Role::Member
            };
            let invite = replica.write(|store| project::invite(store, role, expires))?;
            invite_output(&invite, qr, png.as_deref(), json, out)?;
        }
        ProjectCommand::Join { invite } => {
            let invite = project::Invite::parse(&read_invite(&invite)?)?;
            let joined = replica.write(|store| project::join(store, &invite))?;
            let store = replica.store();
            let role = joined.role().as_str();
            if json {
                let report = report::Joined {
                    project: joined.id,
                    role: joined.role(),
                    name: joined.name,
                    author: store.author(),
                };
                write_json(out, &report)?;
            } else {
                writeln!(
                    out,
                    "joined project \"{}\" as {role}; the project's stores accept this device's entries",
                    joined.name
                )?;
            }
        }
        ProjectCommand::Members => members(replica.store(), json, out)?,
        ProjectCommand::Key => {
            let (current, _) = project::current(replica.store())?;
            let secret = current.identity().to_string();
            let secret = age::secrecy::ExposeSecret::expose_secret(&secret);
            if json {
                let report = report::ProjectKey {
                    project: current.id,
                    recipient: current.recipient().to_string(),
                    identity: secret.to_owned(),
                };
                write_json(out, &report)?;
            } else {
                writeln!(out, "# mule project \"{}\" ({})", current.name, current.id)?;
                writeln!(out, "# public key: {}", current.recipient())?;
                writeln!(out, "{secret}")?;
            }
        }
        ProjectCommand::Remove { author } => {
            let through = replica.write(|store| project::remove(store, &author))?;
            if json {
                write_json(out, &report::Removed { author, through })?;
            } else {
                writeln!(
                    out,
                    "removed {}: its entries up to seq {through} still count, later ones will not",
                    author.short()
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn invite_output(
    invite: &project::Invite,
    qr: bool,
    png: Option<&Path>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let text = invite.to_text();
    let code = mule::qr::render::text_symbol(&text).context("the invite does not fit a QR code")?;
    if let Some(path) = png {
        write_atomically(path, &mule::qr::render::to_png(&code, 4))?;
    }
    let until = chrono::DateTime::from_timestamp(invite.expires as i64, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    if json {
        let report = report::Invited {
            invite: text,
            role: invite.role,
            expires: invite.expires,
        };
        return write_json(out, &report);
    }
    writeln!(out, "{text}")?;
    if qr || io::stdout().is_terminal() {
        writeln!(out, "{}", mule::qr::render::to_text(&code))?;
    }
    eprintln!(
        "one device can join with this invite until {until}: `mule project join INVITE`. \
         Whoever holds it can read the project's bundles; hand it over in person."
    );
    Ok(())
}

/// The invite's text from the argument: the text itself, `-` for stdin, or an image of its QR
/// code.
fn read_invite(argument: &str) -> Result<String> {
    if argument == "-" {
        let mut text = String::new();
        io::Read::read_to_string(&mut io::stdin(), &mut text)?;
        return Ok(text);
    }
    Ok(replica::invite_text(argument)?)
}

fn members(store: &Store, json: bool, out: &mut dyn Write) -> Result<()> {
    let (current, membership) = project::current(store)?;
    if !json {
        writeln!(out, "project \"{}\" ({})", current.name, current.id.short())?;
    }
    for member in membership.members() {
        if json {
            write_json(out, &member)?;
            continue;
        }
        let via = match (&member.invited_by, member.author == current.root) {
            (_, true) => "created the project".to_string(),
            (Some(by), false) => format!("invited by {}", by.short()),
            (None, false) => String::new(),
        };
        let standing = match member.standing {
            project::Standing::Active => "active".to_string(),
            project::Standing::Removed { through, by } => {
                format!(
                    "removed by {} (entries up to seq {through} count)",
                    by.short()
                )
            }
            project::Standing::InviteTaken { by } => {
                format!(
                    "not admitted: device {} used the same invite first",
                    by.short()
                )
            }
        };
        let me = if member.author == store.author() {
            " (this device)"
        } else {
            ""
        };
        writeln!(
            out,
            "{}  {:<6}  {via}, {standing}{me}",
            member.author.short(),
            member.role.as_str()
        )?;
    }
    Ok(())
}
