//! GeoJSON (RFC 7946) in and out of the map view, the OpenStreetMap way.
//!
//! Import, one feature at a time (`F` is the feature's id):
//! - Point: node `F`; LineString: way `F` over nodes `F/0`, `F/1`...; a closed ring reuses its
//!   first node.
//! - Polygon with one ring: the closed way `F`, tagged `area=yes` (OSM's mark of an area).
//! - Polygon with holes, MultiPolygon: relation `F` tagged `type=multipolygon`, with one way per
//!   ring (`F/0`, `F/1`... numbered across the polygons, nodes `F/k/0`...), members in file
//!   order: each polygon's outer ring (role `outer`) followed by its holes (role `inner`).
//! - MultiPoint, MultiLineString, GeometryCollection: relation `F` tagged `type=collection`, one
//!   member per part (`F/k`, role empty); a GeometryCollection's parts are imported as above.
//! - A null geometry: skipped, and named in the result.
//!
//! Properties become the tags of `F`; `area` and `type` are only added when the properties do not
//! have them. Relations also get `geojson:type`, the geometry type, so a Polygon with holes and a
//! MultiPolygon of one polygon, or a MultiPoint and a GeometryCollection of points, go out as they
//! came. A third coordinate is kept as the node's `ele` tag (a number, in the file's unit).
//! A feature without an id (nor `properties.id`) gets one derived from its geometry and
//! properties, so importing the same file again finds the same documents.
//!
//! Export: every document of a query that is not only a part of another one (a way's untagged
//! vertex, a relation's untagged ring) is a feature: nodes as Points (with `ele` as third
//! coordinate), closed ways tagged `area=yes` as Polygons, other ways as LineStrings, relations
//! as the type their `geojson:type` says, or, without it, multipolygons as Polygon or
//! MultiPolygon and other relations as GeometryCollection. Each inner ring belongs to the outer
//! ring before it. Rings keep their vertex order both ways: mule does not reorient them (RFC
//! 7946's right-hand rule is for writers; readers must accept either), so an imported file comes
//! back with the same coordinates in the same order.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::{MapError, Version, id_text, normalize, references};

/// The tag keeping a relation's GeoJSON geometry type (OSM's `namespace:key` habit for the
/// tags of an import).
const GEOJSON_TYPE: &str = "geojson:type";

/// Tags that say how a document is drawn, not what it is: a document holding only these and
/// belonging to another one is no feature of its own.
const GEOMETRY_TAGS: &[&str] = &["ele", "area", "type", GEOJSON_TYPE];

/// How deep export follows relations inside relations (they may form a cycle).
const MAX_RELATION_DEPTH: usize = 16;

/// What a GeoJSON file imports as.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The map documents, normalized, each id once (a later feature with the same id wins).
    pub docs: Vec<Value>,
    /// The features skipped because their geometry is null.
    pub skipped: Vec<SkippedFeature>,
}

/// A feature that was not imported.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedFeature {
    /// Its position in the file's `features`, from 0.
    pub index: usize,
    /// Its `id` (or `properties.id`), when it has one.
    pub id: Option<String>,
    /// Its `properties.name` (or `NAME`), when it has one.
    pub name: Option<String>,
}

impl SkippedFeature {
    fn of(index: usize, feature: &Value) -> Self {
        let properties = &feature["properties"];
        Self {
            index,
            id: feature
                .get("id")
                .or_else(|| properties.get("id"))
                .and_then(id_text),
            name: ["name", "NAME"]
                .iter()
                .find_map(|key| properties[*key].as_str())
                .map(str::to_owned),
        }
    }

    /// ` (id "..")`, ` (name "..")` or nothing, to name the feature in a message.
    pub fn label(&self) -> String {
        match (&self.id, &self.name) {
            (Some(id), _) => format!(" (id {id:?})"),
            (None, Some(name)) => format!(" (name {name:?})"),
            (None, None) => String::new(),
        }
    }
}

/// Map documents read from a GeoJSON FeatureCollection (or a single Feature), as the module
/// documentation says. An unacceptable feature refuses the whole file, naming the feature.
pub fn from_geojson(value: &Value) -> Result<Imported, MapError> {
    let features: Vec<&Value> = match value["type"].as_str() {
        Some("FeatureCollection") => value["features"]
            .as_array()
            .ok_or(MapError::MissingFeatures)?
            .iter()
            .collect(),
        Some("Feature") => vec![value],
        _ => return Err(MapError::NotGeoJson),
    };
    let mut docs = Docs::default();
    let mut skipped = Vec::new();
    for (index, feature) in features.into_iter().enumerate() {
        if feature["geometry"].is_null() {
            skipped.push(SkippedFeature::of(index, feature));
            continue;
        }
        docs.feature(feature).map_err(|reason| MapError::Feature {
            index,
            label: SkippedFeature::of(index, feature).label(),
            reason: Box::new(reason),
        })?;
    }
    Ok(Imported {
        docs: docs.docs,
        skipped,
    })
}

