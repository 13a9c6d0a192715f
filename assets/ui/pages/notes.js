// The notes page: the kv view as a searchable table; add, edit, delete, merge.
"use strict";

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
  onStoreChange(reload);
  await reload();
}

definePage("/notes", renderNotes);
