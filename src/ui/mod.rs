//! `mule ui`: a local web server over a [`Replica`], serving the app (files compiled into the
//! binary, see `assets`) and a JSON API (`api`).
//!
//! # Threads
//! The replica (SQLite connections) stays on the thread that calls [`Server::run`]; one thread
//! accepts connections and each connection gets a thread of its own, at most
//! [`MAX_CONNECTIONS`] at a time, that reads the request (bounded in size and time, see
//! `http`), checks it (`auth`), serves files itself and hands API requests to the replica's
//! thread. A slow or hostile client therefore holds one connection slot, never the store.
//!
//! One request is not read into memory: a bundle uploaded to the sync page's import route goes,
//! once its head has passed the guard, to a temporary file beside the store (at most 2 GiB,
//! `http::MAX_UPLOAD`, and only when the disk has room for it twice), with a deadline that grows
//! by the time its bytes take at [`MIN_UPLOAD_RATE`].
//!
//! # Live updates
//! Between requests the replica's thread looks every [`WATCH_INTERVAL`] for entries that another
//! process (a `mule sync` from a terminal, a cron job) committed to the store, catches the views
//! up and publishes `changed` on the [`events::Bus`]; pages listening at `/api/events` reload
//! what they show. Writes through the API publish `changed` too.
//!
//! # Why no HTTP crate
//! The server needs one request per connection and a dozen routes. `httparse` (already built
//! for tungstenite) parses the head; the rest is ~200 lines here, where `tiny_http` would add
//! its own crates and hyper/axum an async runtime.

mod api;
mod assets;
mod auth;
mod events;
mod http;

use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::{Duration, Instant};

use crate::replica::Replica;

/// The most connections served at once; more wait until one ends.
pub const MAX_CONNECTIONS: usize = 32;
/// How long a connection may stay silent while sending its request or reading the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may take to send its whole request (head and body, at most about
/// 1 MiB): a client that trickles a byte now and then is dropped then, not held for hours.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);
/// An upload (at most 2 GiB, `http::MAX_UPLOAD`) gets, beyond [`REQUEST_DEADLINE`], the time
/// its bytes take at this rate (bytes per second): one at least this fast is never cut off, a
/// trickle still is.
pub const MIN_UPLOAD_RATE: u64 = 128 * 1024;
/// How often the server looks for entries that another process added to the store.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);
/// The most pages listening for live updates at once, so listeners never take every
/// connection slot.
pub const MAX_LISTENERS: usize = 8;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be listened on.
    #[error("cannot listen on {addr}: {source} (pick another --port, or 0 for a free one)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The failure.
        source: io::Error,
    },
    /// A non-loopback address without `--allow-remote`.
    #[error(
        "{0} is reachable from other machines, where anyone who learns the URL can change the \
         store; pass --allow-remote to listen there anyway (the secret token is still required)"
    )]
    Remote(SocketAddr),
    /// No secret could be drawn.
    #[error("cannot draw the secret token from the system's random source: {0}")]
    Random(getrandom::Error),
    /// The listening socket failed.
    #[error("the server's socket failed: {0}")]
    Accept(io::Error),
}

/// Where to listen.
#[derive(Debug, Clone)]
pub struct Options {
    /// The address (port 0: a free one).
    pub listen: SocketAddr,
    /// Whether an address other than loopback is allowed.
    pub allow_remote: bool,
}

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// What every connection's thread reads.
#[derive(Debug)]
struct Shared {
    guard: auth::Guard,
    bus: events::Bus,
    listeners: AtomicUsize,
}

/// What the replica's thread published about a change to the store.
#[derive(Debug, serde::Serialize)]
struct Changed {
    /// `page` for a write through the API, `store` for entries another process added.
    by: &'static str,
}

/// An API request handed to the replica's thread, with where to send the answer.
struct Job {
    request: http::Request,
    reply: mpsc::Sender<http::Response>,
}

