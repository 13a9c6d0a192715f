//! The live protocol over a WebSocket (`ws://HOST:PORT[/path]`), for networks that let only
//! HTTP through, or a reverse proxy in front of `mule serve`.
//!
//! The protocol's bytes travel as binary messages: everything written between two flushes is one
//! message (a long write is cut into messages of [`MESSAGE_LEN`] bytes), and a reader sees the
//! messages' bytes one after another, as on TCP. There is no TLS here: for `wss://`, put a
//! TLS-terminating proxy in front of a `ws://` server.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tungstenite::error::{Error as WsError, ProtocolError};
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Bytes, Message, WebSocket};

use super::transport::{DEFAULT_TIMEOUT, connect_tcp};

/// Bytes buffered before they go out as one binary message without waiting for a flush.
pub const MESSAGE_LEN: usize = 256 << 10;
/// Largest message (and frame) accepted from the peer, in bytes: mule sends at most
/// [`MESSAGE_LEN`], and a peer that has not proved its key yet cannot make the server buffer more.
pub const MAX_MESSAGE_LEN: usize = 4 * MESSAGE_LEN;
/// Longest wait for the peer's answer to a close when the stream is dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_LEN))
        .max_frame_size(Some(MAX_MESSAGE_LEN))
}

/// A WebSocket used as a byte stream for [`super::sync`]: [`Write::flush`] sends what was
/// written as one binary message, [`Read`] returns the bytes of the binary messages received.
/// Pings are answered, a close or a closed connection reads as the end of the stream, and a text
/// message is an [`io::ErrorKind::InvalidData`] error. Timeouts of the TCP connection come out
/// as [`io::ErrorKind::WouldBlock`] or [`io::ErrorKind::TimedOut`]. Dropping the stream closes
/// the WebSocket politely, waiting at most a second or two for the peer.
pub struct WsStream {
    ws: WebSocket<TcpStream>,
    /// Written bytes not sent yet.
    out: Vec<u8>,
    /// The rest of the last message received.
    pending: Bytes,
    at: usize,
    /// The peer closed the WebSocket or the connection.
    ended: bool,
}

impl std::fmt::Debug for WsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsStream")
            .field("peer", &self.ws.get_ref().peer_addr().ok())
            .field("unsent", &self.out.len())
            .field("unread", &(self.pending.len() - self.at))
            .field("ended", &self.ended)
            .finish()
    }
}

impl WsStream {
    fn new(ws: WebSocket<TcpStream>) -> Self {
        Self {
            ws,
            out: Vec::new(),
            pending: Bytes::new(),
            at: 0,
            ended: false,
        }
    }

    /// The TCP connection underneath (for its addresses).
    pub fn get_ref(&self) -> &TcpStream {
        self.ws.get_ref()
    }

    /// Hands the buffered bytes to the WebSocket as one binary message (not flushed yet).
    fn send_out(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let message = std::mem::take(&mut self.out);
        self.ws
            .write(Message::Binary(message.into()))
            .map_err(write_error)
    }
}

impl Read for WsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.at == self.pending.len() {
            if self.ended {
                return Ok(0);
            }
            match self.ws.read() {
                Ok(Message::Binary(bytes)) => {
                    self.pending = bytes;
                    self.at = 0;
                }
                Ok(Message::Text(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the peer sent a WebSocket text message; mule speaks binary messages only",
                    ));
                }
                // Pongs are queued by tungstenite and go out with the next read or write.
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Ok(Message::Close(_)) => {
                    self.ended = true;
                    // Sends the answer to the close (best effort: the stream ends anyway).
                    let _ = self.ws.flush();
                }
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => self.ended = true,
                Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => {
                    self.ended = true;
                }
                Err(e) => return Err(read_error(e)),
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for WsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len() >= MESSAGE_LEN {
            self.send_out()?;
        }
        let n = buf.len().min(MESSAGE_LEN - self.out.len());
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_out()?;
        self.ws.flush().map_err(write_error)
    }
}

