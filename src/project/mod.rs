//! Projects: a group of devices that write one shared log. A store of a project accepts entries
//! only from the devices the project admits, and seals every bundle it writes to the project's
//! key (bundle-format.md, "Projects" and "Encrypted bundles").
//!
//! Membership lives in the log, as entries of kind [`KIND`], so it replicates and converges like
//! everything else: it is a pure function of the set of those entries.
//! - The device that runs `mule project create` is the project's *root*, an admin forever.
//! - An admin hands out an [`Invite`]: the project's id, name, root and key, a fresh invite
//!   key pair, and a certificate, signed by the admin, saying "whoever holds this invite key may
//!   join as member (or admin) until this time". The invitee's device signs its own author id
//!   with the invite key and appends a `join` entry carrying the whole chain of certificates
//!   back to the root. Anyone can check that chain with nothing but the root's id, so the new
//!   device's entries are accepted at once, offline, wherever they travel.
//! - An invite admits one device. When two devices claim the same invite (it leaked), the claim
//!   with the earliest stated join time wins (ties: the smaller author id); the other device's
//!   entries stop counting, everywhere, whichever claim arrived first.
//! - An admin's `remove` entry names a device and `through`, the last seq of that device's
//!   chain the admin had seen. Entries up to `through` keep counting; later ones never do.
//!   Removal is final for that key: a device that should return gets a new key and an invite.
//!
//! What "stops counting" means: imports skip such entries when they already know, views leave
//! them out (and rebuild when a removal reaches entries they hold), and entries of devices the
//! project never admitted make the whole bundle fail to import.
//!
//! # Rooms
//! - `invite`: certificates, invite texts, and joining with one.
//! - `membership`: who counts, computed from the project entries of a log.
//! - this file: the project record, creating a project, removing a device.
//!
//! # How other layers reach the project
//! The project's record lives in the store (`project_v1`, reached through
//! [`Store::project_record`]); everything else is in the log. Other modules ask for the policy
//! in exactly two ways: [`load`] (the project, its key and this device's chain, or `None` for a
//! store outside any project) and [`Membership`] ([`Membership::of_store`], or
//! [`Membership::of_import`] for what a store would hold once an import commits). The bundle
//! layer calls them itself rather than taking the policy from its callers, because every caller
//! (sync, live, the CLI) would have to load the same thing, and an import must re-read
//! membership inside its own transaction anyway.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::entry::body_from_json;
use crate::id::{AuthorId, ProjectId};
use crate::store::{self, Draft, Store, now_ms};

mod invite;
mod membership;
#[cfg(test)]
mod testing;

pub use invite::{
    ChainError, DEFAULT_INVITE_LIFETIME_SECS, INVITE_PREFIX, Invite, Link, MAX_CHAIN,
    MAX_INVITE_LEN, Role, Sig, invite, join, verify_chain,
};
pub use membership::{Admission, Member, Membership, Standing};

/// Kind of the log entries that create a project, record invites, admit and remove devices.
pub const KIND: &str = "project";
/// Longest project name, in bytes.
pub const MAX_NAME_LEN: usize = 100;

