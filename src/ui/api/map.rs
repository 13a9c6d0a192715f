//! `/api/map`: routes of the app's map page (to be built).

use crate::replica::Replica;

use super::super::http::{Request, Response};
use super::not_found;

/// Answers `/api/map/...`.
pub fn handle(_replica: &mut Replica, request: &Request, _rest: &str) -> Response {
    not_found(request)
}
