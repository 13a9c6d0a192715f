//! Membership: who counts in a project, a pure function of the project entries of a log
//! (module docs of [`crate::project`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::id::AuthorId;
use crate::store::{self, Frontier, Import, Store};

use super::{Body, Error, KIND, Project, Role, verify_chain};

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
    pub(super) members: BTreeMap<AuthorId, Member>,
}

/// One claim of an invite: when and by whom. The smallest claim wins the invite.
type Claim = (u64, AuthorId);

impl Membership {
    /// Membership as the log in `store` says.
    pub fn of_store(store: &Store, project: &Project) -> Result<Self, Error> {
        Ok(Self::compute(project, bodies_of_store(store, project)?))
    }

    /// Membership as the log would say once `import` commits.
    pub fn of_import(import: &Import<'_>, project: &Project) -> Result<Self, Error> {
        let bodies = bodies(project, |visit| {
            import.entries_of_kind(&Frontier::new(), KIND, visit)
        })?;
        Ok(Self::compute(project, bodies))
    }

    pub(super) fn compute(project: &Project, bodies: Vec<(AuthorId, Body)>) -> Self {
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

/// The project entries of the log in `store`, with their authors.
pub(super) fn bodies_of_store(
    store: &Store,
    project: &Project,
) -> Result<Vec<(AuthorId, Body)>, Error> {
    bodies(project, |visit| {
        store.entries_of_kind(&Frontier::new(), KIND, visit)
    })
}

/// The entries of `project` among those `read` visits (a log's entries of kind [`KIND`]).
fn bodies(
    project: &Project,
    read: impl FnOnce(&mut dyn FnMut(crate::Entry)) -> Result<(), store::Error>,
) -> Result<Vec<(AuthorId, Body)>, Error> {
    let mut bodies = Vec::new();
    read(&mut |entry| {
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

#[cfg(test)]
mod tests {
    use super::super::testing::{camp, store};
    use super::*;
    use crate::project::{Invite, append_body, create, current, invite, join, load, remove};
    use crate::store::now_ms;

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
}
