//! Live sync through a program (issue 16): `mule sync ssh://host/path` runs `mule sync -` on the
//! other side through ssh, and `mule sync --exec CMD` through any command. A fake ssh (a script
//! that drops the host and runs the remote command here) stands in for the network; one test
//! runs a real sshd on 127.0.0.1 when it is installed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use assert_cmd::prelude::*;

use super::*;

/// Where the `mule` under test is: the remote side of every ssh here runs it.
const MULE: &str = env!("CARGO_BIN_EXE_mule");

/// `text` in single quotes for `sh` (written here again, so the tests do not trust the quoting
/// they check).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Writes an executable shell script `name` holding `body`; returns its path.
fn script(work: &Work, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = work.path(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A fake ssh: skips `-p PORT`, drops the host and runs the remote command here, as sshd would
/// (the remote shell gets the arguments joined by spaces).
fn fake_ssh(work: &Work) -> String {
    let path = script(
        work,
        "fake-ssh",
        r#"[ "$1" = -p ] && shift 2
shift
exec sh -c "$*""#,
    );
    shell_quote(path.to_str().expect("utf-8"))
}

/// `mule --store STORE sync ARGS...` with `ssh` as the ssh command and this mule on the remote
/// side (unless a test says otherwise).
fn sync_over(store: &Path, ssh: &str, args: &[&str]) -> Output {
    mule(store)
        .env("MULE_SSH", ssh)
        .env("MULE_REMOTE", shell_quote(MULE))
        .arg("sync")
        .args(args)
        .output()
        .expect("run mule sync")
}

fn ssh_url(store: &Path) -> String {
    format!("ssh://field-laptop{}", store.display())
}

fn put(store: &Path, key: &str, value: &str) {
    mule(store)
        .args(["kv", "put", key, &format!("\"{value}\"")])
        .assert()
        .success();
}

fn value(store: &Path, key: &str) -> Value {
    json(store, &["kv", "get", key])["value"].clone()
}

/// The `error:` lines of a failed command: exactly one, which it returns.
fn one_error_line(output: &Output) -> String {
    let text = stderr(output);
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    errors[0].to_owned()
}

#[test]
fn two_stores_converge_through_ssh_both_ways_even_with_spaces_and_quotes_in_the_path() {
    let work = Work::new();
    let ssh = fake_ssh(&work);
    let a = work.path("a");
    let b = work.path("field store's copy");
    put(&a, "well-7", "dry");
    put(&b, "well-8", "full");

    let first = sync_over(&a, &ssh, &[&ssh_url(&b)]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).starts_with("synced with "),
        "{}",
        stdout(&first)
    );
    assert_eq!(value(&a, "well-8"), "full");
    assert_eq!(value(&b, "well-7"), "dry");

    put(&b, "well-9", "salty");
    let back = sync_over(&b, &ssh, &["--json", &ssh_url(&a)]);
    assert!(back.status.success(), "{}", stderr(&back));
    let report: mule::live::Report = serde_json::from_slice(&back.stdout).expect("JSON report");
    assert_eq!(report.sent, 1);
    assert_eq!(value(&a, "well-9"), "salty");
    assert_eq!(state(&a)["frontier"], state(&b)["frontier"]);
}

#[test]
fn ssh_failing_says_so_in_one_line_and_leaves_the_store_unchanged() {
    let work = Work::new();
    let failing = script(
        &work,
        "failing-ssh",
        "echo 'ssh: connect to host field-laptop port 22: Connection refused' >&2\nexit 255",
    );
    let a = work.path("a");
    put(&a, "well-7", "dry");
    let before = state(&a);

    let output = sync_over(
        &a,
        failing.to_str().expect("utf-8"),
        &["ssh://field-laptop/srv/mule"],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("Connection refused"),
        "ssh's own message passes through: {}",
        stderr(&output)
    );
    let error = one_error_line(&output);
    assert!(
        error.contains("ssh could not reach field-laptop")
            && error.contains(&format!(
                "check that `{} field-laptop` works",
                failing.display()
            )),
        "{error}"
    );
    assert_eq!(state(&a), before);
}

#[test]
fn a_remote_side_without_mule_is_named_with_what_to_do() {
    let work = Work::new();
    let ssh = fake_ssh(&work);
    let a = work.path("a");
    put(&a, "well-7", "dry");
    let before = state(&a);

    let output = mule(&a)
        .env("MULE_SSH", &ssh)
        .args(["sync", "--remote-mule", "mule-not-installed-here"])
        .arg(ssh_url(&work.path("b")))
        .output()
        .expect("run mule sync");
    assert!(!output.status.success());
    let error = one_error_line(&output);
    assert!(
        error.contains("`mule-not-installed-here` was not found on field-laptop (exit 127)")
            && error.contains("--remote-mule"),
        "{error}"
    );
    assert_eq!(state(&a), before);
}

#[test]
fn exec_syncs_two_local_stores_with_nothing_but_a_shell() {
    let work = Work::new();
    let (a, b) = (work.path("a"), work.path("b b"));
    put(&a, "well-7", "dry");
    put(&b, "well-8", "full");
    let peer = format!(
        "{} --store {} sync -",
        shell_quote(MULE),
        shell_quote(b.to_str().expect("utf-8"))
    );
    let output = mule(&a)
        .args(["--json", "sync", "--exec", &peer])
        .output()
        .expect("run mule sync --exec");
    assert!(output.status.success(), "{}", stderr(&output));
    let report: mule::live::Report = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report.sent, 1);
    assert_eq!(value(&a, "well-8"), "full");
    assert_eq!(value(&b, "well-7"), "dry");
}

