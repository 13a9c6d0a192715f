// The status page: this device, what the store holds, what others told us, what is wrong.
"use strict";

async function renderStatus(page) {
  page.replaceChildren(el("h1", {}, t("statusTitle")), el("p", {}, t("loading")));
  onStoreChange(() => drawStatus(page));
  await drawStatus(page);
}

async function drawStatus(page) {
  const status = await api("GET", "/api/status");
  const device = (id) => id.slice(0, 12);
  const facts = el("dl");
  const project = status.project
    ? t("projectRole", { name: status.project.name, role: status.project.role })
    : t("noProject");
  for (const [label, value] of [
    ["statusDevice", device(status.author)],
    ["statusStore", status.store],
    ["statusEntries", status.entries],
    ["statusAuthors", status.authors],
    ["statusWaiting", status.waiting],
    ["statusBundles", status.bundles_imported],
    ["statusProject", project],
  ]) {
    facts.append(el("dt", {}, t(label)), el("dd", {}, String(value)));
  }
  const frontier = Object.entries(status.frontier).map(([author, seq]) => {
    const who = author === status.author ? t("thisDevice", { device: device(author) }) : device(author);
    return t("heldUpTo", { device: who, seq });
  });
  const peers = status.peers.map((p) => t("peerLacks", { device: device(p.peer), lacks: p.lacks }));
  const forks = status.forks.map((f) => t("fork", { device: device(f.author), seq: f.seq }));
  const blobs = status.incomplete_blobs.map((b) => t("incomplete", b));
  page.replaceChildren(
    el("h1", {}, t("statusTitle")),
    facts,
    section("statusFrontier", frontier, "noEntries"),
    section("statusPeers", peers, "noPeers"),
    section("statusForks", forks, "noForks"),
    section("statusIncomplete", blobs, "noIncomplete"),
  );
}

/** A heading and a list of `lines`, or the text `empty` when there are none. */
function section(heading, lines, empty) {
  const body = lines.length ? el("ul", {}, ...lines.map((line) => el("li", {}, line))) : el("p", {}, t(empty));
  return el("section", {}, el("h2", {}, t(heading)), body);
}

definePage("/status", renderStatus);
