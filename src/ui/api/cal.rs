//! `/api/cal`: routes of the app's cal page (to be built).

use crate::replica::Replica;

use super::super::http::{Request, Response};
use super::not_found;

/// Answers `/api/cal/...`.
pub fn handle(_replica: &mut Replica, request: &Request, _rest: &str) -> Response {
    not_found(request)
}
