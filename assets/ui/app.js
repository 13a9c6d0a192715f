// mule ui: a small app over the server's JSON API. No framework, nothing from other hosts.
// Every text the page shows is in `messages`, so the app can be translated.
"use strict";

const messages = {
  en: {
    appName: "mule",
    navStatus: "Status",
    navNotes: "Notes",
    statusTitle: "Status",
    notesTitle: "Notes",
    loading: "Loading…",
    failed: "Something went wrong:",
    search: "Search keys",
    key: "Key",
    values: "Values",
    actions: "Actions",
    edit: "Edit",
    remove: "Delete",
    add: "Add a note",
    save: "Save",
    cancel: "Cancel",
    valueHint: "Value (JSON, or plain text)",
    concurrent: "Concurrent values: saving one keeps it and replaces the others.",
    keep: "Keep this one",
    confirmDelete: "Delete this note?",
    noNotes: "No notes yet.",
    notFound: "No such page.",
    statusDevice: "This device",
    statusStore: "Store folder",
    statusEntries: "Entries",
    statusAuthors: "Devices that wrote them",
    statusWaiting: "Waiting for earlier entries",
    statusBundles: "Bundles imported",
    statusProject: "Project",
    noProject: "none (open to every device)",
    projectRole: "{name}, as {role}",
    statusFrontier: "Entries held, per device",
    heldUpTo: "{device}: up to entry {seq}",
    thisDevice: "{device} (this device)",
    statusPeers: "Other devices that told us what they have",
    peerLacks: "{device}: lacks {lacks} of ours",
    noPeers: "none yet: after a sync, the others' answers show here",
    statusForks: "Forks (one device wrote two different entries)",
    fork: "{device} at entry {seq}",
    noForks: "none",
    statusIncomplete: "Attachments still arriving",
    incomplete: "{name}: {missing} of {chunks} pieces missing",
    noIncomplete: "none",
    noEntries: "none yet",
  },
};
const lang = "en";
/** The text `id` in the page's language, with `{name}` replaced by `args.name`. */
const t = (id, args = {}) =>
  (messages[lang][id] ?? id).replace(/\{(\w+)\}/g, (_, name) => String(args[name] ?? ""));

const pages = { "/": renderStatus, "/status": renderStatus, "/notes": renderNotes };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error + (answer.hint ? " — " + answer.hint : ""));
  return answer;
}

function showError(page, error) {
  page.replaceChildren(el("p", { class: "error" }, t("failed") + " " + error.message));
}

async function renderStatus(page) {
  page.replaceChildren(el("h1", {}, t("statusTitle")), el("p", {}, t("loading")));
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

function parseValue(text) {
  try { return JSON.parse(text); } catch { return text; }
}

function editor(key, value, done) {
  const keyInput = el("input", { name: "key", "aria-label": t("key"), placeholder: t("key") });
  keyInput.value = key ?? "";
  if (key !== undefined) keyInput.readOnly = true;
  const valueInput = el("textarea", { name: "value", rows: "3", "aria-label": t("valueHint"),
    placeholder: t("valueHint") });
  valueInput.value = value === undefined ? "" : JSON.stringify(value);
  const problem = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "editor" }, keyInput, valueInput, problem,
    el("div", {}, el("button", { class: "primary", type: "submit" }, t("save")),
      el("button", { type: "button", onclick: () => done(false) }, t("cancel"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = keyInput.value.trim();
    if (!name) return;
    try {
      await api("PUT", "/api/kv/" + encodeURIComponent(name), parseValue(valueInput.value));
    } catch (error) {
      problem.textContent = t("failed") + " " + error.message;
      return;
    }
    done(true);
  });
  return form;
}

async function renderNotes(page) {
  const search = el("input", { type: "search", name: "search", "aria-label": t("search"),
    placeholder: t("search") });
  const body = el("tbody");
  const formSlot = el("div");
  const table = el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, t("key")), el("th", {}, t("values")),
      el("th", {}, t("actions")))), body);
  let notes = [];
  const reload = async () => { notes = await api("GET", "/api/kv?prefix="); draw(); };
  const closeForm = async (saved) => { formSlot.replaceChildren(); if (saved) await reload(); };
  const openForm = (key, value) => {
    formSlot.replaceChildren(editor(key, value, (saved) => closeForm(saved).catch((e) => showError(page, e))));
  };
  const draw = () => {
    const wanted = search.value.toLowerCase();
    const shown = notes.filter((note) => note.key.toLowerCase().includes(wanted));
    if (shown.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "3" }, t("noNotes"))));
      return;
    }
    body.replaceChildren(...shown.map((note) => {
      const several = note.values.length > 1;
      const values = el("td", {}, ...(several ? [el("div", { class: "conflict" }, t("concurrent"))] : []),
        ...note.values.map((v) => el("div", { class: "value" },
          el("pre", {}, JSON.stringify(v.value)), el("span", { class: "hash" }, v.hash.slice(0, 12)),
          ...(several ? [el("button", { type: "button", onclick: () => openForm(note.key, v.value) }, t("keep"))] : []))));
      const remove = async () => {
        if (!confirm(t("confirmDelete"))) return;
        await api("DELETE", "/api/kv/" + encodeURIComponent(note.key));
        await reload();
      };
      return el("tr", { "data-key": note.key }, el("td", {}, note.key), values,
        el("td", {},
          el("button", { type: "button", onclick: () => openForm(note.key, note.values[0].value) }, t("edit")),
          el("button", { type: "button", onclick: () => remove().catch((e) => showError(page, e)) }, t("remove"))));
    }));
  };
  search.addEventListener("input", draw);
  page.replaceChildren(el("h1", {}, t("notesTitle")), search,
    el("p", {}, el("button", { class: "primary", type: "button", onclick: () => openForm() }, t("add"))),
    formSlot, table);
  await reload();
}

function navigate(path, push) {
  if (push) history.pushState(null, "", path);
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === path) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const page = document.getElementById("page");
  const render = pages[path];
  if (!render) { page.replaceChildren(el("p", {}, t("notFound"))); return; }
  render(page).catch((error) => showError(page, error));
}

function start() {
  document.title = t("appName");
  document.getElementById("app-name").textContent = t("appName");
  const nav = document.getElementById("nav");
  for (const [path, label] of [["/status", "navStatus"], ["/notes", "navNotes"]]) {
    nav.append(el("a", { href: path, onclick: (event) => {
      event.preventDefault();
      navigate(path, true);
    } }, t(label)));
  }
  window.addEventListener("popstate", () => navigate(location.pathname, false));
  navigate(location.pathname, false);
}

document.addEventListener("DOMContentLoaded", start);