impl Server {
    /// Binds the address `options` name and draws the secret.
    pub fn bind(options: &Options) -> Result<Self, Error> {
        if !options.listen.ip().is_loopback() && !options.allow_remote {
            return Err(Error::Remote(options.listen));
        }
        let listener = TcpListener::bind(options.listen).map_err(|source| Error::Bind {
            addr: options.listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: options.listen,
            source,
        })?;
        let secret = auth::new_secret().map_err(Error::Random)?;
        Ok(Self {
            listener,
            addr,
            shared: Arc::new(Shared {
                guard: auth::Guard::new(addr, secret),
                bus: events::Bus::default(),
                listeners: AtomicUsize::new(0),
            }),
        })
    }

    /// The URL to open, with the secret: `http://127.0.0.1:PORT/?token=...`.
    pub fn url(&self) -> String {
        format!(
            "http://{}/?{}={}",
            self.addr,
            auth::TOKEN_PARAM,
            self.shared.guard.secret()
        )
    }

    /// Serves until the listening socket fails (the process is stopped by a signal).
    pub fn run(self, replica: &mut Replica) -> Result<(), Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let Server {
            listener, shared, ..
        } = self;
        let accepting = Arc::clone(&shared);
        // Uploads are written beside the store, on the disk they are imported into.
        let uploads = replica.store().dir().to_path_buf();
        let acceptor = std::thread::spawn(move || accept(&listener, &accepting, &jobs, &uploads));
        let mut seen = replica.store().data_version().ok();
        let mut memory = api::Memory::default();
        loop {
            match queue.recv_timeout(WATCH_INTERVAL) {
                Ok(job) => {
                    let response = api::handle(replica, &shared.bus, &mut memory, &job.request);
                    let untouched = memory.take_store_untouched();
                    if job.request.is_state_changing() && response.is_success() && !untouched {
                        shared.bus.publish("changed", &Changed { by: "page" });
                    }
                    // The connection may have gone; its thread then has nothing to write to.
                    drop(job.reply.send(response));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let now = replica.store().data_version().ok();
                    if now != seen {
                        seen = now;
                        // A failure to catch up shows on the next request that reads a view.
                        drop(replica.catch_up());
                        shared.bus.publish("changed", &Changed { by: "store" });
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        acceptor
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the accepting thread panicked")))
            .map_err(Error::Accept)
    }
}

/// Accepts connections, each on a thread of its own, up to [`MAX_CONNECTIONS`] at once; past
/// that, new connections wait in the system's backlog until one ends (refusing them instead
/// would reset connections whose request is already on its way, and a browser opens several).
fn accept(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    jobs: &mpsc::Sender<Job>,
    uploads: &Path,
) -> io::Result<()> {
    let slots = Arc::new(Slots::new(MAX_CONNECTIONS));
    loop {
        let slot = Slot::take(&slots);
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // A connection reset before it was accepted: the next one may be fine.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) => return Err(e),
        };
        let (shared, jobs, uploads) = (Arc::clone(shared), jobs.clone(), uploads.to_path_buf());
        std::thread::spawn(move || {
            serve_connection(stream, &shared, &jobs, &uploads);
            drop(slot);
        });
    }
}

/// Free connection slots.
#[derive(Debug)]
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    fn new(count: usize) -> Self {
        Self {
            free: Mutex::new(count),
            freed: Condvar::new(),
        }
    }

    /// The free count; no code panics while holding it, so a poisoned lock is still right.
    fn free(&self) -> MutexGuard<'_, usize> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A taken connection slot, given back when dropped (also when its thread panics).
#[derive(Debug)]
struct Slot(Arc<Slots>);

impl Slot {
    /// Waits for a free slot and takes it.
    fn take(slots: &Arc<Slots>) -> Self {
        let mut free = slots.free();
        while *free == 0 {
            free = slots
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Self(Arc::clone(slots))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *self.0.free() += 1;
        self.0.freed.notify_one();
    }
}

/// Reads one request, checks it, answers it.
fn serve_connection(
    mut stream: TcpStream,
    shared: &Shared,
    jobs: &mpsc::Sender<Job>,
    uploads: &Path,
) {
    if stream.set_read_timeout(Some(IO_TIMEOUT)).is_err()
        || stream.set_write_timeout(Some(IO_TIMEOUT)).is_err()
    {
        return;
    }
    let mut request = Deadline {
        stream: &stream,
        until: Instant::now() + REQUEST_DEADLINE,
    };
    let response = match read_request(&mut request, &shared.guard, uploads) {
        Ok(request) if request.path == "/api/events" => match listen(&request, shared) {
            Ok(_listening) => {
                // Streams until the page goes away; then there is nothing to tell it.
                drop(events::stream(&shared.bus, &mut stream));
                return;
            }
            Err(refused) => refused,
        },
        Ok(request) => respond(request, &shared.guard, jobs),
        Err(Some(response)) => response,
        Err(None) => return,
    };
    // A client that went away cannot be told anything.
    drop(response.write_to(&mut stream));
}

/// Reads a request: its body into memory, or, for an upload, once the guard has passed its
/// head, into a temporary file in `uploads` (refused when over [`http::MAX_UPLOAD`] or larger
/// than the room there). Fails with the answer to give, or `None` when the connection failed.
fn read_request(
    reader: &mut Deadline<'_>,
    guard: &auth::Guard,
    uploads: &Path,
) -> Result<http::Request, Option<http::Response>> {
    let head = http::read_head(reader).map_err(|e| e.response())?;
    if !api::is_upload(head.request()) {
        return head.read_body(reader).map_err(|e| e.response());
    }
    if let auth::Verdict::Answer(response) = guard.check(head.request()) {
        return Err(Some(response));
    }
    let file = upload_file(uploads, head.length()).map_err(Some)?;
    let mut earning = Earning {
        reader,
        rate: MIN_UPLOAD_RATE,
    };
    head.read_upload(&mut earning, file)
        .map_err(|e| e.response())
}

/// A temporary file in `dir` for an upload of `length` bytes, or the refusal.
fn upload_file(dir: &Path, length: u64) -> Result<tempfile::NamedTempFile, http::Response> {
    if length > http::MAX_UPLOAD {
        return Err(http::Response::failure(
            413,
            &format!(
                "the file has {length} bytes, more than the {} an upload may have; copy it to \
                 this machine and run `mule import FILE`",
                http::MAX_UPLOAD
            ),
        ));
    }
    // The bundle is imported into the store on the same disk: it needs room twice.
    if let Some(free) = crate::fsutil::free_space(dir)
        && free < length.saturating_mul(2)
    {
        return Err(http::Response::failure(
            507,
            &format!(
                "the store's disk has {free} bytes free, too few to receive and import a file \
                 of {length} bytes; free some space there"
            ),
        ));
    }
    tempfile::Builder::new()
        .prefix(".mule-upload-")
        .suffix(crate::fsutil::TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| {
            http::Response::failure(500, &format!("cannot write in {}: {e}", dir.display()))
        })
}

/// A place among the pages listening for live updates, or the refusal of the request.
fn listen<'a>(request: &http::Request, shared: &'a Shared) -> Result<Listener<'a>, http::Response> {
    if let auth::Verdict::Answer(response) = shared.guard.check(request) {
        return Err(response);
    }
    if request.method != "GET" {
        return Err(http::Response::failure(405, "only GET is served here"));
    }
    Listener::take(shared).ok_or_else(|| {
        http::Response::failure(
            503,
            "too many pages are listening for updates; close some tabs",
        )
    })
}

/// A listening page, counted against [`MAX_LISTENERS`] until dropped.
struct Listener<'a>(&'a Shared);

