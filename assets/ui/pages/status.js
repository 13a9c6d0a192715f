// The status page: this device, what the store holds, what others told us, what is wrong, and
// a check of the whole store (fsck) on request.
"use strict";

async function renderStatus(page) {
  const facts = el("div", {}, el("p", {}, t("loading")));
  page.replaceChildren(el("h1", {}, t("statusTitle")), facts, storeCheck());
  // Only the facts are redrawn when the store changes: a check's result stays in view.
  onStoreChange(() => drawStatus(facts));
  await drawStatus(facts);
}

async function drawStatus(target) {
  const status = await api("GET", "/api/status");
  const device = (id) => id.slice(0, 12);
  const facts = el("dl", { class: "facts" });
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
  target.replaceChildren(
    facts,
    section("statusFrontier", frontier, "noEntries"),
    section("statusPeers", peers, "noPeers"),
    section("statusForks", forks, "noForks"),
    section("statusIncomplete", blobs, "noIncomplete"),
  );
}

/** The "Check the store" section: runs the library's fsck and says what it found, in words. */
function storeCheck() {
  const result = el("div", { class: "check-result", "aria-live": "polite" });
  const button = el("button", { class: "primary", type: "button" }, t("checkButton"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.replaceChildren(el("p", {}, t("checking")));
    try {
      result.replaceChildren(...checkResult(await api("GET", "/api/status/fsck")));
    } catch (error) {
      result.replaceChildren(el("p", { class: "error" }, t("failed") + " " + error.message));
    } finally {
      button.disabled = false;
    }
  });
  return el("section", { class: "check" }, el("h2", {}, t("checkTitle")),
    el("p", {}, t("checkAbout")), button, result);
}

/** What a check found, as paragraphs and a list. */
function checkResult(report) {
  const counted = t("checkCounted", { entries: report.entries, objects: report.objects });
  if (report.clean) return [el("p", { class: "good" }, t("checkClean") + " " + counted)];
  const problems = report.problems.map((p) =>
    t(p.repairable ? "checkRepairable" : "checkLost", { place: p.place, what: p.what }));
  const repairable = report.problems.some((p) => p.repairable);
  return [
    el("p", { class: "error" }, t("checkProblems", { count: report.problems.length }) + " " + counted),
    el("ul", {}, ...problems.map((line) => el("li", {}, line))),
    ...(repairable ? [el("p", {}, t("checkRepairHint"))] : []),
  ];
}

definePage("/status", renderStatus);
