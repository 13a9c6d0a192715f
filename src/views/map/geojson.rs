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
    /// The `index`th feature, as a skipped one.
    pub fn of(index: usize, feature: &Value) -> Self {
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
        if !docs.feature_at(index, feature)? {
            skipped.push(SkippedFeature::of(index, feature));
        }
    }
    Ok(Imported {
        docs: docs.docs,
        skipped,
    })
}

/// The documents of one feature (the `index`th of its file), normalized, each id once; `None`
/// when its geometry is null (it is skipped, see [`SkippedFeature`]).
pub fn feature_docs(index: usize, feature: &Value) -> Result<Option<Vec<Value>>, MapError> {
    let mut docs = Docs::default();
    Ok(docs.feature_at(index, feature)?.then_some(docs.docs))
}

/// Calls `each` with every feature of GeoJSON text, in order, with its index, as it is parsed:
/// a FeatureCollection (its features one by one: the array is never held whole), a single
/// Feature, or a sequence of Features (newline-delimited GeoJSON, RFC 8142's record separators
/// allowed). Memory holds one feature at a time.
pub fn read_features(
    input: impl std::io::Read,
    mut each: impl FnMut(usize, Value) -> Result<(), MapError>,
) -> Result<(), MapError> {
    let json = |e: serde_json::Error| MapError::Json(e.to_string());
    let reader = std::io::BufReader::new(WithoutRecordSeparators(input));
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let mut count = 0;
    let mut stopped = None;
    let mut next = |feature| {
        each(count, feature)?;
        count += 1;
        Ok(())
    };
    let top = TopLevel {
        each: &mut next,
        stopped: &mut stopped,
    };
    let outcome = serde::de::DeserializeSeed::deserialize(top, &mut deserializer);
    if let Some(stopped) = stopped {
        return Err(stopped);
    }
    let (mut rest, saw_features) = outcome.map_err(json)?;
    match rest.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") if saw_features => {}
        Some("FeatureCollection") => return Err(MapError::MissingFeatures),
        Some("Feature") => next(Value::Object(std::mem::take(&mut rest)))?,
        _ => return Err(MapError::NotGeoJson),
    }
    for feature in deserializer.into_iter::<Value>() {
        let feature = feature.map_err(json)?;
        if feature["type"] != "Feature" {
            return Err(MapError::NotGeoJson);
        }
        next(feature)?;
    }
    Ok(())
}

/// A reader that turns RFC 8142's record separators (0x1E) into spaces, so a GeoJSON text
/// sequence reads as a stream of JSON values.
struct WithoutRecordSeparators<R>(R);

impl<R: std::io::Read> std::io::Read for WithoutRecordSeparators<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        for byte in &mut buf[..n] {
            if *byte == 0x1e {
                *byte = b' ';
            }
        }
        Ok(n)
    }
}

type EachFeature<'a> = &'a mut dyn FnMut(Value) -> Result<(), MapError>;

/// The first JSON value of a GeoJSON text: an object whose `features` are handed to `each` one
/// by one as they are parsed; its other members are kept (they are small: `type`, `name`, or a
/// single Feature's `geometry` and `properties`). Yields (other members, whether `features`
/// was there).
struct TopLevel<'a, 'b> {
    each: EachFeature<'a>,
    stopped: &'b mut Option<MapError>,
}

impl<'de> serde::de::DeserializeSeed<'de> for TopLevel<'_, '_> {
    type Value = (Map<String, Value>, bool);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TopLevel<'_, '_> {
    type Value = (Map<String, Value>, bool);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a GeoJSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut rest = Map::new();
        let mut saw_features = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "features" && !saw_features {
                map.next_value_seed(Features {
                    each: &mut *self.each,
                    stopped: &mut *self.stopped,
                })?;
                saw_features = true;
            } else {
                rest.insert(key, map.next_value()?);
            }
        }
        Ok((rest, saw_features))
    }
}