impl<'a> Listener<'a> {
    /// Counts one more listener, unless [`MAX_LISTENERS`] already listen (checked and counted
    /// in one step, so two pages arriving together cannot both take the last place).
    fn take(shared: &'a Shared) -> Option<Self> {
        shared
            .listeners
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_LISTENERS).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(shared))
    }
}

impl Drop for Listener<'_> {
    fn drop(&mut self) {
        self.0.listeners.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection read until a deadline, however slowly its bytes come: each read waits at most
/// until then (and at most [`IO_TIMEOUT`]), and once it has passed, reading fails.
struct Deadline<'a> {
    stream: &'a TcpStream,
    until: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request took longer than its deadline",
            ));
        }
        self.stream.set_read_timeout(Some(left.min(IO_TIMEOUT)))?;
        self.stream.read(buf)
    }
}

/// A [`Deadline`] that moves later with every byte read by the time the byte takes at `rate`
/// bytes per second.
struct Earning<'a, 'b> {
    reader: &'b mut Deadline<'a>,
    rate: u64,
}

impl Read for Earning<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.reader.until += Duration::from_nanos(n as u64 * 1_000_000_000 / self.rate);
        Ok(n)
    }
}

/// The answer to a request read whole.
fn respond(
    request: http::Request,
    guard: &auth::Guard,
    jobs: &mpsc::Sender<Job>,
) -> http::Response {
    if let auth::Verdict::Answer(response) = guard.check(&request) {
        return response;
    }
    if request.path.starts_with("/api/") {
        return ask_replica(request, jobs);
    }
    match (request.method.as_str(), assets::get(&request.path)) {
        ("GET", Some((content_type, bytes))) => {
            http::Response::bytes(200, content_type, bytes.to_vec())
        }
        (_, Some(_)) => http::Response::failure(405, "only GET is served here"),
        (_, None) => http::Response::failure(404, &format!("no page at {}", request.path)),
    }
}

