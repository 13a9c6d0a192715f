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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::entry::body_from_json;
use crate::id::{AuthorId, ProjectId};
use crate::store::{self, Draft, Frontier, Store, now_ms};

/// Kind of the log entries that create a project, record invites, admit and remove devices.
pub const KIND: &str = "project";
/// Text that opens every invite.
pub const INVITE_PREFIX: &str = "mule-invite1:";
/// Longest invite text a reader decodes.
pub const MAX_INVITE_LEN: usize = 16 * 1024;
/// Most certificates in a chain from the root to a device.
pub const MAX_CHAIN: usize = 8;
/// Longest project name, in bytes.
pub const MAX_NAME_LEN: usize = 100;
/// How long an invite stays usable unless told otherwise: seven days.
pub const DEFAULT_INVITE_LIFETIME_SECS: u64 = 7 * 24 * 60 * 60;
/// Domain separation of the certificate an admin signs.
const CERT_CONTEXT: &[u8] = b"mule-invite-v1\0";
/// Domain separation of the proof an invitee signs with the invite key.
const PROOF_CONTEXT: &[u8] = b"mule-join-v1\0";

/// Why a project operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The project's database table failed.
    #[error("{}: database error: {source}", path.display())]
    Db {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
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
}

/// Why a chain of certificates is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    /// Empty or longer than [`MAX_CHAIN`].
    #[error("a chain holds 1 to {MAX_CHAIN} certificates, this one {0}")]
    Length(usize),
    /// The first certificate is not the root's.
    #[error("the first certificate is not signed by the project's creator")]
    NotFromRoot,
    /// A certificate is signed by someone the previous one did not admit as admin.
    #[error("certificate {0} is signed by a device the chain does not make an admin")]
    Broken(usize),
    /// A signature does not verify.
    #[error("certificate {0} has a signature that does not match")]
    Signature(usize),
    /// The device joined after the invite's end.
    #[error("certificate {0} was used after it expired")]
    Expired(usize),
}

/// What a device may do in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Writes entries.
    Member,
    /// Writes entries, invites and removes devices.
    Admin,
}

impl Role {
    fn byte(self) -> u8 {
        match self {
            Role::Member => 0,
            Role::Admin => 1,
        }
    }

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }
}

/// An ed25519 signature: hex in JSON, a byte string in CBOR.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sig(pub [u8; 64]);

impl std::fmt::Debug for Sig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sig({})", hex::encode(&self.0[..4]))
    }
}

impl Serialize for Sig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Sig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = if d.is_human_readable() {
            let text = String::deserialize(d)?;
            hex::decode(text).map_err(serde::de::Error::custom)?
        } else {
            serde_bytes::ByteBuf::deserialize(d)?.into_vec()
        };
        <[u8; 64]>::try_from(bytes.as_slice())
            .map(Sig)
            .map_err(|_| serde::de::Error::invalid_length(bytes.len(), &"64 bytes"))
    }
}

/// One step of a chain: an admin's certificate for an invite key, and the proof that `subject`
/// held that key when it joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The admin that signed the certificate.
    pub issuer: AuthorId,
    /// The invite's public key.
    pub invite: AuthorId,
    /// The role the invite grants.
    pub role: Role,
    /// End of the invite, seconds since the Unix epoch.
    pub expires: u64,
    /// The issuer's signature over the certificate message.
    pub cert: Sig,
    /// The device that joined with the invite.
    pub subject: AuthorId,
    /// When it joined, milliseconds since the Unix epoch, as its clock said.
    pub joined: u64,
    /// The invite key's signature over the proof message.
    pub proof: Sig,
}

fn cert_message(project: &ProjectId, invite: &AuthorId, role: Role, expires: u64) -> Vec<u8> {
    let mut message = CERT_CONTEXT.to_vec();
    message.extend_from_slice(project.as_bytes());
    message.extend_from_slice(invite.as_bytes());
    message.push(role.byte());
    message.extend_from_slice(&expires.to_be_bytes());
    message
}