impl Drop for WsStream {
    fn drop(&mut self) {
        let socket = self.ws.get_ref();
        let short = |wait: io::Result<Option<Duration>>| {
            wait.ok()
                .flatten()
                .map_or(CLOSE_WAIT, |wait| wait.min(CLOSE_WAIT))
        };
        let bounded = socket
            .set_read_timeout(Some(short(socket.read_timeout())))
            .and_then(|()| socket.set_write_timeout(Some(short(socket.write_timeout()))));
        if bounded.is_err() {
            return;
        }
        if self.ws.close(None).is_err() {
            return;
        }
        // Waits briefly for the peer's close, so that the server closes the TCP connection first,
        // as RFC 6455 asks; anything else the peer still sends is dropped.
        let deadline = Instant::now() + CLOSE_WAIT;
        while Instant::now() < deadline && self.ws.read().is_ok() {}
    }
}

/// Connects to `ws://HOST:PORT[/path]`, with `timeout` for the connection, the handshake and
/// every later read and write. `wss://` is refused: TLS is left to a proxy.
pub fn connect(url: &str, timeout: Duration) -> io::Result<WsStream> {
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("ws") => {}
        Some("wss") => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "`{url}`: TLS (wss://) is not supported; use ws:// through a TLS-terminating proxy"
                ),
            ));
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{url}`: not a WebSocket address; write ws://HOST:PORT[/path]"),
            ));
        }
    }
    let stream = connect_tcp(url, timeout)?;
    match tungstenite::client::client_with_config(url, stream, Some(config())) {
        Ok((ws, _response)) => Ok(WsStream::new(ws)),
        Err(e) => Err(handshake_error(e)),
    }
}

/// Answers the WebSocket handshake of a client that connected to a server (the `wrap` of
/// [`super::transport::serve`]). Set the connection's timeouts first
/// ([`super::transport::prepare`]); a connection without a read timeout gets
/// [`DEFAULT_TIMEOUT`], so the handshake cannot wait forever.
pub fn accept(stream: TcpStream) -> io::Result<WsStream> {
    if stream.read_timeout()?.is_none() {
        stream.set_read_timeout(Some(DEFAULT_TIMEOUT))?;
    }
    if stream.write_timeout()?.is_none() {
        stream.set_write_timeout(Some(DEFAULT_TIMEOUT))?;
    }
    match tungstenite::accept_with_config(stream, Some(config())) {
        Ok(ws) => Ok(WsStream::new(ws)),
        Err(e) => Err(handshake_error(e)),
    }
}

fn handshake_error<R: tungstenite::handshake::HandshakeRole>(e: HandshakeError<R>) -> io::Error {
    match e {
        // A blocking socket is interrupted only by its timeout.
        HandshakeError::Interrupted(_) => io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer went silent during the WebSocket handshake",
        ),
        HandshakeError::Failure(WsError::Io(e)) => e,
        HandshakeError::Failure(WsError::Http(response)) => io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the server answered HTTP {} instead of accepting a WebSocket (check the URL's path)",
                response.status()
            ),
        ),
        HandshakeError::Failure(WsError::Url(e)) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad WebSocket URL: {e}"),
        ),
        HandshakeError::Failure(e) => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the WebSocket handshake failed: {e}"),
        ),
    }
}

fn read_error(e: WsError) -> io::Error {
    match e {
        WsError::Io(e) => e,
        WsError::Capacity(e) => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the peer sent a WebSocket message that is too large ({e})"),
        ),
        WsError::Protocol(_) | WsError::Utf8(_) | WsError::AttackAttempt => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the peer broke the WebSocket protocol: {e}"),
        ),
        e => io::Error::other(e),
    }
}

fn write_error(e: WsError) -> io::Error {
    match e {
        WsError::Io(e) => e,
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Protocol(ProtocolError::SendAfterClosing) => {
            io::Error::new(io::ErrorKind::BrokenPipe, "the peer closed the WebSocket")
        }
        e => io::Error::other(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{self, Options};
    use crate::store::{Draft, Store, now_ms};
    use std::net::TcpListener;
    use std::path::Path;
    use std::sync::mpsc;

    const TIMEOUT: Duration = Duration::from_secs(20);

    fn store_with(dir: &Path, name: &str, entries: usize) -> Store {
        let mut store = Store::open(&dir.join(name)).unwrap();
        let drafts = (0..entries)
            .map(|i| {
                // Hex of hashes: a bundle that compression cannot shrink much.
                let noise = |salt: &str| blake3::hash(format!("{name}{salt}{i}").as_bytes());
                let v = format!("{}{}", noise("x").to_hex(), noise("y").to_hex());
                Draft {
                    kind: "kv".into(),
                    body: crate::entry::body_from_json(&serde_json::json!({"k": name, "v": v}))
                        .unwrap(),
                    links: vec![],
                    timestamp: now_ms(),
                }
            })
            .collect();
        if entries > 0 {
            store.append(drafts).unwrap();
        }
        store
    }

    type Served = std::thread::JoinHandle<(Store, Result<live::Report, live::Error>)>;

    /// A raw WebSocket peer on a fresh local port: `behave` runs on its first connection, on a
    /// thread. Returns the URL to connect to and the thread.
    fn peer_with<T: Send + 'static>(
        behave: impl FnOnce(WebSocket<TcpStream>) -> T + Send + 'static,
    ) -> (String, std::thread::JoinHandle<T>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let (connection, _) = listener.accept().unwrap();
            behave(tungstenite::accept(connection).unwrap())
        });
        (url, thread)
    }

    /// Serves one WebSocket peer from `store` on a thread; returns the URL and the thread.
    fn serve_one(mut store: Store) -> (String, Served) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/mule", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (connection, _) = listener.accept().unwrap();
            crate::live::transport::prepare(&connection, TIMEOUT).unwrap();
            let mut stream = accept(connection).unwrap();
            let report = live::sync(&mut store, &mut stream, &Options::default());
            (store, report)
        });
        (url, server)
    }

    /// Syncs a store of `a_entries` (served) with one of `b_entries` (connecting); returns what
    /// the server reported.
    fn round_trip(a_entries: usize, b_entries: usize) -> live::Report {
        let dir = tempfile::tempdir().unwrap();
        let a = store_with(dir.path(), "a", a_entries);
        let mut b = store_with(dir.path(), "b", b_entries);
        let (url, server) = serve_one(a);
        let mut stream = connect(&url, TIMEOUT).unwrap();
        let report = live::sync(&mut b, &mut stream, &Options::default()).unwrap();
        drop(stream);
        let (a, server_report) = server.join().unwrap();
        let server_report = server_report.unwrap();
        assert_eq!(a.frontier().unwrap(), b.frontier().unwrap());
        assert_eq!(report.sent, b_entries as u64);
        assert_eq!(server_report.sent, a_entries as u64);
        assert_eq!(report.peer, a.author());
        assert_eq!(report.peer_frontier, a.frontier().unwrap());
        server_report
    }

    #[test]
    fn the_protocol_runs_over_a_websocket() {
        round_trip(3, 2);
    }

    #[test]
    fn a_large_transfer_goes_through_in_many_messages() {
        let report = round_trip(20_000, 1);
        assert!(report.sent_bytes > 4 * MESSAGE_LEN as u64, "{report:?}");
    }

    #[test]
    fn small_writes_make_one_message_per_flush_and_long_ones_are_cut() {
        let (url, server) = peer_with(move |mut ws| {
            let mut sizes = Vec::new();
            loop {
                match ws.read() {
                    Ok(Message::Binary(bytes)) => sizes.push(bytes.len()),
                    Ok(Message::Close(_)) => {}
                    Ok(_) => {}
                    Err(_) => return sizes,
                }
            }
        });
        let mut stream = connect(&url, TIMEOUT).unwrap();
        stream.write_all(b"ab").unwrap();
        stream.write_all(b"cd").unwrap();
        stream.flush().unwrap();
        stream.flush().unwrap(); // nothing to send: no empty message
        stream.write_all(&vec![7u8; MESSAGE_LEN * 2 + 5]).unwrap();
        stream.flush().unwrap();
        drop(stream);
        assert_eq!(server.join().unwrap(), vec![4, MESSAGE_LEN, MESSAGE_LEN, 5]);
    }

    #[test]
    fn reads_join_messages_and_skip_pings_and_a_close_ends_the_stream() {
        let (url, server) = peer_with(move |mut ws| {
            ws.send(Message::Binary(Bytes::from_static(b"hel")))
                .unwrap();
            ws.send(Message::Ping(Bytes::from_static(b"?"))).unwrap();
            ws.send(Message::Binary(Bytes::from_static(b"lo"))).unwrap();
            ws.close(None).unwrap();
            let mut pong = false;
            loop {
                match ws.read() {
                    Ok(Message::Pong(_)) => pong = true,
                    Ok(_) => {}
                    Err(_) => return pong,
                }
            }
        });
        let mut stream = connect(&url, TIMEOUT).unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello");
        assert_eq!(stream.read(&mut [0u8; 4]).unwrap(), 0);
        drop(stream);
        assert!(server.join().unwrap(), "the ping was answered");
    }

    #[test]
    fn a_text_message_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store_with(dir.path(), "a", 1);
        let (url, peer) = peer_with(move |mut ws| {
            ws.send(Message::text("hello, mule?")).unwrap();
            // Stays connected and silent: the other side must give up on its own.
            while ws.read().is_ok() {}
        });
        let (done, result) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stream = connect(&url, TIMEOUT).unwrap();
            let _ = done.send(live::sync(&mut store, &mut stream, &Options::default()));
        });
        let error = result
            .recv_timeout(Duration::from_secs(10))
            .expect("the sync stops")
            .unwrap_err();
        let live::Error::Io { source, .. } = &error else {
            panic!("unexpected error {error}");
        };
        assert_eq!(source.kind(), io::ErrorKind::InvalidData, "{error}");
        assert!(error.to_string().contains("text message"), "{error}");
        peer.join().unwrap();
    }

    #[test]
    fn a_silent_peer_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store_with(dir.path(), "a", 1);
        let (url, peer) = peer_with(move |mut ws| while ws.read().is_ok() {});
        let mut stream = connect(&url, Duration::from_millis(300)).unwrap();
        let error = live::sync(&mut store, &mut stream, &Options::default()).unwrap_err();
        assert!(error.to_string().contains("timed out"), "{error}");
        drop(stream);
        peer.join().unwrap();
    }

    #[test]
    fn a_silent_server_times_out_the_handshake() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let error = connect(&url, Duration::from_millis(300)).unwrap_err();
        assert!(
            matches!(
                error.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ),
            "{error:?}"
        );
        drop(listener);
    }

    #[test]
    fn a_plain_tcp_peer_is_refused_by_the_websocket_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (connection, _) = listener.accept().unwrap();
            crate::live::transport::prepare(&connection, TIMEOUT).unwrap();
            accept(connection).map(drop)
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(b"\x89MLIVE\r\n\0\0\0\x01").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let error = server.join().unwrap().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
    }

    #[test]
    fn only_ws_urls_are_accepted() {
        let error = connect("wss://example.org/mule", TIMEOUT).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("TLS"), "{error}");
        assert!(error.to_string().contains("proxy"), "{error}");
        let error = connect("tcp://127.0.0.1:1", TIMEOUT).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("ws://"), "{error}");
    }
}
