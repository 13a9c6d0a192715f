//! `/api/map`: the map page's routes over the map view and the blobs its points name.
//!
//! - `GET /api/map?bbox=W,S,E,N&zoom=Z`: what the box shows at that zoom ([`Shown`]): its
//!   documents while it holds few nodes, else clusters; bounded either way (see
//!   [`map::Overview`]).
//! - `GET /api/map/extent`: the box around every node, to open the map on the data.
//! - `POST /api/map` `{"lat", "lon", "tags"}`: a new point; `GET|PUT|DELETE /api/map/doc/ID`:
//!   a document's versions ([`Details`]), a new version of it (linking every current version,
//!   which is how a fork is resolved, kept or merged), its deletion.
//! - `POST /api/map/photo?name=N` with the image bytes: stores a blob; `GET /api/map/blob/HASH`:
//!   a blob's bytes (at most [`MAX_BLOB_SERVED`]), typed by what they start with.
//! - `GET /api/map/basemap`: the basemap ([`crate::basemap::Info`]: blob, name, size, zooms,
//!   bounds, attribution), or `null`; `GET /api/map/tiles/Z/X/Y`: one of its raster tiles, read
//!   out of the archive (404 when it holds none there).

use serde::Serialize;
use serde_json::{Value, json};

use crate::Hash;
use crate::basemap;
use crate::blob;
use crate::replica::{self, Replica};
use crate::report::DocWritten;
use crate::views::map::{self, BBox, Cluster, Overview, Version};

use super::super::http::{Request, Response, percent_decode, query_param};
use super::{answer, not_allowed, not_found};

/// The most bytes of a blob served at once (photos are downscaled to well under 1 MiB by the
/// page before they are sent; this leaves room for photos added with `mule blob add`).
pub const MAX_BLOB_SERVED: u64 = 16 << 20;
/// The most earlier versions of a document shown.
const MAX_HISTORY: usize = 50;
/// The tag value prefix naming a blob (bundle-format.md, "Blobs": references).
const BLOB_TAG: &str = "blob:";

/// What a box shows: `documents` (OpenStreetMap-shaped, each with `version` and, when it has
/// concurrent versions, `forked: true`) or `clusters`; `truncated` says features were left out
/// to stay under `limit`.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// `documents` or `clusters`.
    pub kind: &'static str,
    /// The documents (empty for clusters).
    pub documents: Vec<Value>,
    /// The clusters (empty for documents).
    pub clusters: Vec<Cluster>,
    /// Nodes in the box, when clustered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<u64>,
    /// Whether features were left out.
    pub truncated: bool,
    /// The most features an answer carries.
    pub limit: usize,
}

/// A document's versions: its current ones (`heads`, several after concurrent edits), the one
/// shown (none when deleted), earlier ones, and the photos the shown one names.
#[derive(Debug, Serialize)]
pub struct Details {
    /// The document id.
    pub id: String,
    /// The version every replica shows, when not deleted.
    pub shown: Option<Value>,
    /// Every current version (with `timestamp`), newest first; a deletion is `deleted: true`.
    pub heads: Vec<Value>,
    /// Earlier versions, newest first, at most 50.
    pub history: Vec<Value>,
    /// Photos: the tag naming each, and the blob's hash.
    pub photos: Vec<Photo>,
}

/// A blob a document's tag names.
#[derive(Debug, Serialize)]
pub struct Photo {
    /// The tag.
    pub tag: String,
    /// The blob.
    pub hash: Hash,
}

/// The blob stored from an upload.
#[derive(Debug, Serialize)]
pub struct Uploaded {
    /// The blob's hash, to name in a tag as `blob:<hash>`.
    pub hash: Hash,
    /// Its size in bytes.
    pub size: u64,
}

/// Answers `/api/map...`.
pub fn handle(replica: &mut Replica, request: &Request, rest: &str) -> Response {
    let method = request.method.as_str();
    let (route, tail) = rest.split_once('/').unwrap_or((rest, ""));
    match (route, method) {
        ("", "GET") => shown(replica, request),
        ("", "POST") => create(replica, &request.body),
        ("extent", "GET") => answer(replica.read_views(|views| views.map().extent()).map(
            |extent| json!({ "extent": extent.map(|b| json!({"south": b.south, "west": b.west, "north": b.north, "east": b.east})) }),
        )),
        ("doc", _) => match percent_decode(tail, false) {
            Some(id) if !id.is_empty() => document(replica, method, &id, &request.body),
            _ => Response::failure(400, "name a document: /api/map/doc/ID, ID percent-encoded UTF-8"),
        },
        ("photo", "POST") => upload(replica, request),
        ("blob", "GET") => blob_bytes(replica, tail),
        ("basemap", "GET") => answer(basemap_info(replica)),
        ("tiles", "GET") => basemap_tile(replica, tail),
        ("" | "extent" | "photo" | "blob" | "basemap" | "tiles", _) => not_allowed(),
        _ => not_found(request),
    }
}

