//! Who may talk to `mule ui`: a request must come with the secret (in the URL once, then in a
//! cookie), name the server's own address as its Host (a DNS-rebinding page names its own), and,
//! when it changes something, come from no other Origin (a cross-site form or fetch).

use std::net::SocketAddr;

use subtle::ConstantTimeEq;

use super::http::{Request, Response, query_param};

/// The query parameter that carries the secret in the printed URL.
pub const TOKEN_PARAM: &str = "token";

/// The rules for one server: its secret and the Host values that name it.
#[derive(Debug)]
pub struct Guard {
    secret: String,
    /// Host header values accepted; `None` accepts any host with the server's port (listening
    /// on every address, where the names that reach it are not known).
    hosts: Option<Vec<String>>,
    port: u16,
}

/// What to do with a request.
#[derive(Debug)]
pub enum Verdict {
    /// Serve it.
    Pass,
    /// Answer with this instead (a refusal, or the redirect that trades the token for a cookie).
    Answer(Response),
}

impl Guard {
    /// The guard of a server listening on `addr` with `secret`.
    pub fn new(addr: SocketAddr, secret: String) -> Self {
        let port = addr.port();
        let hosts = (!addr.ip().is_unspecified()).then(|| {
            let mut hosts = vec![format!("{addr}")];
            if addr.ip().is_loopback() {
                hosts.push(format!("localhost:{port}"));
            }
            hosts
        });
        Self {
            secret,
            hosts,
            port,
        }
    }

    /// The secret, for the printed URL.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The cookie's name: one per port, since browsers share cookies between the ports of a
    /// host and two servers must not overwrite each other's.
    fn cookie_name(&self) -> String {
        format!("mule_token_{}", self.port)
    }

    /// Checks `request`: Host, then Origin, then the secret.
    pub fn check(&self, request: &Request) -> Verdict {
        let Some(host) = request.header("host").filter(|host| self.is_own_host(host)) else {
            return refuse(403, "the Host header does not name this server");
        };
        if request.is_state_changing()
            && let Some(origin) = request.header("origin")
            && !origin.eq_ignore_ascii_case(&format!("http://{host}"))
        {
            return refuse(403, "a change requested from another site's page");
        }
        if let Some(token) = query_param(&request.query, TOKEN_PARAM) {
            return self.trade_token(request, &token);
        }
        match self.cookie(request) {
            Some(value) if self.is_secret(value) => Verdict::Pass,
            _ => refuse_secret(request, Secret::Missing),
        }
    }

    /// A GET with the right token: the same URL without it, and the cookie set.
    fn trade_token(&self, request: &Request, token: &str) -> Verdict {
        if !self.is_secret(token) {
            return refuse_secret(request, Secret::Wrong);
        }
        if request.method != "GET" {
            return refuse(405, "the token is traded for a cookie by a GET only");
        }
        let rest: Vec<&str> = request
            .query
            .split('&')
            .filter(|pair| pair.split('=').next() != Some(TOKEN_PARAM))
            .collect();
        let location = if rest.is_empty() {
            request.path.clone()
        } else {
            format!("{}?{}", request.path, rest.join("&"))
        };
        let mut response = Response::see_other(location);
        response.headers.push((
            "Set-Cookie",
            format!(
                "{}={}; HttpOnly; SameSite=Strict; Path=/",
                self.cookie_name(),
                self.secret
            ),
        ));
        Verdict::Answer(response)
    }

    /// The value of this server's cookie in the request.
    fn cookie<'r>(&self, request: &'r Request) -> Option<&'r str> {
        let name = self.cookie_name();
        request
            .header("cookie")?
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value)
    }

    /// Compares in constant time, so response timing tells nothing about how much matched.
    fn is_secret(&self, candidate: &str) -> bool {
        candidate.as_bytes().ct_eq(self.secret.as_bytes()).into()
    }

    fn is_own_host(&self, host: &str) -> bool {
        match &self.hosts {
            Some(hosts) => hosts.iter().any(|own| own.eq_ignore_ascii_case(host)),
            None => host
                .rsplit_once(':')
                .is_some_and(|(_, port)| port == self.port.to_string()),
        }
    }
}

fn refuse(status: u16, error: &str) -> Verdict {
    Verdict::Answer(Response::failure(status, error))
}

/// What was wrong with the secret of a refused request.
#[derive(Debug, Clone, Copy)]
enum Secret {
    /// None came (no token in the URL, no cookie, or a cookie of another server).
    Missing,
    /// The URL's token is not this server's (a link from before `mule ui` was restarted).
    Wrong,
}

/// The 401 for a request without the right secret: a page a person opened gets a small page
/// that says what to do; the API and the app's files keep their JSON failure.
fn refuse_secret(request: &Request, secret: Secret) -> Verdict {
    let is_page = request.method == "GET" && super::assets::PAGES.contains(&request.path.as_str());
    if !is_page {
        return refuse(401, secret.json_error());
    }
    let page = refusal_page(&ENGLISH, secret);
    Verdict::Answer(Response::bytes(
        401,
        "text/html; charset=utf-8",
        page.into_bytes(),
    ))
}

impl Secret {
    fn json_error(self) -> &'static str {
        match self {
            Secret::Missing => "this page needs the secret from the URL mule ui printed",
            Secret::Wrong => "the token in the URL is not this server's",
        }
    }
}

