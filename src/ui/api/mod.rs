//! The JSON API the app reads and writes through: the same report types as the CLI's `--json`,
//! and every write through the [`Replica`], so the views have caught up when it answers. One
//! module per page's routes, found by the path's first segment after `/api/`.

mod cal;
mod kv;
mod map;
mod project;
mod qr;
mod status;
mod sync;

use crate::replica::{self, Replica};
use crate::views;

pub use sync::is_upload;

use super::events::Bus;
use super::http::{Request, Response};

/// What the API keeps between requests, on the replica's thread.
#[derive(Debug, Default)]
pub struct Memory {
    /// The bundle the QR page plays.
    qr: qr::Playing,
}

impl Memory {
    /// Whether the request just answered left the store untouched though it was a POST, so
    /// pages need no `changed`; resets it.
    pub fn take_store_untouched(&mut self) -> bool {
        self.qr.take_store_untouched()
    }
}

/// Answers an `/api/...` request on the replica's thread; `bus` carries progress to the pages
/// that listen.
pub fn handle(
    replica: &mut Replica,
    bus: &Bus,
    memory: &mut Memory,
    request: &Request,
) -> Response {
    let path = request.path.strip_prefix("/api/").unwrap_or_default();
    let (area, rest) = path.split_once('/').unwrap_or((path, ""));
    match area {
        "status" => status::handle(replica, request, rest),
        "kv" => kv::handle(replica, request, rest),
        "map" => map::handle(replica, request, rest),
        "cal" => cal::handle(replica, request, rest),
        "sync" => sync::handle(replica, bus, request, rest),
        "project" => project::handle(replica, request, rest),
        "qr" => qr::handle(replica, &mut memory.qr, request, rest),
        _ => not_found(request),
    }
}

/// 200 with the value, or the failure with its status.
fn answer<T: serde::Serialize>(result: Result<T, replica::Error>) -> Response {
    match result {
        Ok(value) => Response::json(200, &value),
        Err(e) => Response::failure(status_of(&e), &e.to_string()),
    }
}

/// The report of an entry written through the API.
fn written(replica: &Replica, hash: crate::Hash) -> crate::report::Written {
    crate::report::Written {
        hash,
        views_rebuilt: replica.views_rebuilt().map(str::to_owned),
    }
}

/// 404 for something that has no value, 500 for the rest (the store's own failures).
fn status_of(e: &replica::Error) -> u16 {
    match e {
        replica::Error::Views(views::Error::Missing { .. }) => 404,
        _ => 500,
    }
}

fn not_allowed() -> Response {
    Response::failure(405, "this method is not served here")
}

fn not_found(request: &Request) -> Response {
    Response::failure(404, &format!("no API at {}", request.path))
}