fn proof_message(project: &ProjectId, subject: &AuthorId, joined: u64) -> Vec<u8> {
    let mut message = PROOF_CONTEXT.to_vec();
    message.extend_from_slice(project.as_bytes());
    message.extend_from_slice(subject.as_bytes());
    message.extend_from_slice(&joined.to_be_bytes());
    message
}

fn verifies(key: &AuthorId, message: &[u8], sig: &Sig) -> bool {
    crate::keys::verifies(key, message, &sig.0)
}

/// Checks a chain from the root to its last subject; returns the role it grants.
pub fn verify_chain(
    project: &ProjectId,
    root: &AuthorId,
    chain: &[Link],
) -> Result<Role, ChainError> {
    if chain.is_empty() || chain.len() > MAX_CHAIN {
        return Err(ChainError::Length(chain.len()));
    }
    for (i, link) in chain.iter().enumerate() {
        let number = i + 1;
        match i.checked_sub(1).map(|p| &chain[p]) {
            None if link.issuer != *root => return Err(ChainError::NotFromRoot),
            Some(previous) if previous.subject != link.issuer || previous.role != Role::Admin => {
                return Err(ChainError::Broken(number));
            }
            _ => {}
        }
        let cert = cert_message(project, &link.invite, link.role, link.expires);
        let proof = proof_message(project, &link.subject, link.joined);
        if !verifies(&link.issuer, &cert, &link.cert)
            || !verifies(&link.invite, &proof, &link.proof)
        {
            return Err(ChainError::Signature(number));
        }
        if link.joined > link.expires.saturating_mul(1000) {
            return Err(ChainError::Expired(number));
        }
    }
    Ok(chain.last().expect("not empty").role)
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
    let (conn, path) = store.database();
    load_from(conn, path)
}

pub(crate) fn load_from(conn: &Connection, path: &Path) -> Result<Option<Project>, Error> {
    let db = |source| Error::Db {
        path: path.to_path_buf(),
        source,
    };
    let bytes: Option<Vec<u8>> = conn
        .query_row("SELECT config FROM project_v1 WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db)?;
    let Some(bytes) = bytes else { return Ok(None) };
    let record: Record = serde_ipld_dagcbor::from_slice(&bytes).map_err(|e| Error::Damaged {
        why: e.to_string(),
        path: path.to_path_buf(),
    })?;
    Project::from_record(record)
        .map(Some)
        .map_err(|why| Error::Damaged {
            why,
            path: path.to_path_buf(),
        })
}

fn save(store: &Store, project: &Project) -> Result<(), Error> {
    let (conn, path) = store.database();
    let bytes = serde_ipld_dagcbor::to_vec(&project.record()).expect("a project record encodes");
    conn.execute(
        "INSERT INTO project_v1(id, config) VALUES (1, ?1)
         ON CONFLICT(id) DO UPDATE SET config = excluded.config",
        [bytes],
    )
    .map_err(|source| Error::Db {
        path: path.to_path_buf(),
        source,
    })?;
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

/// Where a device stands in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Standing {
    /// Its entries count.
    Active,
    /// Removed by an admin: entries up to `through` count.
    Removed {
        /// Last seq that counts.
        through: u64,
        /// The admin who removed it (the first, when several did).
        by: AuthorId,
    },
    /// Another device claimed the same invite first: none of its entries count.
    InviteTaken {
        /// The device that holds the invite.
        by: AuthorId,
    },
}

/// A device the project admitted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// The device.
    pub author: AuthorId,
    /// Its role.
    pub role: Role,
    /// The invite it joined with; none for the root.
    pub invite: Option<AuthorId>,
    /// The admin that signed that invite; none for the root.
    pub invited_by: Option<AuthorId>,
    /// When it joined (ms since the Unix epoch); none for the root.
    pub joined: Option<u64>,
    /// Whether its entries count.
    #[serde(flatten)]
    pub standing: Standing,
}

