//! Finding peers on the local network with multicast DNS (DNS-SD, service type
//! [`SERVICE_TYPE`]), so that devices in the same room or office can sync without typing
//! addresses.
//!
//! A server announces itself under its author id's short form, with the TXT properties
//! `author=<64-hex author id>`, `proto=<live protocol version>` and, when it also serves a
//! WebSocket, `ws=<port>`. Discovery only says where a device claims to be: the live protocol
//! still makes the peer prove its author key (and the allow-list still applies).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use mdns_sd::{
    RecvTimeoutError, ResolvedService, ScopedIp, ServiceDaemon, ServiceEvent, ServiceInfo,
};

use crate::id::AuthorId;

/// The DNS-SD service type mule servers announce.
pub const SERVICE_TYPE: &str = "_mule._tcp.local.";
/// Longest wait for the mDNS daemon to say goodbye when an announcement or a search ends.
const GOODBYE_WAIT: Duration = Duration::from_secs(1);

/// Why local-network discovery cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The multicast DNS daemon could not start, or refused what it was given.
    #[error("cannot use multicast DNS on this machine ({0}): connect with tcp://HOST:PORT instead")]
    Mdns(String),
}

fn mdns(e: mdns_sd::Error) -> Error {
    Error::Mdns(e.to_string())
}

/// A mule server announced on the local network; the announcement lasts as long as this value
/// and is withdrawn (with a goodbye to the network) when it is dropped.
pub struct Announcement {
    daemon: ServiceDaemon,
    fullname: String,
}

impl std::fmt::Debug for Announcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcement")
            .field("name", &self.fullname)
            .finish()
    }
}

impl Announcement {
    /// The announced service's full DNS-SD name (`<short author id>._mule._tcp.local.`).
    pub fn name(&self) -> &str {
        &self.fullname
    }
}

impl Drop for Announcement {
    fn drop(&mut self) {
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            let _ = done.recv_timeout(GOODBYE_WAIT);
        }
        stop(&self.daemon);
    }
}

fn stop(daemon: &ServiceDaemon) {
    if let Ok(done) = daemon.shutdown() {
        let _ = done.recv_timeout(GOODBYE_WAIT);
    }
}

/// Announces a mule server for `author` listening for the live protocol on TCP port
/// `tcp_port` (and for WebSocket peers on `ws_port`), on every network interface.
pub fn announce(
    author: &AuthorId,
    tcp_port: u16,
    ws_port: Option<u16>,
) -> Result<Announcement, Error> {
    let short = author.short();
    let mut properties = vec![
        ("author", author.to_hex()),
        ("proto", super::PROTOCOL_VERSION.to_string()),
    ];
    if let Some(port) = ws_port {
        properties.push(("ws", port.to_string()));
    }
    let host = format!("mule-{short}.local.");
    // No addresses given: the daemon announces those of each interface, and follows changes.
    let info = ServiceInfo::new(SERVICE_TYPE, &short, &host, "", tcp_port, &properties[..])
        .map_err(mdns)?
        .enable_addr_auto();
    let fullname = info.get_fullname().to_string();
    let daemon = ServiceDaemon::new().map_err(mdns)?;
    if let Err(e) = daemon.register(info) {
        stop(&daemon);
        return Err(mdns(e));
    }
    Ok(Announcement { daemon, fullname })
}

/// A mule server found on the local network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LanPeer {
    /// The author id it announces (it proves it during the sync).
    pub author: AuthorId,
    /// Where its live protocol listens on TCP: IPv4 addresses first, loopback ones last.
    pub addrs: Vec<SocketAddr>,
    /// The port of its WebSocket server, if it announced one (same hosts as `addrs`).
    pub ws_port: Option<u16>,
}

/// Searches the local network for `wait` and returns the mule servers found, one per author,
/// leaving out `own` (this device). An empty list means nobody answered.
pub fn discover(own: &AuthorId, wait: Duration) -> Result<Vec<LanPeer>, Error> {
    let daemon = ServiceDaemon::new().map_err(mdns)?;
    let result = search(&daemon, own, wait);
    let _ = daemon.stop_browse(SERVICE_TYPE);
    stop(&daemon);
    result
}

fn search(daemon: &ServiceDaemon, own: &AuthorId, wait: Duration) -> Result<Vec<LanPeer>, Error> {
    let events = daemon.browse(SERVICE_TYPE).map_err(mdns)?;
    let deadline = Instant::now() + wait;
    let mut peers: BTreeMap<AuthorId, LanPeer> = BTreeMap::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceResolved(service)) => {
                let Some(found) = peer_of(&service) else {
                    continue;
                };
                if found.author == *own {
                    continue;
                }
                let peer = peers.entry(found.author).or_insert_with(|| LanPeer {
                    author: found.author,
                    addrs: Vec::new(),
                    ws_port: None,
                });
                peer.addrs.extend(found.addrs);
                sort_addrs(&mut peer.addrs);
                peer.ws_port = found.ws_port.or(peer.ws_port);
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => break,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::Mdns(
                    "the mDNS daemon stopped during the search".into(),
                ));
            }
        }
    }
    Ok(peers.into_values().collect())
}

