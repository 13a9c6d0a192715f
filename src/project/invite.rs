//! Invites: an admin's certificate that admits whoever holds the invite key, the text that
//! carries it, the chain of certificates back to the root, and joining with one (module docs of
//! [`crate::project`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::id::{AuthorId, ProjectId};
use crate::store::{self, Store, now_ms};

use super::membership::{Admission, Membership, Standing, bodies_of_store};
use super::{
    Body, Error, Project, append_body, check_admin, check_fresh, check_name, current, format_time,
    load, save,
};

/// Text that opens every invite.
pub const INVITE_PREFIX: &str = "mule-invite1:";
/// Longest invite text a reader decodes.
pub const MAX_INVITE_LEN: usize = 16 * 1024;
/// Most certificates in a chain from the root to a device.
pub const MAX_CHAIN: usize = 8;
/// How long an invite stays usable unless told otherwise: seven days.
pub const DEFAULT_INVITE_LIFETIME_SECS: u64 = 7 * 24 * 60 * 60;
/// Domain separation of the certificate an admin signs.
const CERT_CONTEXT: &[u8] = b"mule-invite-v1\0";
/// Domain separation of the proof an invitee signs with the invite key.
const PROOF_CONTEXT: &[u8] = b"mule-join-v1\0";

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
    let mut bodies = bodies_of_store(store, project)?;
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::testing::{camp, store};
    use super::*;
    use crate::project::create;

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
