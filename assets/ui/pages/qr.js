// The QR page: send a bundle as a loop of QR codes on this screen, for another device's camera.
// The player is /qr-player.js, the same one `mule qr encode --html` pages carry.
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
    el("section", {}, el("h2", {}, t("qrReceive")), el("p", {}, t("qrReceiveComing"))));
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

definePage("/qr", renderQr);
