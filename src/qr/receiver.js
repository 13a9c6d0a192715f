// The phone page (`mule qr receiver --html`): scans a mule QR stream with the camera, keeps the
// rebuilt bundles in the browser's storage, saves them as files and plays them again as QR
// streams. Everything that reads or writes frames is mule's own Rust (crates/mule-receiver,
// over crates/mule-qr) compiled to WebAssembly and carried inside this page.
"use strict";

const $ = (id) => document.getElementById(id);

// --- WebAssembly: the bindings are imported from a blob, the module is gunzipped in place ----

async function loadWasm() {
  const source = $("bindings").textContent;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const bindings = await import(url);
  URL.revokeObjectURL(url);
  const zipped = Uint8Array.from(atob($("wasm").textContent.trim()), (c) => c.charCodeAt(0));
  const stream = new Blob([zipped]).stream().pipeThrough(new DecompressionStream("gzip"));
  await bindings.default({ module_or_path: await new Response(stream).arrayBuffer() });
  return bindings;
}

// --- Storage: IndexedDB, or memory where the browser gives none (then say so) ---------------

const DB = "mule-receiver", STORE = "bundles";

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function openStorage() {
  try {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "id" });
    const db = await request(open);
    const tx = (mode) => db.transaction(STORE, mode).objectStore(STORE);
    navigator.storage?.persist?.();
    return {
      kept: true,
      all: () => request(tx("readonly").getAll()),
      put: (item) => request(tx("readwrite").put(item)),
      remove: (id) => request(tx("readwrite").delete(id)),
    };
  } catch (error) {
    const held = new Map();
    return {
      kept: false,
      all: async () => [...held.values()],
      put: async (item) => { held.set(item.id, item); },
      remove: async (id) => { held.delete(id); },
    };
  }
}

// --- Words ---------------------------------------------------------------------------------

function size(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function progressLine(s) {
  const streams = s.streams === 1 ? "1 stream" : `${s.streams} streams`;
  const rate = `${(s.bytes_per_second / 1024).toFixed(1)} KB/s`;
  return `frames ${s.received} of ~${s.needed}, ${streams} seen, ${s.complete} complete, ${rate}`;
}

function whoSent(item) {
  if (item.sealed) return "sealed for a project: the phone carries it unread; a project member's computer opens it";
  if (item.sender) {
    const entries = item.entries === 1 ? "1 entry" : `${item.entries} entries`;
    return `from device ${item.sender.slice(0, 8)}, ${entries}, written ${new Date(item.created).toLocaleString()}`;
  }
  return `sender not shown: ${item.unverified}`;
}

// --- The list of bundles held ---------------------------------------------------------------

let storage, wasm;

async function showBundles() {
  const kept = await storage.all();
  const items = [...kept.filter((k) => !unkept.has(k.id)), ...unkept.values()]
    .sort((a, b) => b.received - a.received);
  $("empty").hidden = items.length > 0;
  $("bundles").replaceChildren(...items.map(bundleRow));
  $("storage").textContent = !storage.kept
    ? "This browser gives the page no storage: bundles are held only while it stays open. Save each one."
    : unkept.size
      ? "The browser's storage is full: bundles marked in red are held only while the page stays open."
      : "Bundles stay in this browser until you delete them.";
}

function bundleRow(item) {
  const li = document.createElement("li");
  li.dataset.id = item.id;
  const what = document.createElement("div");
  what.className = "what";
  what.textContent = `${item.id.slice(0, 8)}.mule · ${size(item.size)}`;
  const who = document.createElement("div");
  who.className = "note";
  who.textContent = whoSent(item);
  if (item.unkept) {
    who.textContent += ". The browser's storage refused it (full?): Save it now, or it is gone when the page closes.";
    who.className = "error";
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  const button = (label, action, main) => {
    const b = document.createElement("button");
    b.textContent = label;
    if (main) b.className = "main";
    b.addEventListener("click", action);
    return b;
  };
  actions.append(
    button("Play", () => play(item), true),
    button("Save", () => save(item)),
    button("Delete", async (e) => {
      if (e.target.dataset.sure !== "1") {
        e.target.dataset.sure = "1";
        e.target.textContent = "Delete: are you sure?";
        return;
      }
      unkept.delete(item.id);
      await storage.remove(item.id);
      await showBundles();
    }),
  );
  li.append(what, who, actions);
  return li;
}

function save(item) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([item.bytes], { type: "application/octet-stream" }));
  a.download = `${item.id}.mule`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

// Bundles the browser's storage refused (full): held in memory, listed, and saved by hand.
const unkept = new Map();

async function keep(bytes) {
  const info = wasm.inspect(bytes);
  const item = {
    id: info.id, bytes, size: bytes.length, sealed: info.sealed, sender: info.sender,
    entries: info.entries, created: info.created, unverified: info.unverified,
    received: Date.now(),
  };
  info.free();
  try {
    await storage.put(item);
  } catch (error) {
    unkept.set(item.id, { ...item, unkept: error.name || "refused" });
  }
}

// --- Receiving ------------------------------------------------------------------------------

let scanning = null;

async function startScan() {
  $("status").className = "";
  if (!navigator.mediaDevices?.getUserMedia) {
    return fail("This browser offers the page no camera. Open the page in Chrome, Safari or Firefox.");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1920 }, height: { ideal: 1080 } },
      audio: false,
    });
  } catch (error) {
    return fail(error.name === "NotAllowedError"
      ? "The camera was refused. Allow the camera for this page in the browser's settings, then tap Scan again."
      : `No camera could be opened (${error.name}). Close other apps that use the camera and try again.`);
  }
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  $("camera").classList.add("on");
  $("scan").hidden = true;
  $("stop").hidden = false;
  $("progress").hidden = false;
  $("status").textContent = "Point the camera at the QR stream…";
  scanning = { stream, scanner: new wasm.Scanner(), started: performance.now(), times: [], received: 0 };
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const next = () => {
    if (!scanning) return;
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => decode(video, canvas, context, next));
    else setTimeout(() => decode(video, canvas, context, next), 0);
  };
  next();
}

