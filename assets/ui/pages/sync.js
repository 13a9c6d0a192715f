// The sync page: the drives and folders this device can sync with, one button each with live
// progress, an honest result (what came in, what went out, what each other device still lacks),
// and a bundle file downloaded or opened for when the stick is on another machine.
"use strict";

async function renderSync(page) {
  const places = el("div", { id: "sync-places" }, el("p", {}, t("loading")));
  const result = el("div", { id: "sync-result", "aria-live": "polite" }, el("p", {}, t("syncNoResult")));
  const peers = el("div", { id: "sync-peers" });
  page.replaceChildren(
    el("h1", {}, t("syncTitle")),
    el("p", { class: "sync-intro" }, t("syncIntro")),
    el("section", {}, el("h2", {}, t("syncPlaces")), places, syncAddFolderForm(places)),
    el("section", {}, el("h2", {}, t("syncResult")), result),
    el("section", {}, el("h2", {}, t("syncPeers")), peers),
    syncBundleFileSection(result, peers),
  );
  onServerEvent("sync_progress", (progress) => syncShowProgress(places, progress));
  onStoreChange(() => syncDrawStanding(peers));
  await Promise.all([syncDrawPlaces(places, result, peers), syncDrawStanding(peers)]);
}

/** A size in bytes for people: 1.2 MB. */
function syncSize(bytes) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) { size /= 1000; unit += 1; }
  return `${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`;
}

/** A time (ms since the epoch) for people: the hour today, the date and hour before. */
function syncTime(ms) {
  if (ms == null) return t("syncUnknownTime");
  const when = new Date(ms);
  const today = when.toDateString() === new Date().toDateString();
  const hour = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return today ? hour : `${when.toLocaleDateString()} ${hour}`;
}

const syncDevice = (id) => id.slice(0, 12);

/** "1 entry", "3 entries": the message `id` in the form the page's language uses for `count`. */
function syncCount(id, count) {
  const form = `${id}_${new Intl.PluralRules(lang).select(count)}`;
  return t(form in messages[lang] || form in messages.en ? form : id, { count });
}

async function syncDrawPlaces(places, result, peers) {
  const answer = await api("GET", "/api/sync/places");
  syncPlaceList(places, answer.places, result, peers);
}

function syncPlaceList(places, list, result, peers) {
  if (!list.length) { places.replaceChildren(el("p", {}, t("syncNoPlaces"))); return; }
  places.replaceChildren(el("ul", { class: "sync-places" }, ...list.map((place) => {
    const facts = [place.path];
    if (place.free != null && place.present) facts.push(t("syncFree", { size: syncSize(place.free) }));
    if (!place.present) facts.push(t("syncAbsent"));
    const sync = el("button", { class: "primary", onclick: () => syncRun(place, item, result, peers) }, t("syncButton"));
    if (!place.present) sync.disabled = true;
    const buttons = [sync];
    if (place.remembered) {
      buttons.push(el("button", { onclick: () => syncForgetPlace(place, places, result, peers) }, t("syncForget")));
    }
    const item = el("li", { "data-path": place.path },
      el("div", { class: "sync-place" },
        el("div", {}, el("strong", {}, place.name), el("div", { class: "sync-facts" }, facts.join(" · "))),
        el("div", { class: "sync-buttons" }, ...buttons)),
      el("div", { class: "sync-progress" }));
    return item;
  })));
}

function syncAddFolderForm(places) {
  const input = el("input", { id: "sync-path", type: "text", placeholder: t("syncAddHint"), autocomplete: "off" });
  const message = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "sync-add", onsubmit: async (event) => {
    event.preventDefault();
    message.textContent = "";
    try {
      const answer = await api("POST", "/api/sync/places", { path: input.value.trim() });
      input.value = "";
      syncPlaceList(places, answer.places, document.getElementById("sync-result"), document.getElementById("sync-peers"));
    } catch (error) {
      message.textContent = syncProblemText(error);
    }
  } },
  el("label", { for: "sync-path" }, t("syncAddLabel")),
  el("div", { class: "sync-add-row" }, input, el("button", { type: "submit" }, t("syncAdd"))),
  message);
  return form;
}

async function syncForgetPlace(place, places, result, peers) {
  const answer = await api("DELETE", `/api/sync/places?path=${encodeURIComponent(place.path)}`);
  syncPlaceList(places, answer.places, result, peers);
}

async function syncRun(place, item, result, peers) {
  for (const button of document.querySelectorAll(".sync-places button")) button.disabled = true;
  const progress = item.querySelector(".sync-progress");
  progress.replaceChildren(el("p", {}, t("syncRunning", { name: place.name })));
  try {
    const answer = await api("POST", "/api/sync/run", { path: place.path });
    syncShowResult(result, place, answer.report);
    syncDrawPeers(peers, answer.standing);
  } catch (error) {
    result.replaceChildren(el("p", { class: "error" }, syncProblemText(error)));
    // A stick pulled out shows as such in the list now.
    await syncDrawPlaces(item.closest("#sync-places"), result, peers).catch(() => {});
  } finally {
    for (const button of document.querySelectorAll(".sync-places button")) button.disabled = false;
  }
}