/// The peer a resolved service describes, if it carries a readable author id.
fn peer_of(service: &ResolvedService) -> Option<LanPeer> {
    let author: AuthorId = service.get_property_val_str("author")?.parse().ok()?;
    let port = service.get_port();
    let mut addrs: Vec<SocketAddr> = service
        .get_addresses()
        .iter()
        .map(|ip| match ip {
            ScopedIp::V6(v6) => {
                let scope = if v6.addr().is_unicast_link_local() {
                    v6.scope_id().index
                } else {
                    0
                };
                SocketAddr::V6(SocketAddrV6::new(*v6.addr(), port, 0, scope))
            }
            other => SocketAddr::new(other.to_ip_addr(), port),
        })
        .collect();
    sort_addrs(&mut addrs);
    let ws_port = service
        .get_property_val_str("ws")
        .and_then(|port| port.parse().ok());
    Some(LanPeer {
        author,
        addrs,
        ws_port,
    })
}

/// IPv4 first, then IPv6; within each, routable before link-local before loopback.
fn sort_addrs(addrs: &mut Vec<SocketAddr>) {
    addrs.sort_by_key(|addr| {
        let ip = addr.ip();
        let link_local = match ip {
            IpAddr::V4(v4) => v4.is_link_local(),
            IpAddr::V6(v6) => v6.is_unicast_link_local(),
        };
        (ip.is_ipv6(), ip.is_loopback(), link_local, *addr)
    });
    addrs.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_author(seed: u8) -> AuthorId {
        let mut bytes = [seed; 32];
        // Differs from run to run, so that a leftover announcement cannot pass the test.
        getrandom::fill(&mut bytes[..8]).unwrap();
        AuthorId::from_bytes(bytes)
    }

    #[test]
    fn addresses_are_ipv4_first_and_loopback_last() {
        let mut addrs: Vec<SocketAddr> = [
            "[::1]:7",
            "127.0.0.1:7",
            "[fe80::1%2]:7",
            "[fd00::2]:7",
            "192.0.2.2:7",
            "192.0.2.2:7",
            "169.254.1.1:7",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        sort_addrs(&mut addrs);
        let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "192.0.2.2:7",
                "169.254.1.1:7",
                "127.0.0.1:7",
                "[fd00::2]:7",
                "[fe80::1%2]:7",
                "[::1]:7"
            ]
        );
    }

    #[test]
    fn a_bad_service_is_an_error_that_says_what_to_do() {
        let error = mdns(mdns_sd::Error::Msg("no interface".into()));
        assert_eq!(
            error.to_string(),
            "cannot use multicast DNS on this machine (no interface): connect with tcp://HOST:PORT instead"
        );
    }

    #[test]
    fn an_announced_server_is_discovered() {
        let server = fake_author(0x11);
        let me = fake_author(0x22);
        let announcement = match announce(&server, 45_123, Some(45_124)) {
            Ok(announcement) => announcement,
            Err(e) => {
                eprintln!("multicast DNS is unavailable here, skipping: {e}");
                return;
            }
        };
        assert_eq!(
            announcement.name(),
            format!("{}.{SERVICE_TYPE}", server.short())
        );
        // Our own announcement is left out.
        let mine = announce(&me, 45_125, None).unwrap();
        let mut found = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            found = discover(&me, Duration::from_secs(3)).unwrap();
            if found.iter().any(|peer| peer.author == server) {
                break;
            }
        }
        if found.is_empty() {
            eprintln!(
                "multicast DNS found nothing, not even this process's own announcement: \
                 multicast is unavailable in this environment, skipping"
            );
            return;
        }
        assert!(found.iter().all(|peer| peer.author != me), "{found:?}");
        let peer = found
            .iter()
            .find(|peer| peer.author == server)
            .unwrap_or_else(|| panic!("the announced server is among {found:?}"));
        assert!(!peer.addrs.is_empty());
        assert!(
            peer.addrs.iter().all(|addr| addr.port() == 45_123),
            "{peer:?}"
        );
        assert_eq!(peer.ws_port, Some(45_124));
        let first_v6 = peer.addrs.iter().position(SocketAddr::is_ipv6);
        let last_v4 = peer.addrs.iter().rposition(SocketAddr::is_ipv4);
        if let (Some(v6), Some(v4)) = (first_v6, last_v4) {
            assert!(v4 < v6, "IPv4 first: {peer:?}");
        }
        drop(mine);
        drop(announcement);
    }
}
