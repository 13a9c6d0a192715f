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
            _ => refuse(
                401,
                "this page needs the secret from the URL mule ui printed",
            ),
        }
    }

    /// A GET with the right token: the same URL without it, and the cookie set.
    fn trade_token(&self, request: &Request, token: &str) -> Verdict {
        if !self.is_secret(token) {
            return refuse(401, "the token in the URL is not this server's");
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

/// A fresh secret: 32 random bytes, hex.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}
