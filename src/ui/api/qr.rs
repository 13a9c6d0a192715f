//! `/api/qr`: routes of the app's qr page (to be built).

use crate::replica::Replica;

use super::super::http::{Request, Response};
use super::not_found;

/// Answers `/api/qr/...`.
pub fn handle(_replica: &mut Replica, request: &Request, _rest: &str) -> Response {
    not_found(request)
}