/// A FeatureCollection's `features`, each handed on as soon as it is parsed.
struct Features<'a, 'b> {
    each: EachFeature<'a>,
    stopped: &'b mut Option<MapError>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Features<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Features<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of features")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(feature) = seq.next_element::<Value>()? {
            if let Err(stop) = (self.each)(feature) {
                *self.stopped = Some(stop);
                return Err(serde::de::Error::custom("stopped by a feature"));
            }
        }
        Ok(())
    }
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
    /// Adds the documents of the `index`th feature; false when its geometry is null (nothing
    /// added). An unacceptable feature is refused, named.
    fn feature_at(&mut self, index: usize, feature: &Value) -> Result<bool, MapError> {
        if feature["geometry"].is_null() {
            return Ok(false);
        }
        self.feature(feature).map_err(|reason| MapError::Feature {
            index,
            label: SkippedFeature::of(index, feature).label(),
            reason: Box::new(reason),
        })?;
        Ok(true)
    }

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
            let mut properties = properties(doc);
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

/// The GeoJSON geometry of `doc` (a node, way or relation) built from the documents in `docs`
/// (by id: the way's nodes, the relation's members), as [`to_geojson`] builds it; `None` when
/// it has none (a relation of nothing found).
pub fn geometry(doc: &Value, docs: &HashMap<&str, &Value>) -> Option<Value> {
    Shapes { docs }.geometry(doc, 0)
}

/// The tags of `doc` as a feature's properties: without mule's own geometry tags
/// ([`GEOJSON_TYPE`]).
pub fn properties(doc: &Value) -> Map<String, Value> {
    let mut properties = doc["tags"].as_object().cloned().unwrap_or_default();
    properties.remove(GEOJSON_TYPE);
    properties
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The features `read_features` hands on, as (index, id).
    fn read(text: &str) -> Result<Vec<(usize, String)>, MapError> {
        let mut seen = Vec::new();
        read_features(text.as_bytes(), |index, feature| {
            seen.push((index, feature["id"].as_str().unwrap_or("-").to_owned()));
            Ok(())
        })?;
        Ok(seen)
    }

    const A: &str = r#"{"type":"Feature","id":"a","geometry":null,"properties":{}}"#;
    const B: &str = r#"{"type":"Feature","id":"b","geometry":null,"properties":{}}"#;

    #[test]
    fn every_form_of_geojson_streams_its_features_in_order() {
        let expected = vec![(0, "a".to_owned()), (1, "b".to_owned())];
        let collection = format!(r#"{{"type":"FeatureCollection","features":[{A},{B}]}}"#);
        assert_eq!(read(&collection).unwrap(), expected);
        // `type` after the features, and other members, are fine.
        let late = format!(r#"{{"name":"wells","features":[{A},{B}],"type":"FeatureCollection"}}"#);
        assert_eq!(read(&late).unwrap(), expected);
        assert_eq!(read(&format!("{A}\n{B}\n")).unwrap(), expected);
        assert_eq!(read(&format!("\u{1e}{A}\n\u{1e}{B}\n")).unwrap(), expected);
        assert_eq!(read(A).unwrap(), vec![(0, "a".to_owned())]);
    }

    #[test]
    fn what_is_not_geojson_is_refused_by_name() {
        assert_eq!(read(r#"{"type":"Point"}"#), Err(MapError::NotGeoJson));
        assert_eq!(
            read(r#"{"type":"FeatureCollection"}"#),
            Err(MapError::MissingFeatures)
        );
        assert_eq!(
            read(&format!("{A}\n{{\"type\":\"Point\"}}")),
            Err(MapError::NotGeoJson)
        );
        let cut = format!(r#"{{"type":"FeatureCollection","features":[{A},"#);
        assert!(
            matches!(read(&cut), Err(MapError::Json(_))),
            "{:?}",
            read(&cut)
        );
        assert!(matches!(read("[1, 2]"), Err(MapError::Json(_))));
    }

    #[test]
    fn a_refused_feature_stops_the_reading_there() {
        let collection = format!(r#"{{"type":"FeatureCollection","features":[{A},{B},{A}]}}"#);
        let mut seen = 0;
        let stopped = read_features(collection.as_bytes(), |index, _| {
            seen += 1;
            if index == 1 {
                Err(MapError::MissingId)
            } else {
                Ok(())
            }
        });
        assert_eq!((stopped, seen), (Err(MapError::MissingId), 2));
    }
}