/// Why a project operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The stored project record does not decode.
    #[error("{}: the project record is damaged ({why}); restore the store from a copy", path.display())]
    Damaged {
        /// What does not decode.
        why: String,
        /// The database file.
        path: PathBuf,
    },
    /// The command needs a project and the store has none.
    #[error(
        "this store is not part of a project; create one with `mule project create NAME` or join one with `mule project join INVITE`"
    )]
    NotInProject,
    /// The store already belongs to a project.
    #[error(
        "this store already belongs to project \"{0}\"; use another store for another project (mule --store DIR ...)"
    )]
    AlreadyInProject(String),
    /// A project starts from a store holding only this device's entries.
    #[error(
        "this store holds entries of {0} other device(s), which the project would not admit; create or join the project from a new store (mule --store DIR project ...)"
    )]
    ForeignEntries(usize),
    /// Only admins invite and remove.
    #[error("this device is not an admin of project \"{0}\"; ask an admin to do this")]
    NotAdmin(String),
    /// This device no longer counts in the project.
    #[error(
        "this device was removed from project \"{0}\"; ask an admin for an invite for a new key (mule id --new-key)"
    )]
    Removed(String),
    /// Another device joined with this invite first; a join now would not count.
    #[error(
        "this invite was already used by device {by} to join project \"{name}\"; nothing was written: ask an admin for a new invite (mule project invite)"
    )]
    InviteUsed {
        /// The project's name.
        name: String,
        /// The device that holds the invite.
        by: String,
    },
    /// The name is empty, too long or has control characters.
    #[error("a project name must be 1 to {MAX_NAME_LEN} bytes of printable text")]
    Name,
    /// The text is not an invite.
    #[error("not a valid mule invite ({0}); copy the whole text, starting with {INVITE_PREFIX}")]
    BadInvite(String),
    /// The invite was made by a newer mule.
    #[error("this invite was made by a newer mule (invite version {0}); upgrade mule")]
    NewerInvite(u64),
    /// The invite's certificates do not check out.
    #[error("the invite is not valid: {0}; ask for a new one")]
    Chain(#[from] ChainError),
    /// The invite is past its end.
    #[error("this invite expired at {0} (UTC); ask for a new one")]
    Expired(String),
    /// The root stays an admin.
    #[error("the device that created the project cannot be removed")]
    RemoveRoot,
    /// Removing oneself would leave no way back.
    #[error("a device cannot remove itself; ask another admin")]
    RemoveSelf,
    /// Writing the entry failed.
    #[error(transparent)]
    Entry(#[from] crate::entry::Error),
    /// A project key file could not be read.
    #[error("{}: cannot read the key file: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A file given as a project key holds no age identity.
    #[error(
        "{}: holds no project key (an AGE-SECRET-KEY-1... line); write one with `mule project key > FILE` on a device of the project",
        .0.display()
    )]
    NotAKeyFile(PathBuf),
}

/// Reads a project key file as `mule project key` writes it (an age identity file: `#`
/// comment lines and one `AGE-SECRET-KEY-1...` line), to open the project's sealed bundles
/// without its store (`mule verify --key FILE`).
pub fn read_key_file(path: &Path) -> Result<age::x25519::Identity, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::KeyFile {
        path: path.to_owned(),
        source,
    })?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .find_map(|line| line.parse::<age::x25519::Identity>().ok())
        .ok_or_else(|| Error::NotAKeyFile(path.to_owned()))
}

/// A project as this store knows it: who created it, its key, and how this device was admitted.
pub struct Project {
    /// The project's id.
    pub id: ProjectId,
    /// Its name, for people.
    pub name: String,
    /// The device that created it.
    pub root: AuthorId,
    /// The certificates that admit this device (empty for the root).
    pub chain: Vec<Link>,
    key: age::x25519::Identity,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The project record as the store keeps it (DAG-CBOR in table `project_v1`).
#[derive(Serialize, Deserialize)]
struct Record {
    id: ProjectId,
    name: String,
    root: AuthorId,
    key: String,
    chain: Vec<Link>,
}

impl Project {
    /// The role this device's chain grants.
    pub fn role(&self) -> Role {
        self.chain.last().map_or(Role::Admin, |link| link.role)
    }

    /// The key that opens the project's sealed bundles.
    pub fn identity(&self) -> &age::x25519::Identity {
        &self.key
    }

    /// The key bundles are sealed to.
    pub fn recipient(&self) -> age::x25519::Recipient {
        self.key.to_public()
    }

    fn record(&self) -> Record {
        use age::secrecy::ExposeSecret;
        Record {
            id: self.id,
            name: self.name.clone(),
            root: self.root,
            key: self.key.to_string().expose_secret().to_string(),
            chain: self.chain.clone(),
        }
    }

