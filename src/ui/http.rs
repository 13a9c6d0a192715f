//! Just enough HTTP/1.1 for `mule ui`: one request per connection (`Connection: close`), read
//! with every size bounded, since anything that arrives on a socket may be hostile.

use std::fs::File;
use std::io::{self, Read, Write};

use serde::Serialize;

/// The most bytes a request line and its headers may take.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most bytes a request body held in memory may take (a kv value, a map feature).
pub const MAX_BODY: usize = 1024 * 1024;
/// The most bytes an upload (a bundle file from the browser) may take: it goes to a temporary
/// file as it arrives (see [`Head::read_upload`]), never whole into memory.
pub const MAX_UPLOAD: u64 = 2 * 1024 * 1024 * 1024;
/// The most headers a request may carry.
const MAX_HEADERS: usize = 64;

/// A request, read whole.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// What follows `?` in the target, or "".
    pub query: String,
    /// Headers, names lower-cased.
    headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes), when read into memory.
    pub body: Vec<u8>,
    /// The body, when written to a temporary file (an upload); removed with the request.
    pub upload: Option<tempfile::NamedTempFile>,
}

impl Request {
    /// The value of header `name` (lower case), when present once or more (the first).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the method changes state (only those need an Origin check).
    pub fn is_state_changing(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}

/// Why a request could not be read; each maps to the status answered.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The connection failed or timed out.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Not HTTP/1.x, or a form this server does not take (chunked bodies).
    #[error("malformed request")]
    Malformed,
    /// The head or body is over its limit.
    #[error("request too large")]
    TooLarge,
}

impl ReadError {
    /// The response to answer with (none when the connection itself failed).
    pub fn response(&self) -> Option<Response> {
        match self {
            ReadError::Io(_) => None,
            ReadError::Malformed => Some(Response::failure(400, "malformed HTTP request")),
            ReadError::TooLarge => Some(Response::failure(413, "request too large")),
        }
    }
}

/// Reads one request from `stream`: the head up to [`MAX_HEAD`] bytes, the body up to
/// [`MAX_BODY`]. (The server reads the head first, see [`read_head`]; the tests read whole.)
#[cfg(test)]
pub fn read_request(stream: &mut impl Read) -> Result<Request, ReadError> {
    read_head(stream)?.read_body(stream)
}

/// A request whose head was read, its body not yet: the server can check the head before it
/// takes in a large body.
#[derive(Debug)]
pub struct Head {
    request: Request,
    /// The body's length as announced.
    length: u64,
    /// The body's first bytes, read with the head.
    start: Vec<u8>,
}

impl Head {
    /// The request, its body still empty.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The body's length as announced.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// Reads the body into memory, up to [`MAX_BODY`].
    pub fn read_body(self, stream: &mut impl Read) -> Result<Request, ReadError> {
        if self.length > MAX_BODY as u64 {
            return Err(ReadError::TooLarge);
        }
        let Head {
            mut request,
            length,
            start: mut body,
        } = self;
        stream
            .take(length - body.len() as u64)
            .read_to_end(&mut body)?;
        if body.len() as u64 != length {
            return Err(ReadError::Malformed);
        }
        request.body = body;
        Ok(request)
    }

    /// Writes the body into `file` as it arrives (the caller bounds [`Head::length`] by
    /// [`MAX_UPLOAD`] and the room on the disk first).
    pub fn read_upload(
        self,
        stream: &mut impl Read,
        mut file: tempfile::NamedTempFile,
    ) -> Result<Request, ReadError> {
        let Head {
            mut request,
            length,
            start,
        } = self;
        file.write_all(&start)?;
        let rest = length - start.len() as u64;
        let copied = io::copy(&mut stream.take(rest), &mut file)?;
        if copied != rest {
            return Err(ReadError::Malformed);
        }
        file.flush()?;
        request.upload = Some(file);
        Ok(request)
    }
}

/// Reads the head of one request from `stream`, up to [`MAX_HEAD`] bytes.
pub fn read_head(stream: &mut impl Read) -> Result<Head, ReadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(ReadError::Malformed);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let request = head(&parsed)?;
                let length = content_length(&request)?;
                let start = buf.split_off(head_len);
                if start.len() as u64 > length {
                    return Err(ReadError::Malformed);
                }
                return Ok(Head {
                    request,
                    length,
                    start,
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => return Err(ReadError::TooLarge),
            Err(httparse::Error::TooManyHeaders) => return Err(ReadError::TooLarge),
            Err(_) => return Err(ReadError::Malformed),
        }
    }
}

/// The request's method, target and headers.
fn head(parsed: &httparse::Request<'_, '_>) -> Result<Request, ReadError> {
    let (method, target) = parsed.method.zip(parsed.path).ok_or(ReadError::Malformed)?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = parsed
        .headers
        .iter()
        .map(|h| {
            let value = std::str::from_utf8(h.value).map_err(|_| ReadError::Malformed)?;
            Ok((h.name.to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect::<Result<_, ReadError>>()?;
    Ok(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Vec::new(),
        upload: None,
    })
}

/// The body length the request announces (0 when none); chunked bodies are refused.
fn content_length(request: &Request) -> Result<u64, ReadError> {
    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Malformed);
    }
    let Some(value) = request.header("content-length") else {
        return Ok(0);
    };
    value.parse().map_err(|_| ReadError::Malformed)
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as in a query string);
/// `None` for a bad escape or bytes that are not UTF-8.
pub fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(b) = rest.next() {
        match b {
            b'%' => {
                let hi = (rest.next()? as char).to_digit(16)?;
                let lo = (rest.next()? as char).to_digit(16)?;
                bytes.push((hi * 16 + lo) as u8);
            }
            b'+' if plus_is_space => bytes.push(b' '),
            _ => bytes.push(b),
        }
    }
    String::from_utf8(bytes).ok()
}