#[test]
fn a_silent_command_is_stopped_after_the_timeout_and_the_sync_says_why() {
    let work = Work::new();
    let a = work.path("a");
    put(&a, "well-7", "dry");
    let before = state(&a);
    let output = mule(&a)
        .args(["sync", "--timeout", "1", "--exec", "exec sleep 600"])
        .output()
        .expect("run mule sync --exec");
    assert!(!output.status.success());
    let error = one_error_line(&output);
    assert!(error.contains("the peer went silent"), "{error}");
    assert_eq!(state(&a), before);
}

/// A real sshd on 127.0.0.1, with its own host key and a key for this user, killed on drop.
struct Sshd {
    child: Child,
    port: u16,
    user_key: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("run ssh-keygen");
    assert!(made.success(), "ssh-keygen -f {}", path.display());
}

/// Starts sshd, or says why the test is skipped (not installed, not root).
fn sshd(work: &Work) -> Option<Sshd> {
    let sshd = Path::new("/usr/sbin/sshd");
    if !sshd.is_file() {
        return skip(
            "sshd is not installed (Debian package openssh-server; scripts/test installs it)",
        );
    }
    outside_tool("ssh", "openssh-client")?;
    let uid = Command::new("id").arg("-u").output().expect("run id -u");
    if stdout(&uid).trim() != "0" {
        return skip("sshd must run as root to let a user log in");
    }
    // Debian's sshd wants its privilege separation folder, which its service would create.
    std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
    let dir = work.folder("sshd");
    let (host_key, user_key) = (dir.join("host_key"), dir.join("user_key"));
    keygen(&host_key);
    keygen(&user_key);
    let authorized = dir.join("authorized_keys");
    std::fs::copy(user_key.with_extension("pub"), &authorized).expect("authorize the key");
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPidFile none\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n",
            host_key.display(),
            authorized.display()
        ),
    )
    .expect("write sshd_config");
    // A port that was free a moment ago; sshd says when it listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .args(["-p", &port.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sshd");
    let log = BufReader::new(child.stderr.take().expect("stderr"));
    let mut lines = log.lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.starts_with("Server listening on"));
    // Keep reading sshd's log so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let server = Sshd {
        child,
        port,
        user_key,
    };
    assert!(listening.is_some(), "sshd did not start listening");
    Some(server)
}

#[test]
fn two_stores_sync_through_a_real_sshd_on_localhost() {
    let work = Work::new();
    let Some(server) = sshd(&work) else { return };
    let ssh = format!(
        "ssh -i {} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        shell_quote(server.user_key.to_str().expect("utf-8"))
    );
    let (a, b) = (work.path("a"), work.path("remote store"));
    put(&a, "well-7", "dry");
    put(&b, "well-8", "full");
    let url = format!("ssh://127.0.0.1:{}{}", server.port, b.display());
    let output = sync_over(&a, &ssh, &[&url]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(value(&a, "well-8"), "full");
    assert_eq!(value(&b, "well-7"), "dry");
}