    fn from_record(record: Record) -> Result<Self, String> {
        Ok(Self {
            id: record.id,
            name: record.name,
            root: record.root,
            chain: record.chain,
            key: record.key.parse().map_err(|e: &str| e.to_string())?,
        })
    }
}

/// The store's project, if it belongs to one.
pub fn load(store: &Store) -> Result<Option<Project>, Error> {
    let Some(bytes) = store.project_record()? else {
        return Ok(None);
    };
    let damaged = |why: String| Error::Damaged {
        why,
        path: store.db_path().to_path_buf(),
    };
    let record: Record =
        serde_ipld_dagcbor::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
    Project::from_record(record).map(Some).map_err(damaged)
}

fn save(store: &Store, project: &Project) -> Result<(), Error> {
    let bytes = serde_ipld_dagcbor::to_vec(&project.record()).expect("a project record encodes");
    store.save_project_record(&bytes)?;
    Ok(())
}

/// The body of a project entry. Entries of kind [`KIND`] whose body is none of these, or names
/// another project, do not affect membership.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum Body {
    /// The root started the project.
    Create { project: ProjectId, name: String },
    /// An admin made an invite (a record for people; the certificate is what admits).
    Invite {
        project: ProjectId,
        invite: AuthorId,
        role: Role,
        expires: u64,
    },
    /// The writing device joined; the chain's last subject is the entry's author.
    Join {
        project: ProjectId,
        chain: Vec<Link>,
    },
    /// An admin removed a device; its entries above `through` do not count.
    Remove {
        project: ProjectId,
        author: AuthorId,
        through: u64,
    },
}

impl Body {
    fn project(&self) -> &ProjectId {
        match self {
            Body::Create { project, .. }
            | Body::Invite { project, .. }
            | Body::Join { project, .. }
            | Body::Remove { project, .. } => project,
        }
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(Error::Name);
    }
    Ok(())
}

/// A project must start from a store whose log holds only this device's entries.
fn check_fresh(store: &Store) -> Result<(), Error> {
    if let Some(project) = load(store)? {
        return Err(Error::AlreadyInProject(project.name));
    }
    let own = store.author();
    let others = store.frontier()?.keys().filter(|a| **a != own).count();
    if others > 0 {
        return Err(Error::ForeignEntries(others));
    }
    Ok(())
}

fn append_body(store: &mut Store, body: &Body, timestamp: u64) -> Result<(), Error> {
    let json = serde_json::to_value(body).expect("a project body is JSON");
    store.append(vec![Draft {
        kind: KIND.to_string(),
        body: body_from_json(&json)?,
        links: vec![],
        timestamp,
    }])?;
    Ok(())
}

/// Makes this store the root of a new project named `name`.
pub fn create(store: &mut Store, name: &str) -> Result<Project, Error> {
    check_name(name)?;
    store.check_home()?;
    check_fresh(store)?;
    let mut id = [0u8; 32];
    getrandom::fill(&mut id)
        .map_err(|e| store::Error::Key(crate::keys::Error::Random(e.to_string())))?;
    let project = Project {
        id: ProjectId::from_bytes(id),
        name: name.to_string(),
        root: store.author(),
        chain: vec![],
        key: age::x25519::Identity::generate(),
    };
    save(store, &project)?;
    let body = Body::Create {
        project: project.id,
        name: project.name.clone(),
    };
    append_body(store, &body, now_ms())?;
    Ok(project)
}

/// This store's project and its membership; fails when the store has no project.
pub fn current(store: &Store) -> Result<(Project, Membership), Error> {
    let project = load(store)?.ok_or(Error::NotInProject)?;
    let membership = Membership::of_store(store, &project)?;
    Ok((project, membership))
}

/// Checks that this device is an admin whose entries still count.
fn check_admin(store: &Store, project: &Project, membership: &Membership) -> Result<(), Error> {
    match membership.admission(&store.author()) {
        Admission::Active if project.role() == Role::Admin => Ok(()),
        Admission::Active => Err(Error::NotAdmin(project.name.clone())),
        _ => Err(Error::Removed(project.name.clone())),
    }
}