// One camera picture: drawn, decoded by the WebAssembly, new bundles kept. The next picture is
// asked for only after this one is done, so pictures the decoder cannot keep up with are
// skipped by the browser, never queued.
async function decode(video, canvas, context, next) {
  const run = scanning;
  if (!run || !video.videoWidth) return next();
  const [width, height] = [video.videoWidth, video.videoHeight];
  if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
  context.drawImage(video, 0, 0);
  const pixels = context.getImageData(0, 0, width, height).data;
  const begin = performance.now();
  let status;
  try {
    status = run.scanner.push_rgba(pixels, width, height, (begin - run.started) / 1000);
  } catch (error) {
    stopScan();
    return fail(`The decoder failed on a picture (${error.message}; the browser's console says more). Reload the page and scan again: the bundles already received are kept.`);
  }
  const took = performance.now() - begin;
  run.times.push(took);
  showTiming(run.times, width, height);
  let bundle;
  while ((bundle = run.scanner.take_bundle())) {
    run.received += 1;
    await keep(bundle);
    await showBundles();
  }
  $("progress").max = Math.max(status.needed, 1);
  $("progress").value = status.received;
  $("status").textContent = status.streams ? progressLine(status) : "Point the camera at the QR stream…";
  const done = status.streams > 0 && status.complete === status.streams;
  status.free();
  if (done) {
    stopScan();
    $("status").textContent = run.received === 1
      ? "Received 1 bundle, checked (BLAKE3). Save it, or Play it to the next computer."
      : `Received ${run.received} bundles, checked (BLAKE3). Save them, or Play each to the next computer.`;
    document.body.dataset.received = String(run.received);
    return;
  }
  next();
}

function showTiming(times, width, height) {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  $("timing").textContent = `Decoding: ${median.toFixed(1)} ms a picture (${width}×${height}, median of ${times.length}).`;
  $("timing").dataset.median = median.toFixed(2);
  $("timing").dataset.count = String(times.length);
  $("timing").dataset.size = `${width}x${height}`;
}

function stopScan() {
  if (!scanning) return;
  scanning.stream.getTracks().forEach((t) => t.stop());
  scanning.scanner.free();
  scanning = null;
  $("camera").classList.remove("on");
  $("scan").hidden = false;
  $("stop").hidden = true;
}

function fail(message) {
  $("status").className = "error";
  $("status").textContent = message;
}

// --- Playing --------------------------------------------------------------------------------

let stopPlayer = null, player = null;

function play(item) {
  closePlayer();
  player = new wasm.Player(item.bytes, "default");
  const modules = player.modules(), quiet = player.quiet_zone(), side = modules + 2 * quiet;
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [side, side];
  const context = canvas.getContext("2d");
  const cache = new Map();
  const drawn = (index) => {
    if (!cache.has(index)) {
      const dark = player.frame(index);
      const image = context.createImageData(side, side);
      image.data.fill(255);
      for (let y = 0; y < modules; y++) {
        for (let x = 0; x < modules; x++) {
          if (!dark[y * modules + x]) continue;
          const at = ((y + quiet) * side + x + quiet) * 4;
          image.data[at] = image.data[at + 1] = image.data[at + 2] = 0;
        }
      }
      context.putImageData(image, 0, 0);
      if (cache.size > 8) cache.delete(cache.keys().next().value);
      cache.set(index, canvas.toDataURL("image/png"));
    }
    return cache.get(index);
  };
  const count = player.frames();
  // The shared player (src/qr/player.js) asks for frames[i] and frames.length: frames are
  // drawn as it asks, so a large bundle never has every frame in memory.
  const frames = new Proxy({}, {
    get: (_, key) => key === "length" ? count : drawn(Number(key) % count),
  });
  $("screen").classList.add("on");
  $("screen").dataset.frames = String(count);
  stopPlayer = playQrFrames({
    img: $("frame"), pause: $("pause"), speed: $("fps"), info: $("info"),
    fullscreen: $("full"), screen: $("screen"),
  }, frames, player.fps(), {
    pause: "Pause", play: "Play",
    info: (number, total, fps) => `code ${number} of ${total} · ${fps} a second`,
  });
}

function closePlayer() {
  stopPlayer?.();
  stopPlayer = null;
  // The player listens on its buttons; fresh copies take the next player's listeners only.
  for (const id of ["pause", "fps", "full"]) $(id).replaceWith($(id).cloneNode(true));
  player?.free();
  player = null;
  $("screen").classList.remove("on");
  if (document.fullscreenElement) document.exitFullscreen();
}

// --- Start ----------------------------------------------------------------------------------

(async () => {
  try {
    [wasm, storage] = await Promise.all([loadWasm(), openStorage()]);
  } catch (error) {
    fail(`This browser cannot run the page (${error.message}). Use a recent Chrome, Safari or Firefox.`);
    return;
  }
  $("scan").addEventListener("click", startScan);
  $("stop").addEventListener("click", () => { stopScan(); $("status").textContent = "Stopped."; });
  $("close").addEventListener("click", closePlayer);
  await showBundles();
  document.body.dataset.ready = "1";
})();