/// The texts of the page a browser gets for a page route without the secret.
///
/// The app's message table (`assets/ui/messages.js`) is JavaScript, read by the app's scripts;
/// this page runs no script (nothing of the app may load before the secret is shown), so its
/// few texts sit in this table in Rust instead. Translate them together with messages.js.
struct RefusalTexts {
    /// The page's title and heading when no secret came.
    missing: &'static str,
    /// The page's title and heading when the URL's secret is not this server's.
    wrong: &'static str,
    /// Why a secret is needed.
    why: &'static str,
    /// Where to find the right link.
    find: &'static str,
    /// How to get a fresh one.
    restart: &'static str,
}

const ENGLISH: RefusalTexts = RefusalTexts {
    missing: "This link is missing its secret",
    wrong: "This link's secret is out of date",
    why: "The mule app opens only for the person who started it: its address carries a secret, \
          and this one does not carry the right one (a link saved before mule ui was restarted \
          has an old secret).",
    find: "Open the whole address that mule ui printed when it started, the one that ends in \
           ?token= and a long number.",
    restart: "Or stop mule ui (Ctrl-C in its window) and start it again with mule ui --open: \
              it opens the app in this browser by itself.",
};

/// The refusal page: plain HTML with no script, no style and nothing from the request in it.
fn refusal_page(texts: &RefusalTexts, secret: Secret) -> String {
    let title = match secret {
        Secret::Missing => texts.missing,
        Secret::Wrong => texts.wrong,
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n<p>{}</p>\n\
         <p>{}</p>\n<p>{}</p>\n</main>\n</body>\n</html>\n",
        texts.why, texts.find, texts.restart
    )
}

/// A fresh secret: 32 random bytes, hex.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::http::read_request;

    fn request(raw: &str) -> Request {
        read_request(&mut raw.as_bytes()).expect("a request")
    }

    fn guard(addr: &str) -> Guard {
        Guard::new(addr.parse().expect("an address"), "s3cret".to_owned())
    }

    fn status(verdict: Verdict) -> u16 {
        match verdict {
            Verdict::Pass => 200,
            Verdict::Answer(response) => response.status,
        }
    }

    #[test]
    fn the_token_leaves_the_url_and_other_parameters_stay() {
        let verdict = guard("127.0.0.1:9").check(&request(
            "GET /notes?q=a&token=s3cret&x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n",
        ));
        let Verdict::Answer(response) = verdict else {
            panic!("a redirect")
        };
        assert_eq!(response.status, 303);
        let location = response.headers.iter().find(|(n, _)| *n == "Location");
        assert_eq!(location.map(|(_, v)| v.as_str()), Some("/notes?q=a&x=1"));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_only_under_this_port() {
        let guard = guard("127.0.0.1:9");
        let ours =
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:9\r\nCookie: a=b; mule_token_9=s3cret\r\n\r\n";
        assert_eq!(status(guard.check(&request(ours))), 200);
        let other = "GET / HTTP/1.1\r\nHost: 127.0.0.1:9\r\nCookie: mule_token_8=s3cret\r\n\r\n";
        assert_eq!(status(guard.check(&request(other))), 401);
    }

    #[test]
    fn every_address_accepts_any_host_name_on_its_port_only() {
        let guard = guard("0.0.0.0:9");
        let cookie = "Cookie: mule_token_9=s3cret";
        let named = format!("GET / HTTP/1.1\r\nHost: field-laptop.local:9\r\n{cookie}\r\n\r\n");
        assert_eq!(status(guard.check(&request(&named))), 200);
        let port = format!("GET / HTTP/1.1\r\nHost: field-laptop.local:80\r\n{cookie}\r\n\r\n");
        assert_eq!(status(guard.check(&request(&port))), 403);
    }

    #[test]
    fn a_page_without_the_secret_gets_a_page_that_says_what_to_do_and_the_api_json() {
        let guard = guard("127.0.0.1:9");
        let answer = |raw: &str| match guard.check(&request(raw)) {
            Verdict::Answer(response) => response,
            Verdict::Pass => panic!("refused"),
        };
        let page = answer("GET /notes HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
        assert_eq!(
            (page.status, page.content_type),
            (401, "text/html; charset=utf-8")
        );
        let html = String::from_utf8(page.body).expect("UTF-8");
        assert!(html.contains("missing its secret") && html.contains("mule ui --open"));
        assert!(
            !html.contains("<script") && !html.contains("style"),
            "{html}"
        );
        let old = answer("GET /?token=0123 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
        assert!(String::from_utf8_lossy(&old.body).contains("out of date"));
        for api in ["GET /api/kv", "GET /app.js", "PUT /notes"] {
            let raw = format!("{api} HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
            let refused = answer(&raw);
            assert_eq!(
                (refused.status, refused.content_type),
                (401, "application/json")
            );
        }
    }

    #[test]
    fn a_secret_of_another_length_or_one_byte_off_is_refused() {
        let guard = guard("127.0.0.1:9");
        assert!(guard.is_secret("s3cret"));
        for wrong in ["", "s3cre", "s3crett", "s3creT"] {
            assert!(!guard.is_secret(wrong), "{wrong}");
        }
    }
}