/// What this device may do in its project, decided as [`invite`] and [`remove`] decide it, so
/// a front end offers only what will succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Powers {
    /// Whether it may invite devices (an admin whose entries still count).
    pub invite: bool,
    /// The devices it may remove: every active one but the root and itself, for such an admin.
    pub remove: Vec<AuthorId>,
}

/// What this store's device may do in `project`, whose membership is `membership`.
pub fn powers(store: &Store, project: &Project, membership: &Membership) -> Powers {
    let invite = check_admin(store, project, membership).is_ok();
    let remove = membership
        .members()
        .filter(|m| invite && m.standing == Standing::Active)
        .map(|m| m.author)
        .filter(|author| *author != project.root && *author != store.author())
        .collect();
    Powers { invite, remove }
}

/// Removes `author` from the project: its entries above the last one this store holds stop
/// counting. Returns that seq.
pub fn remove(store: &mut Store, author: &AuthorId) -> Result<u64, Error> {
    store.check_home()?;
    let (project, membership) = current(store)?;
    check_admin(store, &project, &membership)?;
    if *author == project.root {
        return Err(Error::RemoveRoot);
    }
    if *author == store.author() {
        return Err(Error::RemoveSelf);
    }
    let through = store.frontier()?.get(author).copied().unwrap_or(0);
    let body = Body::Remove {
        project: project.id,
        author: *author,
        through,
    };
    append_body(store, &body, now_ms())?;
    Ok(through)
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM`.
fn format_time(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs.min(i64::MAX as u64) as i64, 0).map_or_else(
        || secs.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::testing::{camp, store};
    use super::*;
    use crate::store::Frontier;

    #[test]
    fn only_an_active_admin_may_invite_and_remove_and_never_the_root_or_itself() {
        let dir = tempfile::tempdir().unwrap();
        let (mut root, member, _) = camp(&dir);
        let file = dir.path().join("member.mule");
        crate::bundle::write_bundle(&member, &Frontier::new(), &Default::default(), &file, false)
            .unwrap();
        crate::bundle::import_bundle(&mut root, &file).unwrap();
        let of = |store: &Store| {
            let (project, membership) = current(store).unwrap();
            powers(store, &project, &membership)
        };
        let by_root = of(&root);
        assert!(by_root.invite);
        assert_eq!(by_root.remove, [member.author()]);
        let by_member = of(&member);
        assert!(!by_member.invite);
        assert!(by_member.remove.is_empty());
        remove(&mut root, &member.author()).unwrap();
        assert!(
            of(&root).remove.is_empty(),
            "a removed device is not removed again"
        );
    }

    #[test]
    fn a_store_with_other_devices_entries_cannot_start_or_join_a_project() {
        let dir = tempfile::tempdir().unwrap();
        let (mut root, _, _) = camp(&dir);
        let mut other = store(&dir, "other");
        other
            .append(vec![Draft {
                kind: "kv".into(),
                body: body_from_json(&serde_json::json!({"k": "a", "v": 1})).unwrap(),
                links: vec![],
                timestamp: now_ms(),
            }])
            .unwrap();
        let file = dir.path().join("b.mule");
        crate::bundle::write_bundle(&other, &Frontier::new(), &Default::default(), &file, false)
            .unwrap();
        let mut mixed = store(&dir, "mixed");
        crate::bundle::import_bundle(&mut mixed, &file).unwrap();
        assert!(matches!(
            create(&mut mixed, "Other"),
            Err(Error::ForeignEntries(1))
        ));
        let made = invite(&mut root, Role::Member, 60).unwrap();
        assert!(matches!(
            join(&mut mixed, &made),
            Err(Error::ForeignEntries(1))
        ));
        assert!(load(&mixed).unwrap().is_none());
    }
}
