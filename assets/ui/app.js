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
  },
};
const lang = "en";
const t = (id) => messages[lang][id] ?? id;

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
  const list = el("dl");
  for (const [name, value] of Object.entries(status)) {
    const shown = typeof value === "object" && value !== null
      ? el("pre", {}, JSON.stringify(value, null, 2)) : String(value);
    list.append(el("dt", {}, name), el("dd", {}, shown));
  }
  page.replaceChildren(el("h1", {}, t("statusTitle")), list);
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
