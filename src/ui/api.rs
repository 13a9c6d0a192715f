//! The JSON API the app reads and writes through: the same report types as the CLI's `--json`,
//! and every write through the [`Replica`], so the views have caught up when it answers.

use crate::replica::{self, Replica};
use crate::report;
use crate::views;

use super::http::{Request, Response, percent_decode, query_param};

/// The prefix of the kv routes.
const KV: &str = "/api/kv";

/// Answers an `/api/...` request.
pub fn handle(replica: &mut Replica, request: &Request) -> Response {
    let method = request.method.as_str();
    if request.path == "/api/status" {
        return match method {
            "GET" => answer(replica.status()),
            _ => not_allowed(),
        };
    }
    if request.path == KV {
        return match method {
            "GET" => list_kv(replica, request),
            _ => not_allowed(),
        };
    }
    let Some(encoded) = request
        .path
        .strip_prefix(KV)
        .and_then(|p| p.strip_prefix('/'))
    else {
        return Response::failure(404, &format!("no API at {}", request.path));
    };
    let Some(key) = percent_decode(encoded, false) else {
        return Response::failure(400, "the key in the path is not percent-encoded UTF-8");
    };
    match method {
        "PUT" => put_kv(replica, &key, &request.body),
        "DELETE" => answer(replica.delete_kv(&key).map(|hash| written(replica, hash))),
        _ => not_allowed(),
    }
}

/// `GET /api/kv?prefix=P`: the keys starting with P, each with its current values.
fn list_kv(replica: &mut Replica, request: &Request) -> Response {
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
fn put_kv(replica: &mut Replica, key: &str, body: &[u8]) -> Response {
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

fn written(replica: &Replica, hash: crate::Hash) -> report::Written {
    report::Written {
        hash,
        views_rebuilt: replica.views_rebuilt().map(str::to_owned),
    }
}

/// 200 with the value, or the failure with its status.
fn answer<T: serde::Serialize>(result: Result<T, replica::Error>) -> Response {
    match result {
        Ok(value) => Response::json(200, &value),
        Err(e) => Response::failure(status_of(&e), &e.to_string()),
    }
}

/// 404 for a key that has no value, 500 for the rest (the store's own failures).
fn status_of(e: &replica::Error) -> u16 {
    match e {
        replica::Error::Views(views::Error::Missing { .. }) => 404,
        _ => 500,
    }
}

fn not_allowed() -> Response {
    Response::failure(405, "this method is not served here")
}
