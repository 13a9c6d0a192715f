// The notes page: the kv view as a table, searched on the server (key and value text), one page
// at a time; add, edit, delete (confirmed in the row), and the merge of concurrent values.
"use strict";

/** How many notes one page shows. */
const notesPerPage = 100;

/** A value as a person types it: JSON when it reads as JSON, else plain text. */
function parseValue(text) {
  try { return JSON.parse(text); } catch { return text; }
}

/** A value as a person reads it: text as itself, unless it would read back as something else. */
function showValue(value) {
  if (typeof value === "string" && parseValue(value) === value) return value;
  return JSON.stringify(value);
}

/** The form that writes `key` (a new note when undefined), starting from `value`. */
function noteEditor(key, value, done) {
  const keyInput = el("input", { name: "key", "aria-label": t("key"), placeholder: t("key") });
  keyInput.value = key ?? "";
  // A note being changed keeps its key, which the heading names.
  if (key !== undefined) keyInput.hidden = true;
  const valueInput = el("textarea", { name: "value", rows: "3", "aria-label": t("valueHint"),
    placeholder: t("valueHint") });
  valueInput.value = value === undefined ? "" : showValue(value);
  const problem = el("p", { class: "error", role: "alert" });
  const heading = el("h2", {}, key === undefined ? t("add") : t("editing", { key }));
  const form = el("form", { class: "editor" }, heading, keyInput, valueInput, problem,
    el("div", {}, el("button", { class: "primary", type: "submit" }, t("save")),
      el("button", { type: "button", onclick: () => done(false) }, t("cancel"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = keyInput.value.trim();
    if (!name) { problem.textContent = t("keyNeeded"); return; }
    try {
      await putNote(name, parseValue(valueInput.value));
    } catch (error) {
      problem.textContent = t("failed") + " " + error.message;
      return;
    }
    done(true);
  });
  return form;
}

/** Writes `value` under `key`; the server's put supersedes every current value of the key. */
const putNote = (key, value) => api("PUT", "/api/kv/" + encodeURIComponent(key), value);

async function renderNotes(page) {
  const search = el("input", { type: "search", name: "search", "aria-label": t("search"),
    placeholder: t("search") });
  const body = el("tbody");
  const formSlot = el("div");
  const counter = el("p", { class: "counter", "aria-live": "polite" });
  const pager = el("div", { class: "pager" });
  const problem = el("p", { class: "error", role: "alert" });
  const table = el("table", { class: "notes" },
    el("thead", {}, el("tr", {}, el("th", {}, t("key")), el("th", {}, t("values")),
      el("th", {}, t("actions")))), body);
  let offset = 0;
  let found = { total: 0, offset: 0, keys: [] };
  const attempt = (action) => action().catch((error) => {
    problem.textContent = t("failed") + " " + error.message;
  });
  // Without a search, the server stops reading at the page's end (`count=no`): counting every
  // note of a large store reads all of them, seconds that would hold up every other request.
  // The total then shows once a page reaches the end.
  let asked = 0;
  const reload = async () => {
    const mine = ++asked;
    const query = new URLSearchParams({ q: search.value.trim(), offset, limit: notesPerPage, count: "no" });
    found = await api("GET", "/api/kv?" + query);
    if (mine !== asked) return;
    if (found.keys.length === 0 && found.total > 0) {
      // The page went past the end (its last notes were deleted): show the last page.
      offset = Math.floor((found.total - 1) / notesPerPage) * notesPerPage;
      return reload();
    }
    problem.textContent = "";
    draw();
  };
  const closeForm = async (saved) => { formSlot.replaceChildren(); if (saved) await reload(); };
  const openForm = (key, value) => {
    formSlot.replaceChildren(noteEditor(key, value, (saved) => attempt(() => closeForm(saved))));
    formSlot.querySelector(key === undefined ? "input" : "textarea").focus();
  };
  const turn = (to) => { offset = Math.max(0, to); attempt(reload); };
  const draw = () => {
    const shown = found.keys.length;
    counter.textContent = found.total === null
      ? t("countSomeMore", { from: found.offset + 1, to: found.offset + shown })
      : found.total === 0 ? "" : shown === found.total
      ? t(found.total === 1 ? "countOne" : "countAll", { total: found.total })
      : t("countSome", { from: found.offset + 1, to: found.offset + shown, total: found.total });
    pager.replaceChildren(
      ...(found.offset > 0 ? [el("button", { type: "button",
        onclick: () => turn(offset - notesPerPage) }, t("previous"))] : []),
      ...(found.total === null || found.offset + shown < found.total ? [el("button", { type: "button",
        onclick: () => turn(offset + notesPerPage) }, t("next"))] : []));
    if (shown === 0) {
      const empty = search.value.trim() ? t("noMatch", { text: search.value.trim() }) : t("noNotes");
      body.replaceChildren(el("tr", {}, el("td", { colspan: "3" }, empty)));
      return;
    }
    body.replaceChildren(...found.keys.map((note) => noteRow(note, { openForm, attempt, reload })));
  };
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { offset = 0; attempt(reload); }, 200);
  });
  page.replaceChildren(el("h1", {}, t("notesTitle")),
    el("div", { class: "notes-tools" }, search,
      el("button", { class: "primary", type: "button", onclick: () => openForm() }, t("add"))),
    formSlot, problem, counter, table, pager);
  onStoreChange(reload);
  await reload();
}

/** One note's row: its values (all of them, with the merge, when devices wrote concurrently). */
function noteRow(note, { openForm, attempt, reload }) {
  const several = note.values.length > 1;
  const values = el("td", { class: "values" });
  if (several) values.append(el("p", { class: "conflict" }, t("concurrent", { count: note.values.length })));
  for (const v of note.values) {
    values.append(el("div", { class: "value" },
      el("pre", {}, showValue(v.value)),
      el("span", { class: "hash", title: v.hash }, v.hash.slice(0, 12)),
      ...(several ? [el("button", { type: "button", class: "keep",
        onclick: () => attempt(async () => { await putNote(note.key, v.value); await reload(); }) },
        t("keep"))] : [])));
  }
  const actions = el("td", { class: "actions" });
  const confirmDelete = () => {
    actions.replaceChildren(el("span", { class: "confirm" }, t("confirmDelete")),
      el("button", { type: "button", class: "danger",
        onclick: () => attempt(async () => {
          await api("DELETE", "/api/kv/" + encodeURIComponent(note.key));
          await reload();
        }) }, t("confirmYes")),
      el("button", { type: "button", onclick: showActions }, t("confirmNo")));
    actions.querySelector("button").focus();
  };
  const showActions = () => {
    actions.replaceChildren(
      el("button", { type: "button", onclick: () => openForm(note.key, startingValue(note.values)) },
        several ? t("merge") : t("edit")),
      el("button", { type: "button", onclick: confirmDelete }, t("remove")));
  };
  showActions();
  return el("tr", { "data-key": note.key }, el("td", { class: "key" }, note.key), values, actions);
}

/** What the editor starts from: the value, or for a merge of texts all of them, one a line. */
function startingValue(values) {
  const texts = values.map((v) => v.value);
  return texts.length > 1 && texts.every((v) => typeof v === "string") ? texts.join("\n") : texts[0];
}

definePage("/notes", renderNotes);
