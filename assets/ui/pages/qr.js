// The QR page: send a bundle as a loop of QR codes on this screen, for another device's camera,
// and receive one with this device's camera. The player is /qr-player.js, the same one
// `mule qr encode --html` pages carry; received frames are decoded by the server.
"use strict";

// The page does not redraw when the store changes: that would stop the loop a camera is
// filming. Play again to send what has changed.
async function renderQr(page) {
  const choices = await api("GET", "/api/qr");
  const what = el("select", { name: "what", "aria-label": t("qrWhat") },
    el("option", { value: "all" }, t("qrEverything")),
    el("option", { value: "unacknowledged" }, t("qrUnacknowledged")),
    ...choices.peers.map((p) => el("option", { value: "peer:" + p.peer },
      t("qrPeerLacks", { device: p.peer.slice(0, 12), lacks: p.lacks }))));
  const size = el("select", { name: "profile", "aria-label": t("qrSize") },
    ...choices.profiles.map((p) => el("option", { value: p.name },
      t("qrProfile_" + p.name, { version: p.version, fps: p.fps }))));
  size.value = "default";
  const stage = el("div", { class: "qr-stage" });
  const problem = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "editor qr-choices" },
    el("label", {}, t("qrWhat"), what), el("label", {}, t("qrSize"), size), problem,
    el("div", {}, el("button", { class: "primary", type: "submit" }, t("qrPlay"))));
  let part = 0;
  const play = async () => {
    const [kind, peer] = what.value.split(":");
    const played = await api("POST", "/api/qr/send",
      { what: kind, peer: peer ?? null, profile: size.value, part });
    if (played.nothing) { stage.replaceChildren(el("p", { class: "qr-nothing" }, t("qrNothing"))); return; }
    stage.replaceChildren(player(played, () => { part = (part + 1) % played.parts; run(); }));
    stage.scrollIntoView({ block: "start" });
  };
  const run = () => { problem.textContent = ""; play().catch((e) => { problem.textContent = t("failed") + " " + e.message; }); };
  form.addEventListener("submit", (event) => { event.preventDefault(); part = 0; run(); });
  page.replaceChildren(el("h1", {}, t("qrTitle")),
    el("section", {}, el("h2", {}, t("qrSend")), el("p", {}, t("qrSendHow", { max: choices.part_bytes / 1048576 })),
      form, stage),
    el("section", {}, el("h2", {}, t("qrReceive")), el("p", {}, t("qrReceiveHow")), receiver()),
    el("section", {}, el("h2", {}, t("qrPhone")), el("p", {}, t("qrPhoneHow")),
      el("p", {}, el("a", { href: "/api/qr/phone-page", download: "mule-receiver.html", class: "qr-phone-page" },
        t("qrPhoneGet")))));
}

/** The player of a bundle the server now plays, with what it carries; `next` plays its next part. */
function player(played, next) {
  const frames = Array.from({ length: played.frames }, (_, n) => `/api/qr/frames/${played.play}/${n}`);
  const img = el("img", { class: "qr-frame", alt: t("qrFrame") });
  const pause = el("button", { type: "button" });
  const fullscreen = el("button", { type: "button" }, t("qrFullScreen"));
  const speed = el("input", { type: "range", "aria-label": t("qrSpeed") });
  const info = el("span", { class: "qr-info" });
  const screen = el("div", { class: "qr-player" }, img,
    el("div", { class: "qr-bar" }, pause, fullscreen, el("label", {}, t("qrSpeed"), " ", speed), info));
  const facts = [t("qrCarries", { bytes: played.bytes.toLocaleString(), entries: played.entries }),
    t("qrNeeds", { k: played.source_frames, version: played.profile.version })];
  const extra = played.parts > 1
    ? [el("p", {}, t("qrPart", { part: played.part + 1, parts: played.parts }), " ",
        el("button", { type: "button", onclick: next }, t("qrNextPart")))]
    : [];
  playQrFrames({ img, pause, speed, info, fullscreen, screen }, frames, played.fps, {
    pause: t("qrPause"), play: t("qrResume"),
    info: (number, count, fps) => t("qrFrameInfo", { number, count, fps }),
  });
  return el("div", {}, el("p", { class: "qr-facts" }, facts.join(" · ")), ...extra, screen);
}