/// What the project says about one author's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// All its entries count.
    Active,
    /// Its entries up to this seq count.
    Through(u64),
    /// The project never admitted it.
    Stranger,
}

/// Membership of a project: a pure function of the project's entries in a log.
#[derive(Debug, Clone)]
pub struct Membership {
    members: BTreeMap<AuthorId, Member>,
}

/// One claim of an invite: when and by whom. The smallest claim wins the invite.
type Claim = (u64, AuthorId);

impl Membership {
    /// Membership as the log in `store` says.
    pub fn of_store(store: &Store, project: &Project) -> Result<Self, Error> {
        let (conn, path) = store.database();
        Self::read(conn, path, project)
    }

    /// Membership as the log behind `conn` (a store's database or an import's transaction) says.
    pub(crate) fn read(conn: &Connection, path: &Path, project: &Project) -> Result<Self, Error> {
        Ok(Self::compute(project, Self::bodies(conn, path, project)?))
    }

    /// The project entries of the log behind `conn`, with their authors.
    fn bodies(
        conn: &Connection,
        path: &Path,
        project: &Project,
    ) -> Result<Vec<(AuthorId, Body)>, Error> {
        let mut bodies = Vec::new();
        store::entries_of_kind(conn, path, &Frontier::new(), KIND, |entry| {
            let body = entry
                .body_json()
                .ok()
                .and_then(|json| serde_json::from_value::<Body>(json).ok());
            if let Some(body) = body.filter(|b| b.project() == &project.id) {
                bodies.push((entry.author, body));
            }
        })?;
        Ok(bodies)
    }

    fn compute(project: &Project, bodies: Vec<(AuthorId, Body)>) -> Self {
        let mut joins = Vec::new();
        let mut removals = Vec::new();
        for (author, body) in bodies {
            match body {
                Body::Join { chain, .. } => {
                    let subject = chain.last().map(|link| link.subject);
                    if subject == Some(author)
                        && verify_chain(&project.id, &project.root, &chain).is_ok()
                    {
                        joins.push(chain);
                    }
                }
                Body::Remove {
                    author: target,
                    through,
                    ..
                } => {
                    removals.push((author, target, through));
                }
                Body::Create { .. } | Body::Invite { .. } => {}
            }
        }
        // Every link of every valid chain is a claim of its invite, whoever's join carries it.
        let mut winners: BTreeMap<AuthorId, Claim> = BTreeMap::new();
        for link in joins.iter().flatten() {
            let claim = (link.joined, link.subject);
            winners
                .entry(link.invite)
                .and_modify(|best| *best = (*best).min(claim))
                .or_insert(claim);
        }
        let mut members = BTreeMap::new();
        members.insert(
            project.root,
            Member {
                author: project.root,
                role: Role::Admin,
                invite: None,
                invited_by: None,
                joined: None,
                standing: Standing::Active,
            },
        );
        for chain in &joins {
            let last = chain.last().expect("verified chains are not empty");
            let lost = chain
                .iter()
                .find(|link| winners[&link.invite] != (link.joined, link.subject));
            let standing = match lost {
                None => Standing::Active,
                Some(link) => Standing::InviteTaken {
                    by: winners[&link.invite].1,
                },
            };
            let candidate = Member {
                author: last.subject,
                role: last.role,
                invite: Some(last.invite),
                invited_by: Some(last.issuer),
                joined: Some(last.joined),
                standing,
            };
            members
                .entry(last.subject)
                .and_modify(|held: &mut Member| {
                    if rank(&candidate) > rank(held) {
                        *held = candidate.clone();
                    }
                })
                .or_insert(candidate);
        }
        let mut membership = Self { members };
        membership.apply_removals(project, removals);
        membership
    }

