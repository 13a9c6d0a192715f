// mule ui: a small app over the server's JSON API. No framework, nothing from other hosts.
// This file holds what every page uses; each page is a file in pages/ that calls definePage.
// Every text the page shows is in messages.js, so the app can be translated.
"use strict";

/** The page's language: the browser's, when messages.js has it, else English. */
const lang = [...navigator.languages, "en"].map((l) => l.slice(0, 2)).find((l) => l in messages);

/** The text `id` in the page's language, with `{name}` replaced by `args.name`. */
const t = (id, args = {}) =>
  (messages[lang][id] ?? messages.en[id] ?? id).replace(/\{(\w+)\}/g, (_, name) => String(args[name] ?? ""));

/** The pages, in the order the navigation shows them: path, message id of the link. */
const navigation = [
  ["/map", "navMap"], ["/calendar", "navCalendar"], ["/notes", "navNotes"], ["/sync", "navSync"],
  ["/qr", "navQr"], ["/project", "navProject"], ["/status", "navStatus"],
];
const pages = {};

/**
 * Registers the page at `path`: `render(page)` fills the element `page` (and may return a
 * promise). While the page shows, `onStoreChange(handler)` calls the handler when the store
 * changed (a sync, another tab, another program); the handlers go when the page is left.
 */
function definePage(path, render) {
  pages[path] = render;
}

let changeHandlers = [];
function onStoreChange(handler) {
  changeHandlers.push(handler);
}

/**
 * While the page shows, calls `handler(data)` with the parsed data of each server event `name`
 * (such as `sync_progress`); the handlers go when the page is left.
 */
let eventHandlers = [];
let serverEvents = null;
const serverEventNames = new Set();
function onServerEvent(name, handler) {
  if (!serverEventNames.has(name)) {
    serverEventNames.add(name);
    serverEvents.addEventListener(name, (event) => {
      for (const [wanted, handle] of eventHandlers) if (wanted === name) handle(JSON.parse(event.data));
    });
  }
  eventHandlers.push([name, handler]);
}

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
  if (!response.ok) {
    const error = new Error(answer.error + (answer.hint ? " — " + answer.hint : ""));
    error.answer = answer;
    throw error;
  }
  return answer;
}

function showError(page, error) {
  page.replaceChildren(el("p", { class: "error" }, t("failed") + " " + error.message));
}

/** A heading and a list of `lines`, or the text `empty` when there are none. */
function section(heading, lines, empty) {
  const body = lines.length ? el("ul", {}, ...lines.map((line) => el("li", {}, line))) : el("p", {}, t(empty));
  return el("section", {}, el("h2", {}, t(heading)), body);
}

function navigate(path, push) {
  if (path === "/") path = "/map";
  if (push) history.pushState(null, "", path);
  else if (location.pathname !== path) history.replaceState(null, "", path);
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === path) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  changeHandlers = [];
  eventHandlers = [];
  delete document.body.dataset.ready;
  const page = document.getElementById("page");
  const render = pages[path];
  if (!render) { page.replaceChildren(el("p", {}, t("notFound"))); return; }
  // Once the page shows its data: a mark the benchmark (scripts/bench-ui.py) and tests read.
  Promise.resolve(render(page))
    .then(() => { document.body.dataset.ready = path; performance.mark("mule:ready " + path); })
    .catch((error) => showError(page, error));
}

/** Listens for the server's live updates and hands each change to the page's handlers. */
function listen() {
  const events = new EventSource("/api/events");
  serverEvents = events;
  const changed = (event) => {
    for (const handler of changeHandlers) Promise.resolve(handler(event.type)).catch(() => {});
  };
  // `hello` comes on every (re)connection: what changed while disconnected must show too.
  let connected = false;
  events.addEventListener("hello", (event) => { if (connected) changed(event); connected = true; });
  events.addEventListener("changed", changed);
  events.addEventListener("lagged", changed);
  return events;
}

function start() {
  document.title = t("appName");
  document.getElementById("app-name").textContent = t("appName");
  const nav = document.getElementById("nav");
  for (const [path, label] of navigation) {
    nav.append(el("a", { href: path, onclick: (event) => {
      event.preventDefault();
      navigate(path, true);
    } }, t(label)));
  }
  window.addEventListener("popstate", () => navigate(location.pathname, false));
  listen();
  navigate(location.pathname, false);
}

document.addEventListener("DOMContentLoaded", start);
