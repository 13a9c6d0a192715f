//! `/api/sync`: routes of the app's sync page (to be built).

use crate::replica::Replica;

use super::super::events::Bus;
use super::super::http::{Request, Response};
use super::not_found;

/// Answers `/api/sync/...`; progress goes out on `bus`.
pub fn handle(_replica: &mut Replica, _bus: &Bus, request: &Request, _rest: &str) -> Response {
    not_found(request)
}
