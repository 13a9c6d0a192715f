// The map page: the map view's nodes, ways and relations over the store's basemap (raster tiles
// the local server reads out of a PMTiles blob) or, without one, a plain background, both with a
// graticule (nothing loads from other hosts), a text list of what is visible, and
// a panel to read, add, edit, delete and resolve forks of points. The server answers each view
// of the map with its documents, or with clusters when the box holds too many nodes.
"use strict";

/** Where the last view is remembered between visits. */
const MAP_VIEW_KEY = "mule.map.view";
/** Photos are sent as JPEG of at most this many pixels on the long side... */
const MAP_PHOTO_MAX_SIDE = 1600;
/** ...and at most this many bytes (the server takes request bodies of at most 1 MiB). */
const MAP_PHOTO_MAX_BYTES = 1000 * 1000;
/** JPEG qualities tried in turn until the photo fits. */
const MAP_PHOTO_QUALITIES = [0.85, 0.75, 0.65, 0.55, 0.45, 0.35];

/** The page's state while it shows: the Leaflet map, its layers, what is selected. */
const mapState = { map: null, features: null, draft: null, selected: null, editing: false, loads: 0, placing: false };

// The rest is in a block of its own: pages share one global scope, where a top-level name
// such as `history` or `name` would replace the window's, and two pages' `const`s would clash.
{
  async function renderMap(page) {
    const canvas = el("div", { id: "map-canvas", class: "map-canvas", role: "region", "aria-label": t("mapLabel") });
    const panel = el("section", { id: "map-panel", class: "map-panel", "aria-live": "polite" });
    const list = el("ul", { id: "map-list", class: "map-list" });
    const side = el("aside", { class: "map-side" }, panel, el("h2", {}, t("mapVisible")), list);
    const tools = el("div", { class: "map-tools" },
      el("button", { type: "button", id: "map-add-here", onclick: startPlacing }, t("mapAddHere")),
      el("button", { type: "button", id: "map-add-mine", onclick: addAtMyPosition }, t("mapAddMine")));
    const message = el("p", { id: "map-message", class: "map-status map-message", role: "alert" });
    const status = el("p", { id: "map-status", class: "map-status", role: "status" });
    const credit = el("p", { id: "map-basemap", class: "map-status map-basemap" });
    page.replaceChildren(el("div", { class: "map-page" },
      el("h1", {}, t("mapTitle")), tools, message, status, el("div", { class: "map-layout" }, canvas, side), credit));
    mapState.map?.remove(); // the map of an earlier visit to the page, no longer shown
    const map = L.map(canvas, { preferCanvas: true, worldCopyJump: true, minZoom: 1, maxZoom: 22,
      attributionControl: false, zoomSnap: 1 });
    mapState.map = map;
    mapState.features = L.layerGroup().addTo(map);
    mapState.draft = L.layerGroup().addTo(map);
    mapState.selected = null;
    mapState.editing = false;
    mapState.placing = false;
    new Graticule({ tileSize: 256, zIndex: 2 }).addTo(map);
    showBasemap(map, credit);
    const labels = el("div", { class: "map-graticule", "aria-hidden": "true" });
    map.getContainer().append(labels);
    map.on("move zoomend resize", () => labelGraticule(map, labels));
    map.on("moveend", () => { rememberView(map); loadFeatures(); });
    map.on("click", (event) => placeAt(event.latlng));
    onStoreChange(() => {
      loadFeatures();
      if (mapState.selected && !mapState.editing) showFeature(mapState.selected);
    });
    await openView(map);
  }

  // ---- the background: the basemap, if the store carries one, and a graticule per tile ----
  /** Shows the store's basemap under the data (tiles from the local server) and its credit. */
  async function showBasemap(map, credit) {
    let basemap;
    try {
      basemap = await api("GET", "/api/map/basemap");
    } catch (error) {
      credit.textContent = t("mapBasemapFailed", { reason: error.message });
      return;
    }
    if (!basemap) return;
    if (!basemap.raster) {
      credit.textContent = t("mapBasemapNotRaster", { name: basemap.name });
      return;
    }
    const [west, south, east, north] = basemap.bounds;
    L.tileLayer("/api/map/tiles/{z}/{x}/{y}", {
      zIndex: 1, minNativeZoom: basemap.min_zoom, maxNativeZoom: basemap.max_zoom,
      bounds: [[south, west], [north, east]], noWrap: true,
    }).addTo(map);
    credit.textContent = basemap.attribution
      ? t("mapBasemapCredit", { name: basemap.name, attribution: basemap.attribution })
      : t("mapBasemapName", { name: basemap.name });
  }


  /** Degrees between graticule lines at `zoom`: a round number, about 150 px apart. */
  function graticuleStep(zoom) {
    const wanted = 150 * 360 / (256 * 2 ** zoom);
    const steps = [30, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001];
    return steps.find((step) => step <= wanted) ?? steps[steps.length - 1];
  }

  /** A longitude folded into -180..180. */
  const wrapLon = (lon) => ((((lon + 180) % 360) + 360) % 360) - 180;

  /** `value` in degrees as the graticule labels it, to the step's digits, with its hemisphere. */
  function degrees(value, step, positive, negative) {
    const digits = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
    const rounded = Number(value.toFixed(digits));
    if (rounded === 0) return "0°";
    return `${Math.abs(rounded)}°${rounded > 0 ? positive : negative}`;
  }

  /** The graticule's lines, drawn tile by tile (its labels are `labelGraticule`'s). */
  const Graticule = L.GridLayer.extend({
    createTile(coords) {
      const size = this.getTileSize();
      const tile = document.createElement("canvas");
      tile.width = size.x;
      tile.height = size.y;
      const map = this._map;
      const origin = coords.scaleBy(size);
      const northWest = map.unproject(origin, coords.z);
      const southEast = map.unproject(origin.add(size), coords.z);
      const step = graticuleStep(coords.z);
      const context = tile.getContext("2d");
      context.strokeStyle = "#c3ced8";
      context.beginPath();
      for (let lon = Math.ceil(northWest.lng / step) * step; lon <= southEast.lng; lon += step) {
        const x = Math.round(map.project([0, lon], coords.z).x - origin.x) + 0.5;
        context.moveTo(x, 0);
        context.lineTo(x, size.y);
      }
      for (let lat = Math.ceil(southEast.lat / step) * step; lat <= northWest.lat; lat += step) {
        const y = Math.round(map.project([lat, 0], coords.z).y - origin.y) + 0.5;
        context.moveTo(0, y);
        context.lineTo(size.x, y);
      }
      context.stroke();
      return tile;
    },
  });

  /** Labels the graticule's lines once, along the map's top and left edges, in `box`. */
  function labelGraticule(map, box) {
    const bounds = map.getBounds();
    const step = graticuleStep(map.getZoom());
    const labels = [];
    for (let lon = Math.ceil(bounds.getWest() / step) * step; lon <= bounds.getEast(); lon += step) {
      const x = map.latLngToContainerPoint([bounds.getNorth(), lon]).x;
      labels.push(graticuleLabel(degrees(wrapLon(lon), step, "E", "W"), x + 3, 2));
    }
    for (let lat = Math.ceil(bounds.getSouth() / step) * step; lat <= bounds.getNorth(); lat += step) {
      const y = map.latLngToContainerPoint([lat, bounds.getWest()]).y;
      if (y > 20) labels.push(graticuleLabel(degrees(lat, step, "N", "S"), 3, y - 16));
    }
    box.replaceChildren(...labels);
  }

  function graticuleLabel(text, x, y) {
    const label = el("span", {}, text);
    label.style.left = `${Math.round(x)}px`;
    label.style.top = `${Math.round(y)}px`;
    return label;
  }

  // ---- the view: opened on the data, then remembered ----

  async function openView(map) {
    const remembered = readRememberedView();
    if (remembered) {
      map.setView([remembered.lat, remembered.lon], remembered.zoom);
      return;
    }
    const { extent } = await api("GET", "/api/map/extent");
    if (!extent) map.setView([0, 0], 2);
    else if (extent.south === extent.north && extent.west === extent.east) map.setView([extent.south, extent.west], 15);
    else map.fitBounds([[extent.south, extent.west], [extent.north, extent.east]], { padding: [24, 24] });
  }

  function readRememberedView() {
    try {
      const view = JSON.parse(localStorage.getItem(MAP_VIEW_KEY));
      const ok = view && [view.lat, view.lon, view.zoom].every(Number.isFinite);
      return ok ? view : null;
    } catch {
      return null;
    }
  }

  function rememberView(map) {
    const center = map.getCenter();
    const view = { lat: center.lat, lon: wrapLon(center.lng), zoom: map.getZoom() };
    try { localStorage.setItem(MAP_VIEW_KEY, JSON.stringify(view)); } catch { /* private mode: not remembered */ }
  }

  /** The visible box as the server reads it: west,south,east,north in range (west > east across the antimeridian). */
  function visibleBox(map) {
    const bounds = map.getBounds();
    const clamp = (lat) => Math.max(-90, Math.min(90, lat));
    const width = bounds.getEast() - bounds.getWest();
    let west = -180, east = 180;
    if (width < 360) {
      west = wrapLon(bounds.getWest());
      east = west + width;
      if (east > 180) east -= 360;
    }
    return [west, clamp(bounds.getSouth()), east, clamp(bounds.getNorth())].map((n) => n.toFixed(6)).join(",");
  }

  // ---- what the box shows ----

  async function loadFeatures() {
    const map = mapState.map;
    if (!map || !document.getElementById("map-canvas")) return;
    const load = ++mapState.loads;
    let answer;
    try {
      answer = await api("GET", `/api/map?bbox=${visibleBox(map)}&zoom=${Math.round(map.getZoom())}`);
    } catch (error) {
      setStatus(t("failed") + " " + error.message, true);
      return;
    }
    if (load !== mapState.loads) return; // a later view's answer is on its way
    mapState.features.clearLayers();
    const items = answer.kind === "clusters" ? drawClusters(answer.clusters) : drawDocuments(answer.documents);
    document.getElementById("map-list").replaceChildren(...items);
    let note = answer.kind === "clusters" ? t("mapClustered", { nodes: answer.nodes }) : "";
    if (answer.truncated) note += " " + t("mapTruncated", { limit: answer.limit });
    if (!items.length) note = t("mapNothingHere");
    setStatus(note.trim(), false);
  }

  /** Says what the visible box shows (replaced by each answer). */
  function setStatus(text, isError) {
    showLine("map-status", text, isError);
  }

  /** Says how an action of the person's goes (kept until the next action). */
  function setMessage(text, isError) {
    showLine("map-message", text, isError);
  }

  function showLine(id, text, isError) {
    const line = document.getElementById(id);
    if (!line) return;
    line.textContent = text;
    line.classList.toggle("error", isError);
  }

  /** Draws clusters; returns their list items. */
  function drawClusters(clusters) {
    return clusters.map((cluster) => {
      const zoomIn = () => zoomToCluster(cluster);
      const radius = 9 + 4 * Math.log10(cluster.count);
      L.circleMarker([cluster.lat, cluster.lon], { radius, color: "#0b5394", weight: 2, fillColor: "#0b5394", fillOpacity: 0.55 })
        .bindTooltip(String(cluster.count), { permanent: true, direction: "center", className: "map-count" })
        .on("click", zoomIn)
        .addTo(mapState.features);
      const label = t("mapCluster", { count: cluster.count, position: position(cluster.lat, cluster.lon) });
      return el("li", {}, el("button", { type: "button", class: "map-item", onclick: zoomIn }, label));
    });
  }

  function zoomToCluster(cluster) {
    const map = mapState.map;
    const bounds = L.latLngBounds([cluster.south, cluster.west], [cluster.north, cluster.east]);
    if (bounds.getNorth() === bounds.getSouth() && bounds.getEast() === bounds.getWest()) {
      map.setView(bounds.getCenter(), Math.min(map.getZoom() + 3, map.getMaxZoom()));
    } else {
      map.fitBounds(bounds, { padding: [24, 24] });
    }
  }

  /** Draws the documents (ways from their nodes, then nodes); returns list items, by name. */
  function drawDocuments(documents) {
    const nodes = new Map(documents.filter((d) => d.type === "node").map((d) => [d.id, d]));
    const inWays = new Set();
    const items = [];
    for (const doc of documents) {
      if (doc.type !== "way") continue;
      const points = doc.refs.map((ref) => nodes.get(ref)).filter(Boolean);
      doc.refs.forEach((ref) => inWays.add(ref));
      const latLngs = points.map((n) => [n.lat, n.lon]);
      const closed = doc.refs.length > 3 && doc.refs[0] === doc.refs[doc.refs.length - 1];
      const style = { color: doc.forked ? "#a33" : "#0b5394", weight: 3, fillOpacity: 0.15 };
      (closed ? L.polygon(latLngs, style) : L.polyline(latLngs, style))
        .on("click", (event) => { L.DomEvent.stopPropagation(event); selectFeature(doc.id); })
        .addTo(mapState.features);
      const first = points[0];
      items.push(listItem(doc, first ? position(first.lat, first.lon) : ""));
    }
    for (const doc of nodes.values()) {
      const tagged = Object.keys(doc.tags ?? {}).length > 0;
      if (inWays.has(doc.id) && !tagged) continue; // a way's corner, drawn as the way
      L.circleMarker([doc.lat, doc.lon], {
        radius: 7, weight: 2, color: "#fff", fillColor: doc.forked ? "#a33" : "#0b5394", fillOpacity: 1,
      })
        .on("click", (event) => { L.DomEvent.stopPropagation(event); selectFeature(doc.id); })
        .addTo(mapState.features);
      items.push(listItem(doc, position(doc.lat, doc.lon)));
    }
    for (const doc of documents.filter((d) => d.type === "relation")) items.push(listItem(doc, ""));
    return items.sort((a, b) => a.textContent.localeCompare(b.textContent));
  }

  function listItem(doc, where) {
    const kind = t(doc.type === "way" ? "mapWay" : doc.type === "relation" ? "mapRelation" : "mapPoint");
    const parts = [featureName(doc), kind, where, doc.forked ? t("mapForkedShort") : ""].filter(Boolean);
    return el("li", {}, el("button", {
      type: "button", class: "map-item", "data-id": doc.id, onclick: () => selectFeature(doc.id),
    }, parts.join(" · ")));
  }

  /** What a document is called: its name tag, else its first tag, else its id. */
  function featureName(doc) {
    const tags = doc.tags ?? {};
    if (tags.name) return tags.name;
    const first = Object.entries(tags).find(([, value]) => !String(value).startsWith("blob:"));
    return first ? `${first[0]}=${first[1]}` : doc.id;
  }

  const position = (lat, lon) => `${lat.toFixed(5)}, ${lon.toFixed(5)}`;

  // ---- one feature: tags, photos, history, forks ----

  async function selectFeature(id) {
    mapState.selected = id;
    mapState.editing = false;
    await showFeature(id);
  }

  async function showFeature(id) {
    const panel = document.getElementById("map-panel");
    if (!panel) return;
    let details;
    try {
      details = await api("GET", `/api/map/doc/${encodeURIComponent(id)}`);
    } catch (error) {
      panel.replaceChildren(el("p", { class: "error" }, t("failed") + " " + error.message));
      return;
    }
    if (mapState.selected !== id || mapState.editing) return;
    const shown = details.shown;
    const parts = [el("h2", {}, shown ? featureName(shown) : t("mapDeleted", { id }))];
    if (shown) {
      parts.push(tagList(shown), ...details.photos.map(photo));
      parts.push(el("div", {},
        el("button", { type: "button", onclick: () => editFeature(shown) }, t("edit")),
        el("button", { type: "button", onclick: () => deleteFeature(id) }, t("remove")),
        el("button", { type: "button", onclick: closePanel }, t("mapClose"))));
    }
    if (details.heads.length > 1) parts.push(forks(details));
    if (details.history.length) parts.push(historyList(details.history));
    panel.replaceChildren(...parts);
  }

  function closePanel() {
    mapState.selected = null;
    mapState.editing = false;
    mapState.draft.clearLayers();
    document.getElementById("map-panel").replaceChildren();
  }

  /** A document's tags (photos left to `photo`) and its position, as a definition list. */
  function tagList(doc) {
    const list = el("dl", { class: "map-tags" });
    for (const [key, value] of Object.entries(doc.tags ?? {})) {
      if (String(value).startsWith("blob:")) continue;
      list.append(el("dt", {}, key), el("dd", {}, String(value)));
    }
    if (doc.type === "node") list.append(el("dt", {}, t("mapPosition")), el("dd", {}, position(doc.lat, doc.lon)));
    if (!list.children.length) list.append(el("dt", {}, t("mapNoTags")));
    return list;
  }

  function photo(found) {
    return el("figure", { class: "map-photo" },
      el("img", { src: `/api/map/blob/${found.hash}`, alt: t("mapPhotoAlt", { tag: found.tag }) }),
      el("figcaption", {}, found.tag));
  }

  const when = (timestamp) => new Date(timestamp).toLocaleString();

  /** The concurrent versions, each with a way to keep it, and a way to merge them. */
  function forks(details) {
    const box = el("div", { class: "map-forks" }, el("p", { class: "conflict" }, t("mapForked", { count: details.heads.length })));
    for (const head of details.heads) {
      const keep = () => head.deleted ? deleteFeature(details.id) : writeFeature(details.id, head);
      box.append(el("div", { class: "value" },
        el("p", { class: "hash" }, when(head.timestamp)),
        head.deleted ? el("p", {}, t("mapDeletedVersion")) : tagList(head),
        el("button", { type: "button", class: "map-keep", onclick: keep }, t(head.deleted ? "mapKeepDeleted" : "mapKeep"))));
    }
    const versions = details.heads.filter((head) => !head.deleted);
    if (versions.length > 1) {
      box.append(el("button", { type: "button", class: "map-merge", onclick: () => editFeature(merged(versions)) }, t("mapMerge")));
    }
    return box;
  }

  /** The versions' tags put together (the newest version's value where they differ). */
  function merged(versions) {
    const tags = {};
    for (const version of [...versions].reverse()) Object.assign(tags, version.tags ?? {});
    return { ...versions[0], tags };
  }

  function historyList(versions) {
    const items = versions.map((version) => {
      const what = version.deleted ? t("mapDeletedVersion") : Object.entries(version.tags ?? {}).map(([k, v]) => `${k}=${v}`).join(", ");
      return el("li", {}, `${when(version.timestamp)}: ${what || t("mapNoTags")}`);
    });
    return el("details", { class: "map-history" }, el("summary", {}, t("mapHistory", { count: versions.length })), el("ul", {}, ...items));
  }

  // ---- adding, editing, deleting ----

  function startPlacing() {
    mapState.placing = true;
    setMessage(t("mapClickToPlace"), false);
  }

  function placeAt(latlng) {
    if (!mapState.placing) return;
    mapState.placing = false;
    setMessage("", false);
    const lon = wrapLon(latlng.lng);
    editFeature({ type: "node", lat: latlng.lat, lon, tags: {} });
  }

  function addAtMyPosition() {
    if (!navigator.geolocation) {
      setMessage(t("mapNoGeolocation"), true);
      return;
    }
    setMessage(t("mapLocating"), false);
    navigator.geolocation.getCurrentPosition((found) => {
      const { latitude: lat, longitude: lon } = found.coords;
      setMessage("", false);
      mapState.map.setView([lat, lon], Math.max(mapState.map.getZoom(), 16));
      editFeature({ type: "node", lat, lon, tags: {} });
    }, (error) => {
      setMessage(error.code === error.PERMISSION_DENIED ? t("mapPositionRefused") : t("mapNoPosition", { reason: error.message }), true);
    }, { enableHighAccuracy: true, timeout: 20000 });
  }

  /** The editor for a new point (`doc` without id) or a new version of `doc`. */
  function editFeature(doc) {
    mapState.editing = true;
    mapState.draft.clearLayers();
    if (doc.type === "node") L.circleMarker([doc.lat, doc.lon], { radius: 9, color: "#a33", weight: 3, fillOpacity: 0 }).addTo(mapState.draft);
    const rows = el("div", { class: "map-rows" });
    const addRow = (key = "", value = "") => rows.append(tagRow(key, value));
    for (const [key, value] of Object.entries(doc.tags ?? {})) addRow(key, String(value));
    if (!doc.id) addRow();
    const file = el("input", { type: "file", accept: "image/*", capture: "environment", id: "map-photo-input" });
    const problem = el("p", { class: "error", role: "alert" });
    const form = el("form", { class: "editor map-editor", onsubmit: (event) => {
      event.preventDefault();
      saveEdit(doc, rows, file, problem);
    } },
    el("h2", {}, t(doc.id ? "mapEditTitle" : "mapNewTitle")),
    doc.type === "node" ? el("p", {}, t("mapAt", { position: position(doc.lat, doc.lon) })) : "",
    el("p", { class: "map-hint" }, t("mapTagsHint")),
    rows,
    el("button", { type: "button", onclick: () => addRow() }, t("mapAddTag")),
    el("label", {}, t("mapPhoto"), file),
    problem,
    el("div", {},
      el("button", { type: "submit", class: "primary" }, t("save")),
      el("button", { type: "button", onclick: () => doc.id ? selectFeature(doc.id) : closePanel() }, t("cancel"))));
    document.getElementById("map-panel").replaceChildren(form);
    form.querySelector("input")?.focus();
  }

  function tagRow(key, value) {
    const row = el("div", { class: "map-row" },
      el("input", { class: "map-key", "aria-label": t("mapKey"), placeholder: t("mapKey"), value: key }),
      el("input", { class: "map-value", "aria-label": t("mapValue"), placeholder: t("mapValue"), value }));
    row.append(el("button", { type: "button", "aria-label": t("mapRemoveTag"), onclick: () => row.remove() }, "×"));
    return row;
  }

  async function saveEdit(doc, rows, file, problem) {
    const tags = {};
    for (const row of rows.querySelectorAll(".map-row")) {
      const key = row.querySelector(".map-key").value.trim();
      if (key) tags[key] = row.querySelector(".map-value").value;
    }
    try {
      if (file.files.length) tags[photoTag(tags)] = "blob:" + (await uploadPhoto(file.files[0]));
      if (doc.id) {
        await writeFeature(doc.id, { ...doc, tags });
      } else {
        const written = await api("POST", "/api/map", { lat: doc.lat, lon: doc.lon, tags });
        mapState.draft.clearLayers();
        await selectFeature(written.id);
      }
    } catch (error) {
      problem.textContent = t("failed") + " " + error.message;
    }
  }

  /** `photo`, or `photo_2`, ... when the document has a photo already. */
  function photoTag(tags) {
    let tag = "photo";
    for (let n = 2; tag in tags; n++) tag = `photo_${n}`;
    return tag;
  }

  /** Writes `doc` as the new version of `id`: it links every current version (resolving a fork). */
  async function writeFeature(id, doc) {
    const { version, forked, timestamp, deleted, ...fields } = doc;
    await api("PUT", `/api/map/doc/${encodeURIComponent(id)}`, fields);
    mapState.draft.clearLayers();
    await selectFeature(id);
  }

  async function deleteFeature(id) {
    if (!confirm(t("mapConfirmDelete"))) return;
    try {
      await api("DELETE", `/api/map/doc/${encodeURIComponent(id)}`);
      closePanel();
    } catch (error) {
      setMessage(t("failed") + " " + error.message, true);
    }
  }

  /**
   * Sends a photo; returns its blob hash. The server reads request bodies of at most 1 MiB
   * (http.rs, MAX_BODY) and a phone camera's photo is 3-12 MB, so the photo is downscaled here, in
   * the browser, before it leaves: at most MAP_PHOTO_MAX_SIDE px on its long side, as JPEG, trying
   * lower qualities until it fits in MAP_PHOTO_MAX_BYTES, and smaller sizes after that. Raising the
   * server's limit instead would let any page hold 12 MB per connection in memory, and a field
   * photo at 1600 px shows a well or a sign well enough; the original stays on the phone.
   */
  async function uploadPhoto(file) {
    const jpeg = await downscale(file);
    const response = await fetch("/api/map/photo?name=photo.jpg", {
      method: "POST", headers: { "Content-Type": "image/jpeg" }, body: jpeg,
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error);
    return answer.hash;
  }

  async function downscale(file) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      throw new Error(t("mapNotAnImage"));
    }
    let scale = Math.min(1, MAP_PHOTO_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    for (;;) {
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      for (const quality of MAP_PHOTO_QUALITIES) {
        const jpeg = await new Promise((done) => canvas.toBlob(done, "image/jpeg", quality));
        if (jpeg && jpeg.size <= MAP_PHOTO_MAX_BYTES) return jpeg;
      }
      if (canvas.width < 64) throw new Error(t("mapPhotoTooLarge"));
      scale *= 0.75;
    }
  }

  definePage("/map", renderMap);
}