/// The decoded value of `name` in a query string.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| percent_decode(v, true))
}

/// A response, written whole and then the connection closed.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// Further headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// A body read from this file as it is written out instead (a download too large to hold
    /// in memory), with its length.
    file: Option<(File, u64)>,
}

impl Response {
    /// `value` as JSON.
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::bytes(status, "application/json", body),
            Err(e) => Self::failure(500, &format!("cannot write the answer as JSON: {e}")),
        }
    }

    /// A [`report::Failure`](crate::report::Failure) (with no hint: the error says it all).
    pub fn failure(status: u16, error: &str) -> Self {
        let failure = crate::report::Failure {
            error: error.to_owned(),
            hint: None,
        };
        let body = serde_json::to_vec(&failure).expect("a Failure serializes");
        Self::bytes(status, "application/json", body)
    }

    /// A body of the given type.
    pub fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body,
            file: None,
        }
    }

    /// 200 with the contents of `file` as the body, read as it is written out.
    pub fn file(content_type: &'static str, file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        let mut response = Self::bytes(200, content_type, Vec::new());
        response.file = Some((file, len));
        Ok(response)
    }

    /// Whether the status says the request did what it asked (2xx).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A redirect (303, so the next request is a GET) to `location`.
    pub fn see_other(location: String) -> Self {
        let mut response = Self::bytes(303, "text/plain; charset=utf-8", Vec::new());
        response.headers.push(("Location", location));
        response
    }

    /// Writes the response, with the headers every answer carries: nothing is framed, sniffed
    /// or loaded from another host, no Referer leaves the page, and nothing is cached unless
    /// the response says otherwise in a `Cache-Control` header of its own.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let caches = self
            .headers
            .iter()
            .any(|(name, _)| *name == "Cache-Control");
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\
             {}X-Content-Type-Options: nosniff\r\n\
             Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n\
             Content-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.file
                .as_ref()
                .map_or(self.body.len() as u64, |(_, len)| *len),
            if caches {
                ""
            } else {
                "Cache-Control: no-store\r\n"
            },
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes())?;
        out.write_all(&self.body)?;
        if let Some((file, len)) = &self.file {
            let copied = io::copy(&mut file.take(*len), out)?;
            if copied != *len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file being sent became shorter",
                ));
            }
        }
        out.flush()
    }
}

/// The reason phrase of the statuses this server answers with.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        507 => "Insufficient Storage",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_takes_escapes_and_refuses_bad_ones() {
        assert_eq!(percent_decode("a%2Fb+c", true).as_deref(), Some("a/b c"));
        assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(percent_decode("%4", false), None);
        assert_eq!(percent_decode("%ff", false), None);
    }

    #[test]
    fn a_head_over_the_limit_is_refused() {
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        let err = read_request(&mut huge.as_slice()).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge), "{err:?}");
    }

    #[test]
    fn a_body_over_the_limit_is_refused_before_it_is_read() {
        let head = format!(
            "PUT /x HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        let err = read_request(&mut head.as_bytes()).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge), "{err:?}");
    }

    #[test]
    fn an_upload_goes_to_its_file_whatever_its_size_and_a_short_one_is_refused() {
        let body = vec![7u8; 3 * MAX_BODY];
        let mut raw = format!(
            "POST /up HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(&body);
        let mut stream = raw.as_slice();
        let head = read_head(&mut stream).expect("head");
        assert_eq!(head.length(), body.len() as u64);
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let request = head.read_upload(&mut stream, file).expect("upload");
        let upload = request.upload.expect("written to a file");
        assert_eq!(std::fs::read(upload.path()).expect("read"), body);

        let short = b"POST /up HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
        let mut stream = short.as_slice();
        let head = read_head(&mut stream).expect("head");
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let err = head.read_upload(&mut stream, file).unwrap_err();
        assert!(matches!(err, ReadError::Malformed), "{err:?}");
    }

    #[test]
    fn a_file_body_is_sent_with_its_length() {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(b"bundle bytes").expect("write");
        use std::io::Seek;
        file.rewind().expect("rewind");
        let response = Response::file("application/octet-stream", file).expect("response");
        let mut out = Vec::new();
        response.write_to(&mut out).expect("write");
        let text = String::from_utf8(out).expect("text");
        assert!(text.contains("Content-Length: 12\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nbundle bytes"), "{text}");
    }

    #[test]
    fn a_request_reads_with_its_body() {
        let raw = b"PUT /api/kv/a%20b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n42";
        let request = read_request(&mut raw.as_slice()).expect("reads");
        assert_eq!(request.path, "/api/kv/a%20b");
        assert_eq!(request.query, "x=1");
        assert_eq!(request.header("host"), Some("h"));
        assert_eq!(request.body, b"42");
    }
}