/// A feature's id: its `id`, else `properties.id` (taken out of `tags`), else 16 hex digits of
/// the BLAKE3 hash of its geometry and properties.
fn feature_id(feature: &Value, tags: &mut Map<String, Value>) -> String {
    feature
        .get("id")
        .and_then(id_text)
        .or_else(|| tags.remove("id").as_ref().and_then(id_text))
        .unwrap_or_else(|| {
            let content = json!([feature["geometry"], feature["properties"]]);
            let hash = blake3::hash(content.to_string().as_bytes());
            hex::encode(&hash.as_bytes()[..8])
        })
}

/// A member of a relation being built: the document's type and id.
struct Member {
    kind: &'static str,
    id: String,
}

/// The documents of an import, in order, each id once.
#[derive(Default)]
struct Docs {
    docs: Vec<Value>,
    at: HashMap<String, usize>,
}

impl Docs {
    fn feature(&mut self, feature: &Value) -> Result<(), MapError> {
        let mut tags = feature["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let id = feature_id(feature, &mut tags);
        self.geometry(&feature["geometry"], &id, tags).map(drop)
    }

    /// Adds a normalized document; a later one with the same id replaces it.
    fn push(&mut self, doc: Value) -> Result<(), MapError> {
        let doc = normalize(doc)?;
        let id = doc["id"].as_str().unwrap_or_default().to_owned();
        match self.at.get(&id) {
            Some(&at) => self.docs[at] = doc,
            None => {
                self.at.insert(id, self.docs.len());
                self.docs.push(doc);
            }
        }
        Ok(())
    }

    /// Adds the documents of `geometry` under `id`, `tags` on the top one.
    fn geometry(
        &mut self,
        geometry: &Value,
        id: &str,
        mut tags: Map<String, Value>,
    ) -> Result<Member, MapError> {
        let kind = geometry["type"].as_str().unwrap_or_default();
        let coordinates = &geometry["coordinates"];
        let parts = |key: &str| {
            geometry[key]
                .as_array()
                .ok_or_else(|| MapError::BadGeometry {
                    kind: kind.to_owned(),
                })
        };
        let members = match kind {
            "Point" => return self.node(id, coordinates, tags),
            "LineString" => return self.way(id, coordinates, tags),
            "Polygon" => {
                let rings = parts("coordinates")?;
                if let [ring] = rings.as_slice() {
                    tags.entry("area").or_insert_with(|| json!("yes"));
                    return self.way(id, ring, tags);
                }
                self.polygons(id, std::slice::from_ref(coordinates))?
            }
            "MultiPolygon" => self.polygons(id, parts("coordinates")?)?,
            "MultiPoint" | "MultiLineString" => self.parts(kind, id, parts("coordinates")?)?,
            "GeometryCollection" => self.parts(kind, id, parts("geometries")?)?,
            other => {
                return Err(MapError::UnknownGeometry {
                    kind: other.to_owned(),
                });
            }
        };
        self.relation(id, kind, members, tags)
    }

    /// The parts of a MultiPoint, MultiLineString or GeometryCollection (`{id}/0`, `{id}/1`...),
    /// as members without a role.
    fn parts(
        &mut self,
        kind: &str,
        id: &str,
        items: &[Value],
    ) -> Result<Vec<(Member, &'static str)>, MapError> {
        let mut members = Vec::new();
        for (k, item) in items.iter().enumerate() {
            let part_id = format!("{id}/{k}");
            let member = match kind {
                "MultiPoint" => self.node(&part_id, item, Map::new())?,
                "MultiLineString" => self.way(&part_id, item, Map::new())?,
                _ => self.geometry(item, &part_id, Map::new())?,
            };
            members.push((member, ""));
        }
        Ok(members)
    }

    /// The relation `id` of geometry type `kind` over `members`, tagged `type` (unless the
    /// properties have one) and `geojson:type`.
    fn relation(
        &mut self,
        id: &str,
        kind: &str,
        members: Vec<(Member, &'static str)>,
        mut tags: Map<String, Value>,
    ) -> Result<Member, MapError> {
        let relation_type = match kind {
            "Polygon" | "MultiPolygon" => "multipolygon",
            _ => "collection",
        };
        tags.entry("type").or_insert_with(|| json!(relation_type));
        tags.insert(GEOJSON_TYPE.into(), json!(kind));
        let members: Vec<Value> = members
            .into_iter()
            .map(|(m, role)| json!({ "type": m.kind, "ref": m.id, "role": role }))
            .collect();
        self.push(json!({ "type": "relation", "id": id, "members": members, "tags": tags }))?;
        Ok(Member {
            kind: "relation",
            id: id.to_owned(),
        })
    }

    /// The ring ways of polygons (each a list of rings, the outer one first), as members with
    /// their roles; ways `{id}/0`, `{id}/1`... numbered across the polygons.
    fn polygons(
        &mut self,
        id: &str,
        polygons: &[Value],
    ) -> Result<Vec<(Member, &'static str)>, MapError> {
        let mut members = Vec::new();
        for polygon in polygons {
            let rings = polygon
                .as_array()
                .filter(|rings| !rings.is_empty())
                .ok_or_else(|| MapError::BadGeometry {
                    kind: "Polygon".into(),
                })?;
            for (k, ring) in rings.iter().enumerate() {
                let way_id = format!("{id}/{}", members.len());
                let role = if k == 0 { "outer" } else { "inner" };
                members.push((self.way(&way_id, ring, Map::new())?, role));
            }
        }
        Ok(members)
    }

    /// A node at `coordinate` (`[lon, lat]` or `[lon, lat, elevation]`).
    fn node(
        &mut self,
        id: &str,
        coordinate: &Value,
        mut tags: Map<String, Value>,
    ) -> Result<Member, MapError> {
        let numbers: Option<Vec<f64>> = coordinate
            .as_array()
            .filter(|c| (2..=3).contains(&c.len()))
            .and_then(|c| c.iter().map(Value::as_f64).collect());
        let numbers = numbers.ok_or(MapError::BadCoordinate)?;
        if let Some(ele) = numbers.get(2) {
            tags.insert("ele".into(), json!(ele));
        }
        let mut node = json!({ "type": "node", "id": id, "lat": numbers[1], "lon": numbers[0] });
        if !tags.is_empty() {
            node["tags"] = Value::Object(tags);
        }
        self.push(node)?;
        Ok(Member {
            kind: "node",
            id: id.to_owned(),
        })
    }

    /// A way through `line`'s positions, over nodes `{id}/0`, `{id}/1`...; a closed line's last
    /// position is its first node again.
    fn way(
        &mut self,
        id: &str,
        line: &Value,
        tags: Map<String, Value>,
    ) -> Result<Member, MapError> {
        let line = line.as_array().ok_or(MapError::BadCoordinate)?;
        let closed = line.len() > 2 && line.first() == line.last();
        let open_part = &line[..line.len() - usize::from(closed)];
        let mut refs = Vec::new();
        for (i, position) in open_part.iter().enumerate() {
            refs.push(self.node(&format!("{id}/{i}"), position, Map::new())?.id);
        }
        if closed {
            refs.push(refs[0].clone());
        }
        self.push(json!({ "type": "way", "id": id, "refs": refs, "tags": tags }))?;
        Ok(Member {
            kind: "way",
            id: id.to_owned(),
        })
    }
}

/// GeoJSON for query results, as the module documentation says; parts missing from `versions`
/// are left out of their geometry.
pub fn to_geojson(versions: &[Version]) -> Value {
    let mut docs: HashMap<&str, &Value> = HashMap::new();
    for doc in versions.iter().filter_map(|v| v.doc.as_ref()) {
        docs.entry(doc["id"].as_str().unwrap_or_default())
            .or_insert(doc);
    }
    let parts: HashSet<&str> = docs.values().flat_map(|d| references(d)).collect();
    let shapes = Shapes { docs: &docs };
    let features: Vec<Value> = versions
        .iter()
        .filter_map(|v| {
            let doc = v.doc.as_ref()?;
            let is_part = parts.contains(doc["id"].as_str()?);
            if is_part && !has_own_tags(doc) {
                return None;
            }
            let geometry = shapes.geometry(doc, 0)?;
            let mut properties = doc["tags"].as_object().cloned().unwrap_or_default();
            properties.remove(GEOJSON_TYPE);
            properties.insert("version".into(), json!(v.hash));
            Some(json!({
                "type": "Feature",
                "id": doc["id"],
                "geometry": geometry,
                "properties": properties,
            }))
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

/// Whether a document has tags beyond [`GEOMETRY_TAGS`].
fn has_own_tags(doc: &Value) -> bool {
    doc["tags"]
        .as_object()
        .is_some_and(|tags| tags.keys().any(|k| !GEOMETRY_TAGS.contains(&k.as_str())))
}

/// Geometries of documents, from the documents at hand.
struct Shapes<'a> {
    docs: &'a HashMap<&'a str, &'a Value>,
}

impl Shapes<'_> {
    fn geometry(&self, doc: &Value, depth: usize) -> Option<Value> {
        match doc["type"].as_str()? {
            "node" => Some(json!({ "type": "Point", "coordinates": position(doc)? })),
            "way" if is_area(doc) => {
                Some(json!({ "type": "Polygon", "coordinates": [self.line(doc)] }))
            }
            "way" => Some(json!({ "type": "LineString", "coordinates": self.line(doc) })),
            "relation" if depth < MAX_RELATION_DEPTH => self.relation(doc, depth),
            _ => None,
        }
    }

    fn relation(&self, doc: &Value, depth: usize) -> Option<Value> {
        let tags = &doc["tags"];
        let members = || self.members(doc);
        let kind = match tags[GEOJSON_TYPE].as_str() {
            Some(kind) => kind,
            None if tags["type"] == "multipolygon" => "MultiPolygon",
            None => "GeometryCollection",
        };
        let geometry = match kind {
            "Polygon" | "MultiPolygon" => {
                let polygons = self.polygons(doc);
                if kind == "Polygon" || (tags[GEOJSON_TYPE].is_null() && polygons.len() == 1) {
                    json!({ "type": "Polygon", "coordinates": polygons.first()? })
                } else {
                    json!({ "type": "MultiPolygon", "coordinates": polygons })
                }
            }
            "MultiPoint" => {
                let points: Vec<Value> = members().filter_map(|(_, m)| position(m)).collect();
                json!({ "type": "MultiPoint", "coordinates": points })
            }
            "MultiLineString" => {
                let lines: Vec<Value> = members().map(|(_, m)| json!(self.line(m))).collect();
                json!({ "type": "MultiLineString", "coordinates": lines })
            }
            _ => {
                let geometries: Vec<Value> = members()
                    .filter_map(|(_, m)| self.geometry(m, depth + 1))
                    .collect();
                json!({ "type": "GeometryCollection", "geometries": geometries })
            }
        };
        Some(geometry)
    }

    /// A relation's members at hand, with their roles.
    fn members<'b>(&'b self, doc: &'b Value) -> impl Iterator<Item = (&'b str, &'b Value)> {
        doc["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let member = *self.docs.get(m["ref"].as_str()?)?;
                Some((m["role"].as_str().unwrap_or_default(), member))
            })
    }

    /// A multipolygon's polygons: each outer ring (or ring without a role) with the inner rings
    /// that follow it.
    fn polygons(&self, doc: &Value) -> Vec<Vec<Vec<Value>>> {
        let mut polygons: Vec<Vec<Vec<Value>>> = Vec::new();
        for (role, way) in self.members(doc).filter(|(_, m)| m["type"] == "way") {
            match polygons.last_mut() {
                Some(polygon) if role == "inner" => polygon.push(self.line(way)),
                _ => polygons.push(vec![self.line(way)]),
            }
        }
        polygons
    }

    /// A way's positions, from its nodes at hand.
    fn line(&self, way: &Value) -> Vec<Value> {
        references(way)
            .filter_map(|id| position(self.docs.get(id)?))
            .collect()
    }
}

/// A closed way tagged `area=yes`.
fn is_area(way: &Value) -> bool {
    let refs = way["refs"].as_array();
    let closed = refs.is_some_and(|r| r.len() > 3 && r.first() == r.last());
    closed && way["tags"]["area"] == "yes"
}

/// A node's `[lon, lat]`, or `[lon, lat, ele]` when its `ele` tag is a number.
fn position(node: &Value) -> Option<Value> {
    let (lon, lat) = (node["lon"].as_f64()?, node["lat"].as_f64()?);
    Some(match node["tags"]["ele"].as_f64() {
        Some(ele) => json!([lon, lat, ele]),
        None => json!([lon, lat]),
    })
}