/// Hands an API request to the replica's thread and waits for its answer.
fn ask_replica(request: http::Request, jobs: &mpsc::Sender<Job>) -> http::Response {
    let (reply, answer) = mpsc::channel();
    if jobs.send(Job { request, reply }).is_err() {
        return http::Response::failure(503, "the server is stopping");
    }
    answer
        .recv()
        .unwrap_or_else(|_| http::Response::failure(500, "the request failed in the store"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_slots_run_out_and_come_back() {
        let slots = Arc::new(Slots::new(2));
        let first = Slot::take(&slots);
        let _second = Slot::take(&slots);
        assert_eq!(*slots.free(), 0, "a third connection waits");
        drop(first);
        assert_eq!(*slots.free(), 1);
        let _third = Slot::take(&slots);
        assert_eq!(*slots.free(), 0);
    }

    #[test]
    fn listening_places_run_out_at_the_bound_and_come_back() {
        let shared = Shared {
            guard: auth::Guard::new(([127, 0, 0, 1], 1).into(), "secret".into()),
            bus: events::Bus::default(),
            listeners: AtomicUsize::new(0),
        };
        let mut taken: Vec<_> = (0..MAX_LISTENERS)
            .map(|_| Listener::take(&shared).expect("a free place"))
            .collect();
        assert!(Listener::take(&shared).is_none(), "all places are taken");
        taken.pop();
        assert!(
            Listener::take(&shared).is_some(),
            "a page that left frees its place"
        );
    }

    /// A connection and the server's end of it.
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        (client, server)
    }

    #[test]
    fn an_upload_earns_time_by_the_bytes_it_sends() {
        use std::io::Write;
        let (mut client, server) = pair();
        client.write_all(&[0u8; 1000]).expect("write");
        let until = Instant::now() + Duration::from_secs(5);
        let mut deadline = Deadline {
            stream: &server,
            until,
        };
        let mut earning = Earning {
            reader: &mut deadline,
            rate: 500,
        };
        let mut buf = [0u8; 1000];
        let mut read = 0;
        while read < buf.len() {
            read += earning.read(&mut buf[read..]).expect("bytes sent");
        }
        // 1000 bytes at 500 bytes/s earn 2 s; a client sending nothing earns nothing.
        assert_eq!(deadline.until, until + Duration::from_secs(2));
    }

    #[test]
    fn a_request_past_its_deadline_is_no_longer_read() {
        use std::io::Write;
        let (mut client, server) = pair();
        client.write_all(b"GET / HTTP/1.1\r\n").expect("write");
        let mut passed = Deadline {
            stream: &server,
            until: Instant::now(),
        };
        let mut buf = [0u8; 64];
        let error = passed.read(&mut buf).expect_err("past the deadline");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        // Before it, the bytes sent are read; then a client that sends nothing more is cut off.
        let mut open = Deadline {
            stream: &server,
            until: Instant::now() + Duration::from_millis(200),
        };
        assert_eq!(open.read(&mut buf).expect("bytes sent"), 16);
        let silent = open.read(&mut buf).expect_err("nothing more came");
        assert!(
            matches!(
                silent.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{silent}"
        );
    }
}