/// `GET /api/map?bbox=W,S,E,N&zoom=Z`.
fn shown(replica: &mut Replica, request: &Request) -> Response {
    let bbox = query_param(&request.query, "bbox").unwrap_or_default();
    let Some((west, south, east, north)) = four(&bbox) else {
        return Response::failure(400, "bbox must be four numbers: west,south,east,north");
    };
    let bbox = match BBox::parse(&format!("{south},{north}"), &format!("{west},{east}")) {
        Ok(bbox) => bbox,
        Err(e) => return Response::failure(400, &format!("bbox: {e}")),
    };
    let zoom = query_param(&request.query, "zoom").unwrap_or_default();
    let Some(zoom) = zoom.parse::<u8>().ok().filter(|z| *z <= map::MAX_ZOOM) else {
        return Response::failure(
            400,
            &format!("zoom must be a whole number from 0 to {}", map::MAX_ZOOM),
        );
    };
    answer(
        replica
            .read_views(|views| views.map().overview(&bbox, zoom))
            .map(to_shown),
    )
}

/// The four comma-separated parts of `text`.
fn four(text: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = text.split(',');
    let found = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    parts.next().is_none().then_some(found)
}

fn to_shown(overview: Overview) -> Shown {
    match overview {
        Overview::Documents {
            versions,
            forked,
            truncated,
        } => Shown {
            kind: "documents",
            documents: versions
                .iter()
                .map(|version| {
                    let mut doc = version.to_json();
                    if doc["id"].as_str().is_some_and(|id| forked.contains(id)) {
                        doc["forked"] = json!(true);
                    }
                    doc
                })
                .collect(),
            clusters: Vec::new(),
            nodes: None,
            truncated,
            limit: map::MAX_FEATURES,
        },
        Overview::Clusters {
            clusters,
            nodes,
            truncated,
        } => Shown {
            kind: "clusters",
            documents: Vec::new(),
            clusters,
            nodes: Some(nodes),
            truncated,
            limit: map::MAX_FEATURES,
        },
    }
}

/// `POST /api/map` `{"lat", "lon", "tags"}`: a new node with a fresh id.
fn create(replica: &mut Replica, body: &[u8]) -> Response {
    let point: Value = match serde_json::from_slice(body) {
        Ok(point) => point,
        Err(e) => return Response::failure(400, &format!("the body is not JSON: {e}")),
    };
    let doc = json!({
        "id": map::new_id(),
        "type": "node",
        "lat": point["lat"],
        "lon": point["lon"],
        "tags": point.get("tags").cloned().unwrap_or_else(|| json!({})),
    });
    write(replica, doc)
}

/// `GET|PUT|DELETE /api/map/doc/ID`.
fn document(replica: &mut Replica, method: &str, id: &str, body: &[u8]) -> Response {
    match method {
        "GET" => answer(details(replica, id)),
        "PUT" => match serde_json::from_slice::<Value>(body) {
            Ok(mut doc) => {
                if let Some(fields) = doc.as_object_mut() {
                    fields.insert("id".into(), json!(id));
                    // What the page read along with the document is not part of it.
                    for shown_only in ["version", "forked", "timestamp"] {
                        fields.remove(shown_only);
                    }
                }
                write(replica, doc)
            }
            Err(e) => Response::failure(400, &format!("the body is not JSON: {e}")),
        },
        "DELETE" => answer(
            replica
                .delete_map(id)
                .map(|hash| doc_written(replica, id, hash)),
        ),
        _ => not_allowed(),
    }
}

/// Checks `doc` and writes it as the new version of its document, linking every current one.
fn write(replica: &mut Replica, doc: Value) -> Response {
    let doc = match map::normalize(doc) {
        Ok(doc) => doc,
        Err(e) => return Response::failure(400, &e.to_string()),
    };
    let id = doc["id"].as_str().unwrap_or_default().to_owned();
    answer(
        replica
            .put_map(&doc)
            .map(|hash| doc_written(replica, &id, hash)),
    )
}

/// The report of a document version written through the API (as `mule map` prints it).
fn doc_written(replica: &Replica, id: &str, hash: Hash) -> DocWritten {
    DocWritten {
        id: id.to_owned(),
        hash,
        views_rebuilt: replica.views_rebuilt().map(str::to_owned),
    }
}