    fn apply_removals(&mut self, project: &Project, mut removals: Vec<(AuthorId, AuthorId, u64)>) {
        // Admins whose own standing later changes still removed what they removed: removals
        // only ever add, so no two stores can disagree about who removed whom.
        removals.retain(|(by, target, _)| {
            *target != project.root
                && self.members.get(by).is_some_and(|m| {
                    m.role == Role::Admin && !matches!(m.standing, Standing::InviteTaken { .. })
                })
        });
        removals.sort();
        for (by, target, through) in removals {
            let Some(member) = self.members.get_mut(&target) else {
                continue;
            };
            member.standing = match member.standing {
                Standing::Active => Standing::Removed { through, by },
                Standing::Removed {
                    through: held,
                    by: first,
                } => Standing::Removed {
                    through: held.max(through),
                    by: first,
                },
                taken @ Standing::InviteTaken { .. } => taken,
            };
        }
    }

    /// Every device the project admitted, by author id.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// What the project says about `author`'s entries.
    pub fn admission(&self, author: &AuthorId) -> Admission {
        match self.members.get(author).map(|m| m.standing) {
            None => Admission::Stranger,
            Some(Standing::Active) => Admission::Active,
            Some(Standing::Removed { through, .. }) => Admission::Through(through),
            Some(Standing::InviteTaken { .. }) => Admission::Through(0),
        }
    }

    /// The authors whose entries count only up to a seq: what views leave out.
    pub fn limits(&self) -> BTreeMap<AuthorId, u64> {
        self.members
            .keys()
            .filter_map(|author| match self.admission(author) {
                Admission::Through(seq) => Some((*author, seq)),
                _ => None,
            })
            .collect()
    }
}

/// Orders two admissions of one device: a standing one beats a lost invite, admin beats member,
/// and an earlier join beats a later one.
fn rank(member: &Member) -> (bool, Role, std::cmp::Reverse<Option<u64>>) {
    (
        !matches!(member.standing, Standing::InviteTaken { .. }),
        member.role,
        std::cmp::Reverse(member.joined),
    )
}

/// An invite: everything a device needs to join, in one piece of text. Holding it is holding
/// the project's key, so it is as secret as the project's data.
pub struct Invite {
    /// The project.
    pub project: ProjectId,
    /// Its name.
    pub name: String,
    /// Its creator.
    pub root: AuthorId,
    /// The chain that admits the issuer (empty when the root issued it).
    pub chain: Vec<Link>,
    /// The admin that signed the certificate.
    pub issuer: AuthorId,
    /// The role it grants.
    pub role: Role,
    /// Its end, seconds since the Unix epoch.
    pub expires: u64,
    cert: Sig,
    secret: SigningKey,
    key: age::x25519::Identity,
}

impl std::fmt::Debug for Invite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invite")
            .field("project", &self.project)
            .field("role", &self.role)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// An invite as it travels: DAG-CBOR, then base64url after [`INVITE_PREFIX`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteWire {
    v: u64,
    project: ProjectId,
    name: String,
    root: AuthorId,
    key: String,
    chain: Vec<Link>,
    issuer: AuthorId,
    role: Role,
    expires: u64,
    cert: Sig,
    #[serde(with = "serde_bytes")]
    secret: Vec<u8>,
}

const INVITE_VERSION: u64 = 1;

impl Invite {
    /// The invite's public key: what the certificate names.
    pub fn invite_key(&self) -> AuthorId {
        AuthorId::from_bytes(self.secret.verifying_key().to_bytes())
    }