/** Grey frames per second sent at most; a frame is sent only once the last one is answered. */
const RECEIVE_FPS = 10;
/** Largest frame sent (pixels): the server takes up to 1280x720. */
const RECEIVE_PIXELS = 1280 * 720;

/**
 * The Receive part: the camera films a QR stream; each frame, grey and at most 1280x720, goes to
 * /api/qr/receive/frame, where the server decodes it (see src/ui/api/qr.rs for why there) and
 * imports the bundles once every stream seen is complete.
 */
function receiver() {
  const video = el("video", { class: "qr-camera", playsinline: "", "aria-label": t("qrCamera") });
  video.muted = true;
  video.hidden = true;
  const status = el("p", { class: "qr-status", role: "status" });
  const start = el("button", { class: "primary", type: "button" }, t("qrCameraStart"));
  const stop = el("button", { type: "button" }, t("qrCameraStop"));
  stop.hidden = true;
  let camera = null;
  const close = () => {
    camera?.getTracks().forEach((track) => track.stop());
    camera = null;
    video.hidden = stop.hidden = true;
    start.hidden = false;
  };
  start.addEventListener("click", async () => {
    status.textContent = t("qrCameraAsking");
    try {
      camera = await openCamera();
    } catch (e) {
      status.textContent = t(cameraProblem(e));
      return;
    }
    video.srcObject = camera;
    video.hidden = stop.hidden = false;
    start.hidden = true;
    await video.play();
    video.scrollIntoView({ block: "nearest" });
    status.textContent = t("qrLooking");
    sendFrames(video, () => camera !== null && video.isConnected, status).finally(close);
  });
  stop.addEventListener("click", () => {
    close();
    status.textContent = t("qrStopped");
    api("POST", "/api/qr/receive/stop").catch(() => {});
  });
  return el("div", { class: "qr-receive" }, el("div", { class: "qr-bar" }, start, stop), status, video);
}

/** The camera's stream, the rear camera if there is one. */
async function openCamera() {
  if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error(), { name: "NotFoundError" });
  return navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
  });
}

/** The message for a camera that would not open. */
function cameraProblem(error) {
  if (error.name === "NotAllowedError" || error.name === "SecurityError") return "qrCameraRefused";
  if (error.name === "NotReadableError") return "qrCameraBusy";
  return "qrNoCamera";
}

/** Sends the video's frames while `going()`, one at a time, until the server has imported. */
async function sendFrames(video, going, status) {
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  while (going()) {
    const started = performance.now();
    if (video.videoWidth > 0) {
      let answer;
      try {
        answer = await postFrame(greyFrame(video, canvas, context));
      } catch (e) {
        status.textContent = t("failed") + " " + e.message;
        return;
      }
      if (!going()) return;
      if (answer.imported) {
        status.textContent = t("qrReceived", {
          bundles: answer.imported.length,
          bytes: answer.imported.reduce((sum, b) => sum + b.bytes, 0).toLocaleString(),
        });
        return;
      }
      status.textContent = answer.streams
        ? t("qrReceiving", { received: answer.received, needed: answer.needed, streams: answer.streams,
          speed: (answer.bytes_per_second / 1000).toFixed(0) })
        : t("qrLooking");
    }
    const wait = 1000 / RECEIVE_FPS - (performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
  }
}

/** The video's current frame, scaled to at most RECEIVE_PIXELS, as the server's body. */
function greyFrame(video, canvas, context) {
  const scale = Math.min(1, Math.sqrt(RECEIVE_PIXELS / (video.videoWidth * video.videoHeight)));
  const width = Math.floor(video.videoWidth * scale), height = Math.floor(video.videoHeight * scale);
  canvas.width = width;
  canvas.height = height;
  context.drawImage(video, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  const body = new Uint8Array(4 + width * height);
  new DataView(body.buffer).setUint16(0, width, true);
  new DataView(body.buffer).setUint16(2, height, true);
  for (let i = 0, j = 4; i < rgba.length; i += 4, j++) {
    body[j] = (rgba[i] * 77 + rgba[i + 1] * 150 + rgba[i + 2] * 29) >> 8;
  }
  return body;
}

async function postFrame(body) {
  const response = await fetch("/api/qr/receive/frame",
    { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error);
  return answer;
}

definePage("/qr", renderQr);
