//! `/api/kv`: the notes page's routes over the kv view.

use serde::Serialize;

use crate::replica::Replica;
use crate::report;
use crate::views;

use super::super::http::{Request, Response, percent_decode, query_param};
use super::{answer, not_allowed, written};

/// Answers `/api/kv` (`rest` empty) and `/api/kv/KEY` (`rest` the encoded key).
pub fn handle(replica: &mut Replica, request: &Request, rest: &str) -> Response {
    let method = request.method.as_str();
    if rest.is_empty() {
        return match method {
            "GET" => list(replica, request),
            _ => not_allowed(),
        };
    }
    let Some(key) = percent_decode(rest, false) else {
        return Response::failure(400, "the key in the path is not percent-encoded UTF-8");
    };
    match method {
        "PUT" => put(replica, &key, &request.body),
        "DELETE" => answer(replica.delete_kv(&key).map(|hash| written(replica, hash))),
        _ => not_allowed(),
    }
}

/// The most keys one `GET /api/kv` answers with, whatever `limit` asks for.
pub const MAX_LIMIT: usize = 1000;
/// How many keys `GET /api/kv` answers with when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;

/// `GET /api/kv`: one page of the keys found, and how many there are in all.
#[derive(Debug, Serialize)]
struct Page {
    /// Keys that match in all; `null` when `count=no` was asked and the page was full before
    /// the last key (ask again with `limit=0` for the count alone).
    total: Option<usize>,
    /// Matching keys passed over before this page.
    offset: usize,
    /// The page's keys, sorted, each with its current values (several after concurrent puts).
    keys: Vec<report::KeyValues>,
}

/// `GET /api/kv?q=TEXT&prefix=P&offset=N&limit=M`: the keys starting with P whose key or a
/// current value contains TEXT (ignoring case), M of them (at most [`MAX_LIMIT`]) after the
/// first N. `count=no` leaves the total out when counting would read every key (no text
/// to look for and more keys than the page): the page then comes at once and the count after.
fn list(replica: &mut Replica, request: &Request) -> Response {
    let param = |name| query_param(&request.query, name).unwrap_or_default();
    let (text, prefix) = (param("q"), param("prefix"));
    let number = |name, default| match param(name) {
        given if given.is_empty() => Ok(default),
        given => given.parse::<usize>().map_err(|_| {
            let error = format!("`{name}` must be a whole number, not `{given}`");
            Response::failure(400, &error)
        }),
    };
    let (skip, limit) = match (number("offset", 0), number("limit", DEFAULT_LIMIT)) {
        (Ok(skip), Ok(limit)) => (skip, limit.min(MAX_LIMIT)),
        (Err(refused), _) | (_, Err(refused)) => return refused,
    };
    let search = views::kv::Search {
        prefix: &prefix,
        text: &text,
        skip,
        limit,
        count: param("count") != "no",
    };
    answer(
        replica
            .read_views(|views| views.kv().search(&search))
            .map(|found| Page {
                total: found.counted.then_some(found.total),
                offset: skip,
                keys: found
                    .keys
                    .into_iter()
                    .map(|(key, values)| report::KeyValues { key, values })
                    .collect(),
            }),
    )
}

/// `PUT /api/kv/KEY` with a JSON body: the key's new value, superseding its current ones.
fn put(replica: &mut Replica, key: &str, body: &[u8]) -> Response {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return Response::failure(400, &format!("the body is not a JSON value: {e}")),
    };
    answer(
        replica
            .put_kv(key, Some(&value), Vec::new())
            .map(|hash| written(replica, hash)),
    )
}