    /// The invite as text (`mule-invite1:...`).
    pub fn to_text(&self) -> String {
        use age::secrecy::ExposeSecret;
        let wire = InviteWire {
            v: INVITE_VERSION,
            project: self.project,
            name: self.name.clone(),
            root: self.root,
            key: self.key.to_string().expose_secret().to_string(),
            chain: self.chain.clone(),
            issuer: self.issuer,
            role: self.role,
            expires: self.expires,
            cert: self.cert,
            secret: self.secret.to_bytes().to_vec(),
        };
        let bytes = serde_ipld_dagcbor::to_vec(&wire).expect("an invite encodes");
        format!("{INVITE_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads an invite's text (surrounding whitespace and line breaks are ignored) and checks
    /// its signatures.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::BadInvite(why.to_string());
        let text: String = text.split_whitespace().collect();
        if text.len() > MAX_INVITE_LEN {
            return Err(bad("it is too long"));
        }
        let encoded = text
            .strip_prefix(INVITE_PREFIX)
            .ok_or_else(|| bad("it does not start with the invite prefix"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| bad("it has characters an invite never holds, or was cut short"))?;
        let version = serde_ipld_dagcbor::from_slice::<VersionOnly>(&bytes)
            .map_err(|_| bad("its contents do not decode"))?
            .v;
        if version > INVITE_VERSION {
            return Err(Error::NewerInvite(version));
        }
        let wire: InviteWire = serde_ipld_dagcbor::from_slice(&bytes)
            .map_err(|_| bad("its contents do not decode"))?;
        let secret: [u8; 32] = wire
            .secret
            .as_slice()
            .try_into()
            .map_err(|_| bad("its invite key is not 32 bytes"))?;
        let key = wire
            .key
            .parse::<age::x25519::Identity>()
            .map_err(|_| bad("its project key is malformed"))?;
        check_name(&wire.name).map_err(|_| bad("its project name is malformed"))?;
        let invite = Self {
            project: wire.project,
            name: wire.name,
            root: wire.root,
            chain: wire.chain,
            issuer: wire.issuer,
            role: wire.role,
            expires: wire.expires,
            cert: wire.cert,
            secret: SigningKey::from_bytes(&secret),
            key,
        };
        invite.check()?;
        Ok(invite)
    }

    /// Checks the issuer's chain and the certificate, as a join will.
    fn check(&self) -> Result<(), ChainError> {
        if self.chain.is_empty() {
            if self.issuer != self.root {
                return Err(ChainError::NotFromRoot);
            }
        } else {
            let role = verify_chain(&self.project, &self.root, &self.chain)?;
            let last = self.chain.last().expect("not empty");
            if role != Role::Admin || last.subject != self.issuer || self.chain.len() >= MAX_CHAIN {
                return Err(ChainError::Broken(self.chain.len() + 1));
            }
        }
        let cert = cert_message(&self.project, &self.invite_key(), self.role, self.expires);
        if !verifies(&self.issuer, &cert, &self.cert) {
            return Err(ChainError::Signature(self.chain.len() + 1));
        }
        Ok(())
    }

    /// The link that admits `subject`, joining at `joined` (ms).
    fn link_for(&self, subject: AuthorId, joined: u64) -> Link {
        let proof = self
            .secret
            .sign(&proof_message(&self.project, &subject, joined));
        Link {
            issuer: self.issuer,
            invite: self.invite_key(),
            role: self.role,
            expires: self.expires,
            cert: self.cert,
            subject,
            joined,
            proof: Sig(proof.to_bytes()),
        }
    }
}

#[derive(Deserialize)]
struct VersionOnly {
    v: u64,
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

/// Makes an invite that admits one device with `role` until `lifetime_secs` from now, and
/// records it in the log.
pub fn invite(store: &mut Store, role: Role, lifetime_secs: u64) -> Result<Invite, Error> {
    store.check_home()?;
    let (project, membership) = current(store)?;
    check_admin(store, &project, &membership)?;
    let expires = now_ms() / 1000 + lifetime_secs;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| store::Error::Key(crate::keys::Error::Random(e.to_string())))?;
    let secret = SigningKey::from_bytes(&seed);
    let invite_key = AuthorId::from_bytes(secret.verifying_key().to_bytes());
    let cert = Sig(store.device_key().sign_message(&cert_message(
        &project.id,
        &invite_key,
        role,
        expires,
    )));
    let invite = Invite {
        project: project.id,
        name: project.name.clone(),
        root: project.root,
        chain: project.chain.clone(),
        issuer: store.author(),
        role,
        expires,
        cert,
        secret,
        key: project.key.clone(),
    };
    let body = Body::Invite {
        project: project.id,
        invite: invite_key,
        role,
        expires,
    };
    append_body(store, &body, now_ms())?;
    Ok(invite)
}

/// Joins the project of `invite`: this device's entries count from now on, everywhere.
pub fn join(store: &mut Store, invite: &Invite) -> Result<Project, Error> {
    store.check_home()?;
    match load(store)? {
        // A device of this project that took a new key (after a removal) joins again.
        Some(project) if project.id == invite.project => {
            match Membership::of_store(store, &project)?.admission(&store.author()) {
                Admission::Stranger => {}
                Admission::Active => return Err(Error::AlreadyInProject(project.name)),
                Admission::Through(_) => return Err(Error::Removed(project.name)),
            }
        }
        Some(project) => return Err(Error::AlreadyInProject(project.name)),
        None => check_fresh(store)?,
    }
    let joined = now_ms();
    if joined > invite.expires.saturating_mul(1000) {
        return Err(Error::Expired(format_time(invite.expires)));
    }
    let mut chain = invite.chain.clone();
    chain.push(invite.link_for(store.author(), joined));
    verify_chain(&invite.project, &invite.root, &chain)?;
    let project = Project {
        id: invite.project,
        name: invite.name.clone(),
        root: invite.root,
        chain: chain.clone(),
        key: invite.key.clone(),
    };
    let body = Body::Join {
        project: project.id,
        chain,
    };
    check_invite_unused(store, &project, &body)?;
    save(store, &project)?;
    append_body(store, &body, joined)?;
    Ok(project)
}

/// Refuses a join that the store's own log already shows would not count: the invite was
/// claimed earlier by another device (an invite replayed after `mule id --new-key`). A fresh
/// store cannot know of other claims; `mule project members` shows them once they arrive.
fn check_invite_unused(store: &Store, project: &Project, join: &Body) -> Result<(), Error> {
    let (conn, path) = store.database();
    let mut bodies = Membership::bodies(conn, path, project)?;
    bodies.push((store.author(), join.clone()));
    let membership = Membership::compute(project, bodies);
    match membership.members.get(&store.author()).map(|m| m.standing) {
        Some(Standing::InviteTaken { by }) => Err(Error::InviteUsed {
            name: project.name.clone(),
            by: by.short(),
        }),
        _ => Ok(()),
    }
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
    use super::*;
    use proptest::prelude::*;

    fn store(dir: &tempfile::TempDir, name: &str) -> Store {
        Store::open(&dir.path().join(name)).unwrap()
    }

    /// The root's store, a member's store admitted through it, and the invite text used.
    fn camp(dir: &tempfile::TempDir) -> (Store, Store, String) {
        let mut root = store(dir, "root");
        create(&mut root, "Camp").unwrap();
        let text = invite(&mut root, Role::Member, 3600).unwrap().to_text();
        let mut member = store(dir, "member");
        join(&mut member, &Invite::parse(&text).unwrap()).unwrap();
        (root, member, text)
    }

    /// Membership over the project entries of several stores, in the given order.
    fn membership_of(project: &Project, stores: &[&Store]) -> Membership {
        let mut bodies = Vec::new();
        for store in stores {
            store
                .for_each_segment::<store::Error>(None, |segment, hashes| {
                    for (_, entry) in segment.to_entries(hashes) {
                        if entry.kind == KIND {
                            let body = serde_json::from_value(entry.body_json().unwrap()).unwrap();
                            bodies.push((entry.author, body));
                        }
                    }
                    Ok(())
                })
                .unwrap();
        }
        Membership::compute(project, bodies)
    }

    #[test]
    fn an_invited_device_is_admitted_and_a_stranger_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (root, member, _) = camp(&dir);
        let project = load(&root).unwrap().unwrap();
        let membership = membership_of(&project, &[&root, &member]);
        assert_eq!(membership.admission(&root.author()), Admission::Active);
        assert_eq!(membership.admission(&member.author()), Admission::Active);
        let stranger = store(&dir, "stranger");
        assert_eq!(
            membership.admission(&stranger.author()),
            Admission::Stranger
        );
        // Without the member's join entry, nothing admits it.
        let root_only = membership_of(&project, &[&root]);
        assert_eq!(root_only.admission(&member.author()), Admission::Stranger);
    }

    #[test]
    fn invite_text_round_trips_and_survives_line_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let mut root = store(&dir, "root");
        create(&mut root, "Camp").unwrap();
        let made = invite(&mut root, Role::Admin, 60).unwrap();
        let text = made.to_text();
        assert!(text.starts_with(INVITE_PREFIX));
        let wrapped: String = text
            .as_bytes()
            .chunks(40)
            .map(|c| format!("  {}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        let back = Invite::parse(&wrapped).unwrap();
        assert_eq!(back.invite_key(), made.invite_key());
        assert_eq!(
            (back.role, back.expires, back.issuer),
            (Role::Admin, made.expires, root.author())
        );
    }

    #[test]
    fn an_admin_invited_by_the_root_can_invite_and_a_member_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let mut root = store(&dir, "root");
        create(&mut root, "Camp").unwrap();
        let mut admin = store(&dir, "admin");
        join(&mut admin, &invite(&mut root, Role::Admin, 60).unwrap()).unwrap();
        let mut member = store(&dir, "member");
        join(&mut member, &invite(&mut admin, Role::Member, 60).unwrap()).unwrap();
        assert_eq!(load(&member).unwrap().unwrap().chain.len(), 2);
        let project = load(&root).unwrap().unwrap();
        // The root never saw the admin's log, yet the member's own chain admits it.
        let membership = membership_of(&project, &[&root, &member]);
        assert_eq!(membership.admission(&member.author()), Admission::Active);
        assert!(matches!(
            invite(&mut member, Role::Member, 60),
            Err(Error::NotAdmin(_))
        ));
    }

    #[test]
    fn a_second_claim_of_an_invite_loses_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let (root, first, text) = camp(&dir);
        let mut second = store(&dir, "second");
        std::thread::sleep(std::time::Duration::from_millis(5));
        join(&mut second, &Invite::parse(&text).unwrap()).unwrap();
        let project = load(&root).unwrap().unwrap();
        for order in [[&root, &first, &second], [&second, &root, &first]] {
            let membership = membership_of(&project, &order);
            assert_eq!(membership.admission(&first.author()), Admission::Active);
            assert_eq!(
                membership.admission(&second.author()),
                Admission::Through(0)
            );
        }
    }

