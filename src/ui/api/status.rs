//! `/api/status`: the status page's routes, the store's status and its check.

use crate::replica::Replica;
use crate::report;

use super::super::http::{Request, Response};
use super::{answer, not_allowed, not_found};

/// Answers `/api/status` and `/api/status/fsck`.
pub fn handle(replica: &mut Replica, request: &Request, rest: &str) -> Response {
    if request.method != "GET" {
        return not_allowed();
    }
    match rest {
        "" => answer(replica.status()),
        // A check changes nothing, so it is a GET (and publishes no `changed`).
        "fsck" => answer(replica.check().map(|report| report::Fsck {
            clean: report.problems.is_empty(),
            report,
            repaired: 0,
        })),
        _ => not_found(request),
    }
}
