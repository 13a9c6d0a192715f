//! Projects: invites, who may write, sealed bundles, removal.

use assert_cmd::prelude::*;
use predicates::prelude::*;

use super::*;

/// A project "Camp": its root's store, and the invite text for one more device.
fn camp(work: &Work) -> (PathBuf, String) {
    let root = work.path("root");
    let created = json(&root, &["project", "create", "Camp"]);
    assert!(is_hex(&created["project"]), "{created}");
    (root.clone(), invite(&root))
}

fn invite(store: &Path) -> String {
    let made = json(store, &["project", "invite"]);
    let text = made["invite"].as_str().expect("invite text").to_owned();
    assert!(text.starts_with("mule-invite1:"), "{text}");
    text
}

fn is_hex(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A member's store, joined with `invite`.
fn member(work: &Work, name: &str, invite: &str) -> PathBuf {
    let store = work.path(name);
    let joined = json(&store, &["project", "join", invite]);
    assert_eq!(
        (&joined["name"], &joined["role"]),
        (&"Camp".into(), &"member".into())
    );
    store
}

/// A member's claim of its invite, as the project orders claims (the smallest wins): when it
/// joined, by its own clock, then its device id.
fn claim(store: &Path) -> (u64, String) {
    let own = json(store, &["id"])["author"].clone();
    let members = run(store, &["--json", "project", "members"]);
    assert!(members.status.success(), "{}", stderr(&members));
    stdout(&members)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON line"))
        .find(|member| member["author"] == own)
        .map(|member| {
            let joined = member["joined"].as_u64().expect("joined");
            (joined, own.as_str().expect("hex id").to_owned())
        })
        .expect("the device is a member")
}

fn put(store: &Path, key: &str, value: &str) {
    mule(store)
        .args(["kv", "put", key, &format!("\"{value}\"")])
        .assert()
        .success();
}

/// The current values of `key`; none when `kv get` says it has none (exit 1, issue 16).
fn values(store: &Path, key: &str) -> Vec<String> {
    let got = run(store, &["--json", "kv", "get", key]);
    if got.status.code() == Some(1) && stdout(&got).contains(&format!("no kv key `{key}`")) {
        return Vec::new();
    }
    stdout(&got)
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("JSON line");
            value["value"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn export(store: &Path, file: &Path) -> PathBuf {
    mule(store)
        .args(["export", "--all", "-o"])
        .arg(file)
        .assert()
        .success();
    file.to_path_buf()
}

fn import(store: &Path, file: &Path) -> Output {
    mule(store).arg("import").arg(file).output().expect("run")
}

/// The one line a refusal prints before its hint.
fn error_line(output: &Output) -> String {
    let text = stderr(output);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    lines[0].to_owned()
}

#[test]
fn an_invited_device_syncs_both_ways_and_the_stick_shows_nothing() {
    let work = Work::new();
    let (root, text) = camp(&work);
    let field = member(&work, "field", &text);
    put(&field, "well-9", "dry-at-the-old-oak");
    let bundle = export(&field, &work.path("field.mule"));
    let bytes = std::fs::read(&bundle).expect("bundle");
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    let plain_text = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!plain_text(b"dry-at-the-old-oak") && !plain_text(b"well-9") && !plain_text(b"Camp"));
    assert!(import(&root, &bundle).status.success());
    assert_eq!(values(&root, "well-9"), ["dry-at-the-old-oak"]);
    put(&root, "well-9", "flooded");
    let back = export(&root, &work.path("root.mule"));
    assert!(import(&field, &back).status.success());
    assert_eq!(
        values(&field, "well-9"),
        ["flooded"],
        "the root's put superseded it"
    );
    let members = run(&root, &["--json", "project", "members"]);
    let members: Vec<Value> = stdout(&members)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(members.len(), 2);
    assert!(
        members.iter().all(|m| m["status"] == "active"),
        "{members:?}"
    );
}

#[test]
fn a_strangers_bundle_is_refused_and_changes_nothing() {
    let work = Work::new();
    let (root, _) = camp(&work);
    put(&root, "well-1", "dry");
    let stranger = work.path("stranger");
    put(&stranger, "well-1", "poisoned");
    let bundle = export(&stranger, &work.path("stranger.mule"));
    let before = state(&root);
    let refused = import(&root, &bundle);
    assert_eq!(refused.status.code(), Some(1));
    let line = error_line(&refused);
    assert!(
        line.contains("stranger.mule") && line.contains("not a member of project \"Camp\""),
        "{line}"
    );
    assert_eq!(state(&root), before);
    assert_eq!(values(&root, "well-1"), ["dry"]);
    // The stranger's entries ride in a member's bundle: the whole bundle is refused.
    let plain = work.path("plain");
    assert!(
        import(&plain, &bundle).status.success(),
        "a plain store takes anyone"
    );
    put(&plain, "note", "hello");
    let mixed = export(&plain, &work.path("mixed.mule"));
    assert!(!import(&root, &mixed).status.success());
    assert_eq!(state(&root), before);
    mule(&root).arg("fsck").assert().success();
}

#[test]
fn bundles_of_another_project_or_without_a_project_are_refused() {
    let work = Work::new();
    let (root, text) = camp(&work);
    put(&root, "well-1", "dry");
    let sealed = export(&root, &work.path("camp.mule"));
    let plain = work.path("plain");
    let refused = import(&plain, &sealed);
    assert!(
        error_line(&refused).contains("encrypted for a project"),
        "{}",
        stderr(&refused)
    );
    let other = work.path("other");
    mule(&other)
        .args(["project", "create", "Other"])
        .assert()
        .success();
    let refused = import(&other, &sealed);
    assert!(
        error_line(&refused).contains("encrypted for another project"),
        "{}",
        stderr(&refused)
    );
    assert!(values(&other, "well-1").is_empty());
    // The invite opens it.
    let field = member(&work, "field", &text);
    assert!(import(&field, &sealed).status.success());
    assert_eq!(values(&field, "well-1"), ["dry"]);
}

#[test]
fn a_tampered_or_cut_sealed_bundle_fails_authentication_before_anything_is_read() {
    let work = Work::new();
    let (root, text) = camp(&work);
    assert!(
        append_lines(&root, "obs", &hashed_lines(3000))
            .status
            .success()
    );
    let good = std::fs::read(export(&root, &work.path("good.mule"))).expect("bundle");
    assert!(good.len() > 70_000, "more than one 64 KiB age chunk");
    let field = member(&work, "field", &text);
    let before = state(&field);
    let mut damaged = Vec::new();
    for at in [good.len() / 3, good.len() - 20] {
        let mut bytes = good.clone();
        bytes[at] ^= 0x01;
        damaged.push((format!("flip-{at}.mule"), bytes));
    }
    damaged.push(("cut.mule".into(), good[..good.len() - 100].to_vec()));
    damaged.push(("header.mule".into(), {
        // Change the case of a letter of the recipient stanza's base64: still well-formed, but
        // another key. (A digit there would make the header malformed instead, a refusal with
        // other words; the stanza's text is random, so the letter is looked for.)
        let mut bytes = good.clone();
        let stanza = b"age-encryption.org/v1\n-> X25519 ".len();
        let letter = (stanza..stanza + 43)
            .find(|&i| bytes[i].is_ascii_alphabetic())
            .expect("a base64 key has letters");
        bytes[letter] ^= 0x20;
        bytes
    }));
    for (name, bytes) in damaged {
        let path = work.path(&name);
        std::fs::write(&path, bytes).expect("write");
        // A damaged recipient stanza cannot be told from another project's key.
        let reason = if name == "header.mule" {
            "does not open"
        } else {
            "fails authentication"
        };
        for command in ["import", "verify"] {
            let refused = mule(&field).arg(command).arg(&path).output().expect("run");
            assert_eq!(refused.status.code(), Some(1), "{name}");
            let line = error_line(&refused);
            assert!(line.contains(&name) && line.contains(reason), "{line}");
        }
        assert_eq!(state(&field), before, "{name}");
    }
}

#[test]
fn the_age_tool_opens_a_sealed_bundle_with_the_project_key() {
    let Some(age) = outside_tool("age", "age") else {
        return;
    };
    let work = Work::new();
    let (root, _) = camp(&work);
    put(&root, "well-1", "dry");
    let sealed = export(&root, &work.path("camp.mule"));
    let key = key_file(&work, &root);
    let plain = work.path("plain.mule");
    let opened = std::process::Command::new(age)
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg("-o")
        .arg(&plain)
        .arg(&sealed)
        .output()
        .expect("run age");
    assert!(opened.status.success(), "{}", stderr(&opened));
    // What age decrypts is an ordinary format-1 bundle: any reader takes it without a key.
    mule_bare().arg("verify").arg(&plain).assert().success();
    let inspected = json(
        &work.path("nobody"),
        &["inspect", plain.to_str().expect("utf-8")],
    );
    assert_eq!(inspected["encrypted"], false);
}

#[test]
fn a_removed_device_keeps_its_earlier_entries_and_loses_later_ones_everywhere() {
    let work = Work::new();
    let (root, text) = camp(&work);
    let helper = member(&work, "helper", &invite(&root));
    let leaver = member(&work, "leaver", &text);
    put(&leaver, "camp", "before");
    assert!(
        import(&root, &export(&leaver, &work.path("l1.mule")))
            .status
            .success()
    );
    let leaver_id = json(&leaver, &["id"])["author"]
        .as_str()
        .expect("id")
        .to_owned();
    let removed = json(&root, &["project", "remove", &leaver_id]);
    assert_eq!(
        removed["through"], 2,
        "its join and its first put: {removed}"
    );
    put(&leaver, "camp", "after");
    let late = export(&leaver, &work.path("l2.mule"));
    // The helper takes the later entry before it learns of the removal...
    assert!(import(&helper, &late).status.success());
    assert_eq!(values(&helper, "camp"), ["after"]);
    // ...and drops it from its views once the removal arrives.
    assert!(
        import(&helper, &export(&root, &work.path("r.mule")))
            .status
            .success()
    );
    assert_eq!(values(&helper, "camp"), ["before"]);
    // The root, which knew, leaves the later entries out at import, and says so in words too.
    let imported = run(&root, &["import", late.to_str().expect("utf-8")]);
    let text = stdout(&imported);
    assert!(
        text.contains("1 left out (entries of removed devices after their removal)"),
        "{text}"
    );
    assert_eq!(values(&root, "camp"), ["before"]);
    mule(&root).arg("fsck").assert().success();
    mule(&helper).arg("fsck").assert().success();
    mule(&root)
        .args(["project", "members"])
        .assert()
        .stdout(predicate::str::contains("removed by"));
}

#[test]
fn only_admins_invite_and_remove() {
    let work = Work::new();
    let (root, text) = camp(&work);
    let field = member(&work, "field", &text);
    let refused = run(&field, &["project", "invite"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(error_line(&refused).contains("not an admin"));
    let root_id = json(&root, &["id"])["author"]
        .as_str()
        .expect("id")
        .to_owned();
    let refused = run(&field, &["project", "remove", &root_id]);
    assert!(error_line(&refused).contains("not an admin"));
    let refused = run(&root, &["project", "remove", &root_id]);
    assert!(error_line(&refused).contains("cannot be removed"));
    // An admin invited by the root invites in turn, and the root accepts its invitee at once.
    let deputy = work.path("deputy");
    let admin_invite = json(&root, &["project", "invite", "--admin"]);
    let joined = json(
        &deputy,
        &[
            "project",
            "join",
            admin_invite["invite"].as_str().expect("text"),
        ],
    );
    assert_eq!(joined["role"], "admin");
    let second = member(&work, "second", &invite(&deputy));
    put(&second, "k", "from-second");
    assert!(
        import(&root, &export(&second, &work.path("s.mule")))
            .status
            .success()
    );
    assert_eq!(values(&root, "k"), ["from-second"]);
}

#[test]
fn an_invite_admits_one_device() {
    let work = Work::new();
    let (root, text) = camp(&work);
    let (a, b) = (member(&work, "a", &text), member(&work, "b", &text));
    // Which claim is first is data (when each joined, then the device id), not the order the
    // joins ran in.
    let (first, second) = if claim(&a) < claim(&b) {
        (a, b)
    } else {
        (b, a)
    };
    put(&first, "k", "first");
    put(&second, "k", "second");
    // Whichever bundle arrives first, only the first claim counts.
    assert!(
        import(&root, &export(&second, &work.path("2.mule")))
            .status
            .success()
    );
    assert_eq!(
        values(&root, "k"),
        ["second"],
        "alone, the second claim is taken"
    );
    assert!(
        import(&root, &export(&first, &work.path("1.mule")))
            .status
            .success()
    );
    assert_eq!(values(&root, "k"), ["first"]);
    mule(&root)
        .args(["project", "members"])
        .assert()
        .stdout(predicate::str::contains("used the same invite first"));
}

#[test]
fn an_invite_replayed_by_a_new_key_is_refused_and_writes_nothing() {
    let work = Work::new();
    let (_, text) = camp(&work);
    let first = member(&work, "first", &text);
    assert!(run(&first, &["id", "--new-key"]).status.success());
    let before = state(&first);
    let replay = run(&first, &["project", "join", &text]);
    assert_eq!(replay.status.code(), Some(1), "{}", stdout(&replay));
    let line = error_line(&replay);
    assert!(
        line.contains("this invite was already used by device"),
        "{line}"
    );
    assert_eq!(state(&first), before);
}

#[test]
fn invites_travel_as_qr_codes_and_bad_ones_get_one_line() {
    let work = Work::new();
    let (root, _) = camp(&work);
    let png = work.path("invite.png");
    mule(&root)
        .args(["project", "invite", "--png"])
        .arg(&png)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("mule-invite1:"));
    let field = work.path("field");
    mule(&field)
        .args(["project", "join"])
        .arg(&png)
        .assert()
        .success();
    let text = invite(&root);
    // A saved message holding the text works too.
    let saved = work.path("invite.txt");
    std::fs::write(&saved, format!("{text}\n")).expect("write");
    mule(&work.path("from-file"))
        .args(["project", "join"])
        .arg(&saved)
        .assert()
        .success();
    let text = invite(&root);
    let cut = &text[..text.len() / 2];
    for bad in [cut, "hello", "mule-invite1:!!!!"] {
        let refused = run(&work.path("x"), &["project", "join", bad]);
        assert_eq!(refused.status.code(), Some(1), "{bad}");
        assert!(
            error_line(&refused).contains("not a valid mule invite"),
            "{}",
            stderr(&refused)
        );
    }
    let refused = run(&field, &["project", "join", &text]);
    assert!(error_line(&refused).contains("already belongs to project"));
    mule(&root)
        .args(["project", "invite", "--expires", "soon"])
        .assert()
        .code(2);
}

#[test]
fn project_stores_sync_through_a_folder_and_qr_codes() {
    let work = Work::new();
    let (root, text) = camp(&work);
    let field = member(&work, "field", &text);
    let stick = work.folder("stick");
    put(&root, "a", "from-root");
    mule(&root).arg("sync").arg(&stick).assert().success();
    mule(&field).arg("sync").arg(&stick).assert().success();
    mule(&root).arg("sync").arg(&stick).assert().success();
    assert_eq!(values(&field, "a"), ["from-root"]);
    put(&field, "b", "by-qr");
    let sealed = export(&field, &work.path("field.mule"));
    let frames = work.folder("frames");
    mule(&field)
        .args(["qr", "encode", "--profile", "small", "--png"])
        .arg(&frames)
        .arg(&sealed)
        .assert()
        .success();
    mule(&root)
        .args(["qr", "decode", "--import"])
        .arg(&frames)
        .assert()
        .success();
    assert_eq!(values(&root, "b"), ["by-qr"]);
}

mod convergence {
    //! Property: project stores that write, remove devices and exchange bundles in any order end
    //! with the same membership and the same views, and no member's bundle is ever refused.

    use mule::bundle::{Coverage, import_bundle, write_bundle};
    use mule::entry::body_from_json;
    use mule::project::{self, Membership, Role};
    use mule::store::{Draft, Frontier, Store};
    use mule::views::Views;
    use proptest::prelude::*;

    /// Store 0 is the root; 1 and 2 joined with invites of their own; 3 used 2's invite later.
    const STORES: usize = 4;

    #[derive(Debug, Clone)]
    enum Step {
        Put(usize, u8),
        Remove(usize),
        Exchange(usize, usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (0..STORES, 0..3u8).prop_map(|(s, k)| Step::Put(s, k)),
            1 => (1..STORES).prop_map(Step::Remove),
            4 => (0..STORES, 0..STORES).prop_map(|(a, b)| Step::Exchange(a, b)),
        ]
    }

    fn put(store: &mut Store, key: u8, n: usize) {
        let body = serde_json::json!({ "k": format!("k{key}"), "v": format!("{}-{n}", store.author().short()) });
        store
            .append(vec![Draft {
                kind: "kv".into(),
                body: body_from_json(&body).expect("body"),
                links: vec![],
                timestamp: 1_795_000_000_000 + n as u64,
            }])
            .expect("append");
    }

    fn exchange(stores: &mut [Store], from: usize, to: usize, file: &std::path::Path) {
        write_bundle(
            &stores[from],
            &Frontier::new(),
            &Coverage::default(),
            file,
            false,
        )
        .expect("export");
        if let Err(e) = import_bundle(&mut stores[to], file) {
            panic!("a member's bundle was refused: {e}");
        }
    }

    fn setup(dir: &std::path::Path) -> Vec<Store> {
        let mut stores: Vec<Store> = (0..STORES)
            .map(|i| Store::open(&dir.join(format!("s{i}"))).expect("open"))
            .collect();
        project::create(&mut stores[0], "Camp").expect("create");
        let invites: Vec<String> = (0..2)
            .map(|_| {
                project::invite(&mut stores[0], Role::Member, 3600)
                    .expect("invite")
                    .to_text()
            })
            .collect();
        for (store, text) in stores[1..]
            .iter_mut()
            .zip([&invites[0], &invites[1], &invites[1]])
        {
            project::join(store, &project::Invite::parse(text).expect("parse")).expect("join");
        }
        // Stores 2 and 3 claimed the same invite; the earlier claim (by the joins' own data: when,
        // then the device id) goes to store 2, so store 3 is the one that lost it.
        if claim(&stores[3]) < claim(&stores[2]) {
            stores.swap(2, 3);
        }
        stores
    }

    /// A store's claim of its invite, as the project orders claims.
    fn claim(store: &Store) -> (u64, mule::AuthorId) {
        let (_, membership): (_, Membership) = project::current(store).expect("project");
        let joined = membership
            .members()
            .find(|member| member.author == store.author())
            .and_then(|member| member.joined)
            .expect("a member that joined");
        (joined, store.author())
    }

    /// What a store shows: every author's admission and the whole kv view.
    fn shown(store: &Store, authors: &[mule::AuthorId]) -> (Vec<project::Admission>, Vec<String>) {
        let (_, membership): (_, Membership) = project::current(store).expect("project");
        let admissions = authors.iter().map(|a| membership.admission(a)).collect();
        let mut views = Views::open(store.dir()).expect("views");
        views.catch_up(store).expect("catch up");
        let kv = views
            .kv()
            .dump()
            .expect("dump")
            .into_iter()
            .map(|(key, hash, value)| format!("{key} {hash} {value:?}"))
            .collect();
        (admissions, kv)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn project_stores_converge_on_membership_and_views(steps in prop::collection::vec(step(), 5..24)) {
            let work = tempfile::tempdir().expect("temp");
            let file = work.path().join("b.mule");
            let mut stores = setup(work.path());
            for (n, step) in steps.into_iter().enumerate() {
                match step {
                    Step::Put(s, key) => put(&mut stores[s], key, n),
                    Step::Remove(target) => {
                        let author = stores[target].author();
                        project::remove(&mut stores[0], &author).expect("remove");
                    }
                    Step::Exchange(from, to) if from != to => exchange(&mut stores, from, to, &file),
                    Step::Exchange(..) => {}
                }
                // Views catch up along the way, so late removals must undo what they showed.
                let authors: Vec<_> = stores.iter().map(Store::author).collect();
                shown(&stores[n % STORES], &authors);
            }
            for _ in 0..2 {
                for from in 0..STORES {
                    for to in 0..STORES {
                        if from != to {
                            exchange(&mut stores, from, to, &file);
                        }
                    }
                }
            }
            let authors: Vec<_> = stores.iter().map(Store::author).collect();
            let first = shown(&stores[0], &authors);
            prop_assert_eq!(first.0[3], project::Admission::Through(0), "store 3 lost the invite");
            for store in &stores[1..] {
                prop_assert_eq!(&shown(store, &authors), &first);
            }
        }
    }
}

/// Issue 15: an acknowledgement in a project folder is sealed like every bundle written there,
/// and the project's stores believe it.
#[test]
fn acknowledgements_in_a_project_folder_are_sealed() {
    let work = Work::new();
    let (root, text) = camp(&work);
    let field = member(&work, "field", &text);
    let stick = work.folder("stick");
    let dir = stick.to_str().expect("utf-8");
    json(&field, &["sync", dir]);
    put(&root, "a", "from-root");
    json(&root, &["sync", dir]);
    let acknowledged = json(&field, &["sync", dir]);
    assert_eq!(acknowledged["acknowledged"], true, "{acknowledged}");
    let ack = PathBuf::from(acknowledged["written"].as_str().expect("written"));
    let bytes = std::fs::read(&ack).expect("acknowledgement");
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    let outsider = run(
        &work.path("outsider"),
        &["inspect", ack.to_str().expect("utf-8")],
    );
    assert_eq!(outsider.status.code(), Some(1), "{}", stderr(&outsider));
    json(&root, &["sync", dir]);
    let status = json(&root, &["status"]);
    let peers = status["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 1, "{status}");
    assert_eq!(peers[0]["lacks"], 0, "{status}");
}

/// Issue 16: `verify` needs no store, except for a sealed bundle, which only the project's
/// store could open. `--key FILE` (what `mule project key` prints) opens one anywhere, for
/// `verify` and `inspect`; without it the refusal says to give it.
#[test]
fn verify_and_inspect_open_a_sealed_bundle_with_a_key_file_and_no_store() {
    let work = Work::new();
    let (root, _) = camp(&work);
    put(&root, "well-1", "dry");
    let sealed = export(&root, &work.path("camp.mule"));
    let key = key_file(&work, &root);
    let nobody = work.path("nobody");
    let refused = run(&nobody, &["verify", sealed.to_str().expect("utf-8")]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        error_line(&refused).contains("--key FILE"),
        "{}",
        stderr(&refused)
    );
    let verified = json(
        &nobody,
        &[
            "verify",
            "--key",
            key.to_str().expect("utf-8"),
            sealed.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        (&verified["ok"], &verified["encrypted"]),
        (&true.into(), &true.into())
    );
    let inspected = json(
        &nobody,
        &[
            "inspect",
            "--key",
            key.to_str().expect("utf-8"),
            sealed.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(inspected["encrypted"], true, "{inspected}");
    assert!(!nobody.exists(), "verify and inspect create no store");
    let not_a_key = work.path("not-a-key");
    std::fs::write(&not_a_key, "# nothing here\n").expect("write");
    let refused = run(
        &nobody,
        &[
            "verify",
            "--key",
            not_a_key.to_str().expect("utf-8"),
            sealed.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        error_line(&refused).contains("holds no project key"),
        "{}",
        stderr(&refused)
    );
}

/// The project key of `root`'s project, written to a file as `mule project key > FILE` does.
fn key_file(work: &Work, root: &Path) -> PathBuf {
    let key = work.path("camp.agekey");
    let printed = run(root, &["project", "key"]);
    assert!(printed.status.success(), "{}", stderr(&printed));
    std::fs::write(&key, &printed.stdout).expect("write key");
    key
}