/** Shows a `sync_progress` event under the place it belongs to. */
function syncShowProgress(places, progress) {
  const item = [...places.querySelectorAll("li[data-path]")].find((li) => li.dataset.path === progress.path);
  if (!item) return;
  const bar = el("progress", { max: String(Math.max(progress.bytes, 1)), value: String(progress.bytes_read) });
  const done = progress.bundles_read === progress.bundles;
  const lines = [el("p", {}, t(done ? "syncReadAll" : "syncReading", {
    read: progress.bundles_read, bundles: syncCount("syncBundles", progress.bundles),
    bytesRead: syncSize(progress.bytes_read), bytes: syncSize(progress.bytes),
    entries: syncCount("syncNewEntries", progress.entries_in),
  }))];
  if (progress.entries_out) {
    lines.push(el("p", {}, t("syncWritten", {
      entries: syncCount("syncEntries", progress.entries_out), bytes: syncSize(progress.bytes_out),
    })));
  } else if (progress.bytes_out) {
    lines.push(el("p", {}, t("syncWrittenNote", { bytes: syncSize(progress.bytes_out) })));
  }
  item.querySelector(".sync-progress").replaceChildren(bar, ...lines);
}

function syncShowResult(result, place, report) {
  const lines = [t("syncResultPlace", { name: place.name, time: syncTime(Date.now()) })];
  if (report.skipped) {
    lines.push(t("syncSkipped"));
  } else {
    const bundles = syncCount("syncBundles", report.bundles);
    lines.push(report.new
      ? t("syncCameIn", { entries: syncCount("syncNewEntries", report.new), bundles })
      : t("syncNothingIn", { bundles }));
    if (report.waiting) lines.push(t("syncWaiting", { entries: syncCount("syncEntries", report.waiting) }));
    if (report.acknowledged) lines.push(t("syncAcknowledged"));
    else if (report.written) lines.push(t("syncWentOut", { entries: syncCount("syncEntries", report.exported) }));
    else lines.push(t("syncNothingOut"));
  }
  const rejected = report.rejections.map((reason) => el("li", { class: "error" }, t("syncRejected", { reason })));
  result.replaceChildren(...lines.map((line) => el("p", {}, line)), ...(rejected.length ? [el("ul", {}, ...rejected)] : []));
}

async function syncDrawStanding(peers) {
  syncDrawPeers(peers, await api("GET", "/api/sync/standing"));
}

function syncDrawPeers(peers, standing) {
  const lines = standing.peers.map((peer) => t(peer.lacks ? "syncPeerLacks" : "syncPeerHasAll", {
    device: syncDevice(peer.peer), entries: syncCount("syncEntries", peer.lacks), time: syncTime(peer.heard),
  }));
  for (const [author, count] of Object.entries(standing.waiting)) {
    lines.push(t("syncWaitsFor", { entries: syncCount("syncEntries", count), device: syncDevice(author) }));
  }
  peers.replaceChildren(lines.length
    ? el("ul", {}, ...lines.map((line) => el("li", {}, line)))
    : el("p", {}, t("syncNoPeers")));
}

function syncBundleFileSection(result, peers) {
  const picker = el("input", { id: "sync-import", type: "file", accept: ".mule" });
  const message = el("div", { id: "sync-import-result", "aria-live": "polite" });
  picker.addEventListener("change", async () => {
    const file = picker.files[0];
    if (!file) return;
    message.replaceChildren(el("p", {}, t("syncImporting", { file: file.name })));
    try {
      const answer = await syncUpload(file);
      message.replaceChildren(el("p", {}, syncImportedText(file.name, answer)));
      syncDrawPeers(peers, answer.standing);
    } catch (error) {
      message.replaceChildren(el("p", { class: "error" }, syncProblemText(error, file.name)));
    }
    picker.value = "";
  });
  return el("section", {},
    el("h2", {}, t("syncFile")),
    el("p", {}, t("syncFileIntro")),
    el("p", {}, el("a", { id: "sync-export", class: "sync-download", href: "/api/sync/export", download: "" }, t("syncExport"))),
    el("label", { for: "sync-import" }, t("syncImportLabel")),
    picker,
    message);
}

/** Sends a bundle file as the body of the import route (streamed to a file on the server). */
async function syncUpload(file) {
  const response = await fetch("/api/sync/import", {
    method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" },
  });
  const answer = await response.json();
  if (!response.ok) {
    const error = new Error(answer.error);
    error.answer = answer;
    throw error;
  }
  return answer;
}

function syncImportedText(file, answer) {
  if (answer.already) return t("syncImportedBefore", { file });
  if (!answer.summary.new) return t("syncImportedNothing", { file });
  const entries = syncCount("syncNewEntries", answer.summary.new);
  return t("syncImported", { file, entries, device: syncDevice(answer.from ?? "") });
}

/** What to tell the person about a failure, from the server's `problem` word. */
function syncProblemText(error, file = "") {
  const problem = error.answer?.problem;
  const texts = { full: "problemFull", read_only: "problemReadOnly", missing: "problemMissing", bad_bundle: "problemBadBundle" };
  return t(texts[problem] ?? "problemOther", { file, error: error.message });
}

definePage("/sync", renderSync);
