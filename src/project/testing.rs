//! Helpers the project's unit tests share.

use crate::store::Store;

use super::{Invite, Role, create, invite, join};

pub(super) fn store(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(&dir.path().join(name)).unwrap()
}

/// The root's store, a member's store admitted through it, and the invite text used.
pub(super) fn camp(dir: &tempfile::TempDir) -> (Store, Store, String) {
    let mut root = store(dir, "root");
    create(&mut root, "Camp").unwrap();
    let text = invite(&mut root, Role::Member, 3600).unwrap().to_text();
    let mut member = store(dir, "member");
    join(&mut member, &Invite::parse(&text).unwrap()).unwrap();
    (root, member, text)
}