    #[test]
    fn removal_keeps_what_the_admin_had_seen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut root, member, _) = camp(&dir);
        let file = dir.path().join("b.mule");
        crate::bundle::write_bundle(&member, &Frontier::new(), &Default::default(), &file, false)
            .unwrap();
        crate::bundle::import_bundle(&mut root, &file).unwrap();
        let root_id = root.author();
        assert!(matches!(
            remove(&mut root, &root_id),
            Err(Error::RemoveRoot)
        ));
        assert_eq!(remove(&mut root, &member.author()).unwrap(), 1);
        let (_, membership) = current(&root).unwrap();
        assert_eq!(
            membership.admission(&member.author()),
            Admission::Through(1)
        );
        assert_eq!(membership.limits().get(&member.author()), Some(&1));
    }

    #[test]
    fn a_removed_device_returns_only_with_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let (mut root, mut member, _) = camp(&dir);
        let old = member.author();
        remove(&mut root, &old).unwrap();
        let file = dir.path().join("removal.mule");
        crate::bundle::write_bundle(&root, &Frontier::new(), &Default::default(), &file, false)
            .unwrap();
        crate::bundle::import_bundle(&mut member, &file).unwrap();
        let again = invite(&mut root, Role::Member, 60).unwrap();
        assert!(matches!(join(&mut member, &again), Err(Error::Removed(_))));
        let new = member.new_key().unwrap();
        join(&mut member, &again).unwrap();
        let (_, membership) = current(&member).unwrap();
        assert_eq!(membership.admission(&new), Admission::Active);
        assert_eq!(membership.admission(&old), Admission::Through(0));
        assert!(matches!(
            join(&mut member, &again),
            Err(Error::AlreadyInProject(_))
        ));
    }

    #[test]
    fn a_member_cannot_remove_anyone() {
        let dir = tempfile::tempdir().unwrap();
        let (root, mut member, _) = camp(&dir);
        assert!(matches!(
            remove(&mut member, &root.author()),
            Err(Error::NotAdmin(_))
        ));
        // A remove entry written by hand by a member does not count either.
        let project = load(&member).unwrap().unwrap();
        let body = Body::Remove {
            project: project.id,
            author: root.author(),
            through: 0,
        };
        append_body(&mut member, &body, now_ms()).unwrap();
        let membership = membership_of(&project, &[&root, &member]);
        assert_eq!(membership.admission(&root.author()), Admission::Active);
    }

    #[test]
    fn a_forged_or_expired_chain_admits_no_one() {
        let dir = tempfile::tempdir().unwrap();
        let (root, member, _) = camp(&dir);
        let project = load(&member).unwrap().unwrap();
        let good = project.chain.clone();
        assert_eq!(
            verify_chain(&project.id, &root.author(), &good),
            Ok(Role::Member)
        );
        let mut promoted = good.clone();
        promoted[0].role = Role::Admin;
        assert_eq!(
            verify_chain(&project.id, &root.author(), &promoted),
            Err(ChainError::Signature(1))
        );
        let mut late = good.clone();
        late[0].joined = late[0].expires * 1000 + 1;
        assert!(verify_chain(&project.id, &root.author(), &late).is_err());
        let other = ProjectId::from_bytes([7; 32]);
        assert!(verify_chain(&other, &root.author(), &good).is_err());
        assert_eq!(
            verify_chain(&project.id, &member.author(), &good),
            Err(ChainError::NotFromRoot)
        );
        assert_eq!(
            verify_chain(&project.id, &root.author(), &[]),
            Err(ChainError::Length(0))
        );
    }

    #[test]
    fn an_expired_invite_is_refused_at_join() {
        let dir = tempfile::tempdir().unwrap();
        let mut root = store(&dir, "root");
        create(&mut root, "Camp").unwrap();
        let mut made = invite(&mut root, Role::Member, 60).unwrap();
        made.expires = 1;
        let mut late = store(&dir, "late");
        assert!(matches!(join(&mut late, &made), Err(Error::Expired(_))));
        assert!(load(&late).unwrap().is_none());
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

    proptest! {
        #[test]
        fn any_damaged_invite_text_is_refused_without_panicking(
            at in 0usize..2000, byte in any::<u8>(), cut in 0usize..2000,
        ) {
            static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let text = TEXT.get_or_init(|| {
                let dir = tempfile::tempdir().unwrap();
                let mut root = store(&dir, "root");
                create(&mut root, "Camp").unwrap();
                invite(&mut root, Role::Member, 60).unwrap().to_text()
            });
            let mut bytes = text.as_bytes().to_vec();
            let at = at % bytes.len();
            let changed = bytes[at] != byte;
            bytes[at] = byte;
            let damaged = String::from_utf8_lossy(&bytes).into_owned();
            // The project's name is not signed (it is only a label); what admits is.
            if let Ok(parsed) = Invite::parse(&damaged) {
                let original = Invite::parse(text).unwrap();
                prop_assert!(changed || parsed.name == original.name);
                prop_assert_eq!(parsed.invite_key(), original.invite_key());
                prop_assert_eq!((parsed.project, parsed.root), (original.project, original.root));
            }
            prop_assert!(Invite::parse(&text[..cut % text.len()]).is_err());
        }
    }
}
