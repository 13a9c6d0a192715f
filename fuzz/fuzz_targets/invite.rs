//! Invite text to `project::Invite::parse`; every invite that reads must write back to text
//! that reads as the same invite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mule::project::Invite;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(invite) = Invite::parse(text) else {
        return;
    };
    let again = Invite::parse(&invite.to_text()).expect("a written invite reads");
    assert_eq!(again.invite_key(), invite.invite_key());
    assert_eq!((again.project, again.root, again.expires), (invite.project, invite.root, invite.expires));
});