fn details(replica: &mut Replica, id: &str) -> Result<Details, replica::Error> {
    let (heads, history) = replica.read_views(|views| {
        let map = views.map();
        Ok((map.require(id, true)?, map.history(id, MAX_HISTORY)?))
    })?;
    let with_time = |version: &Version| {
        let mut doc = version.to_json();
        doc["timestamp"] = json!(version.timestamp);
        doc
    };
    // The winner rule (see `map`): a deletion among the heads hides the document.
    let shown = heads
        .iter()
        .all(|head| head.doc.is_some())
        .then(|| heads.first().map(with_time))
        .flatten();
    let photos = shown.as_ref().map(photos_of).unwrap_or_default();
    Ok(Details {
        id: id.to_owned(),
        shown,
        heads: heads.iter().map(with_time).collect(),
        history: history.iter().map(with_time).collect(),
        photos,
    })
}

/// The blobs a document's tags name as `blob:<hash>`.
fn photos_of(doc: &Value) -> Vec<Photo> {
    let Some(tags) = doc["tags"].as_object() else {
        return Vec::new();
    };
    tags.iter()
        .filter_map(|(tag, value)| {
            let hash = value.as_str()?.strip_prefix(BLOB_TAG)?.parse().ok()?;
            Some(Photo {
                tag: tag.clone(),
                hash,
            })
        })
        .collect()
}

/// `POST /api/map/photo?name=N`: the body (at most the request limit, 1 MiB) as a blob.
fn upload(replica: &mut Replica, request: &Request) -> Response {
    if request.body.is_empty() {
        return Response::failure(400, "the photo is empty");
    }
    let name = query_param(&request.query, "name").unwrap_or_else(|| "photo.jpg".into());
    answer(
        replica
            .add_blob_bytes(&name, &request.body, Some("photo"))
            .map(|added| Uploaded {
                hash: added.hash,
                size: added.size,
            }),
    )
}

/// `GET /api/map/blob/HASH`: the blob's bytes, typed by their first bytes (images the page
/// shows; anything else is served as opaque bytes, never as a page).
fn blob_bytes(replica: &mut Replica, hash: &str) -> Response {
    let Ok(hash) = hash.parse::<Hash>() else {
        return Response::failure(400, "a blob is named by its 64-digit hex hash");
    };
    match blob::read(replica.store(), &hash, MAX_BLOB_SERVED) {
        Ok((_, bytes)) => Response::bytes(200, content_type(&bytes), bytes),
        Err(e @ blob::Error::Unknown(_)) => Response::failure(404, &e.to_string()),
        Err(e @ blob::Error::TooLarge { .. }) => Response::failure(413, &e.to_string()),
        Err(e @ blob::Error::Incomplete { .. }) => Response::failure(404, &e.to_string()),
        Err(e) => Response::failure(500, &e.to_string()),
    }
}

/// `GET /api/map/basemap`.
fn basemap_info(replica: &mut Replica) -> Result<Option<basemap::Info>, replica::Error> {
    match replica.basemap_archive()? {
        Some(archive) => Ok(Some(archive.info()?)),
        None => Ok(None),
    }
}

/// `GET /api/map/tiles/Z/X/Y`.
fn basemap_tile(replica: &mut Replica, zxy: &str) -> Response {
    let mut parts = zxy.split('/');
    let (Some(z), Some(x), Some(y), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Response::failure(400, "name a tile: /api/map/tiles/Z/X/Y");
    };
    let (Ok(z), Ok(x), Ok(y)) = (z.parse::<u8>(), x.parse::<u32>(), y.parse::<u32>()) else {
        return Response::failure(400, "a tile's Z, X and Y are whole numbers");
    };
    let tile = replica
        .basemap_archive()
        .and_then(|archive| Ok(archive.map(|a| a.tile(z, x, y)).transpose()?.flatten()));
    match tile {
        Ok(Some(tile)) => Response::bytes(200, tile.content_type, tile.bytes),
        Ok(None) => Response::failure(404, &format!("the basemap holds no tile {z}/{x}/{y}")),
        Err(e) => Response::failure(500, &e.to_string()),
    }
}

/// The image type `bytes` start with, or opaque bytes.
fn content_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xff, 0xd8, 0xff, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => "image/webp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_typed_by_their_first_bytes_and_the_rest_is_opaque() {
        assert_eq!(content_type(&[0xff, 0xd8, 0xff, 0xe0]), "image/jpeg");
        assert_eq!(content_type(b"\x89PNG\r\n"), "image/png");
        assert_eq!(content_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(content_type(b"<html>"), "application/octet-stream");
        assert_eq!(content_type(b""), "application/octet-stream");
    }

    #[test]
    fn a_bbox_is_exactly_four_parts() {
        assert_eq!(four("1,2,3,4"), Some(("1", "2", "3", "4")));
        assert_eq!(four("1,2,3"), None);
        assert_eq!(four("1,2,3,4,5"), None);
    }
}
