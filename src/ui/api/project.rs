//! `/api/project`: the project page's routes: its members and what this device may do, creating
//! a project, inviting (the invite as text and as a QR code), joining, removing a device.
//!
//! No answer carries the device's key or the project's key; the only secret that leaves is an
//! invite, made when an admin asks for one, as `mule project invite` prints it (it holds the
//! project's key inside, encoded, as every invite must).

use serde::{Deserialize, Serialize};

use crate::id::ProjectId;
use crate::project::{self, Member, Powers, Role};
use crate::replica::{self, Replica};
use crate::{AuthorId, qr, report};

use super::super::http::{Request, Response, percent_decode, query_param};
use super::{answer, not_allowed, not_found};

/// How long an invite made in the page can be used when the page does not say.
const DEFAULT_LIFETIME_SECS: u64 = project::DEFAULT_INVITE_LIFETIME_SECS;

/// `GET /api/project`: this device, and its project when it has one.
#[derive(Debug, Serialize)]
struct Page {
    /// This device.
    me: AuthorId,
    /// Its project.
    project: Option<About>,
}

/// A project as the page shows it.
#[derive(Debug, Serialize)]
struct About {
    id: ProjectId,
    name: String,
    /// The device that created it.
    root: AuthorId,
    /// This device's role.
    role: Role,
    /// The devices it admitted, and where each stands.
    members: Vec<Member>,
    /// What this device may do.
    powers: Powers,
}

/// `POST /api/project`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
}

/// `POST /api/project/invite`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteRequest {
    /// Whether the new device may invite and remove devices too.
    #[serde(default)]
    admin: bool,
    /// How long the invite can be used, in seconds (a week when not given).
    expires_in: Option<u64>,
}

/// `POST /api/project/join`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Join {
    invite: String,
}

/// Answers `/api/project` and what lies under it.
pub fn handle(replica: &mut Replica, request: &Request, rest: &str) -> Response {
    match (request.method.as_str(), rest) {
        ("GET", "") => answer(page(replica)),
        ("POST", "") => with_body(request, |create: Create| create_project(replica, &create)),
        ("POST", "invite") => with_body(request, |ask: InviteRequest| invite(replica, &ask)),
        ("GET", "invite.png") => invite_png(request),
        ("POST", "join") => with_body(request, |join: Join| join_project(replica, &join)),
        ("DELETE", member) if member.starts_with("members/") => remove(replica, member),
        (_, "" | "invite" | "invite.png" | "join") => not_allowed(),
        _ => not_found(request),
    }
}

/// Parses the JSON body and hands it to `then`, or answers 400.
fn with_body<T: serde::de::DeserializeOwned>(
    request: &Request,
    then: impl FnOnce(T) -> Response,
) -> Response {
    match serde_json::from_slice(&request.body) {
        Ok(body) => then(body),
        Err(e) => Response::failure(400, &format!("the body does not read: {e}")),
    }
}

fn page(replica: &Replica) -> Result<Page, replica::Error> {
    let store = replica.store();
    let project = match project::load(store)? {
        None => None,
        Some(_) => {
            let (current, membership) = project::current(store)?;
            Some(About {
                powers: project::powers(store, &current, &membership),
                members: membership.members().cloned().collect(),
                role: current.role(),
                root: current.root,
                id: current.id,
                name: current.name,
            })
        }
    };
    Ok(Page {
        me: store.author(),
        project,
    })
}

fn create_project(replica: &mut Replica, create: &Create) -> Response {
    respond(
        replica
            .write(|store| project::create(store, &create.name))
            .map(|made| report::ProjectCreated {
                project: made.id,
                name: made.name,
                root: made.root,
            }),
    )
}

fn invite(replica: &mut Replica, ask: &InviteRequest) -> Response {
    let role = if ask.admin { Role::Admin } else { Role::Member };
    let lifetime = ask.expires_in.unwrap_or(DEFAULT_LIFETIME_SECS).max(60);
    respond(
        replica
            .write(|store| project::invite(store, role, lifetime))
            .map(|made| report::Invited {
                invite: made.to_text(),
                role: made.role,
                expires: made.expires,
            }),
    )
}

/// `GET /api/project/invite.png?invite=TEXT`: the invite's QR code, as `mule project invite
/// --png` draws it. Only invites are drawn (the page shows the one it was just given).
fn invite_png(request: &Request) -> Response {
    let text = query_param(&request.query, "invite").unwrap_or_default();
    if !text.starts_with(project::INVITE_PREFIX) || text.len() > project::MAX_INVITE_LEN {
        return Response::failure(400, "invite=... must be an invite's text");
    }
    match qr::render::text_symbol(&text) {
        Ok(code) => Response::bytes(200, "image/png", qr::render::to_png(&code, 4)),
        Err(e) => Response::failure(400, &e.to_string()),
    }
}

fn join_project(replica: &mut Replica, join: &Join) -> Response {
    let invite = match project::Invite::parse(&join.invite) {
        Ok(invite) => invite,
        Err(e) => return Response::failure(400, &e.to_string()),
    };
    let author = replica.store().author();
    respond(
        replica
            .write(|store| project::join(store, &invite))
            .map(|joined| report::Joined {
                project: joined.id,
                role: joined.role(),
                name: joined.name,
                author,
            }),
    )
}

fn remove(replica: &mut Replica, path: &str) -> Response {
    let author = path
        .strip_prefix("members/")
        .and_then(|id| percent_decode(id, false))
        .and_then(|id| id.parse::<AuthorId>().ok());
    let Some(author) = author else {
        return Response::failure(400, "a member is /api/project/members/<author id>");
    };
    respond(
        replica
            .write(|store| project::remove(store, &author))
            .map(|through| report::Removed { author, through }),
    )
}

/// 200 with the value; a refusal the person can act on (not an admin, already in a project,
/// an expired invite) is 409 with the library's words, the store's own failures 500.
fn respond<T: Serialize>(result: Result<T, replica::Error>) -> Response {
    match result {
        Ok(value) => Response::json(200, &value),
        Err(replica::Error::Project(e)) if !matches!(e, project::Error::Store(_)) => {
            Response::failure(409, &e.to_string())
        }
        Err(e) => answer::<()>(Err(e)),
    }
}
