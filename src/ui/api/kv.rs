//! `/api/kv`: the notes page's routes over the kv view.

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

/// `GET /api/kv?prefix=P`: the keys starting with P, each with its current values.
fn list(replica: &mut Replica, request: &Request) -> Response {
    let prefix = query_param(&request.query, "prefix").unwrap_or_default();
    answer(replica.read_views(|views| {
        let kv = views.kv();
        kv.list(&prefix)?
            .into_iter()
            .map(|key| {
                let values = kv.get(&key)?;
                Ok(report::KeyValues { key, values })
            })
            .collect::<Result<Vec<_>, views::Error>>()
    }))
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
