// The calendar page: month, week and agenda views of the calendar view's occurrences; a box
// where a schedule is typed in everyday words, read by the server's parser (the preview shows
// how it was read before saving); edit, delete, keep one of concurrent versions; .ics download.
// The view and date are in the URL (/calendar?view=week&date=2026-12-07) so they bookmark.
"use strict";

/** The views and how far previous/next move in each: months, or days. */
const calViews = { month: { months: 1 }, week: { days: 7 }, agenda: { days: 28 } };
/** The zone the browser shows times in; all-day events are placed in it too. */
const calZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

// ---- dates: a day is a "YYYY-MM-DD" key; Date objects at local noon, so no clock change
// moves them to another day.
function calDay(key) {
  const [y, m, d] = key.split("-").map(Number);
  return new Date(y, m - 1, d, 12);
}
function calKey(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
function calAddDays(key, days) {
  const date = calDay(key);
  date.setDate(date.getDate() + days);
  return calKey(date);
}
function calAddMonths(key, months) {
  const date = calDay(key);
  return calKey(new Date(date.getFullYear(), date.getMonth() + months, 1, 12));
}
/** The Monday on or before the day. */
function calWeekStart(key) {
  return calAddDays(key, -((calDay(key).getDay() + 6) % 7));
}
const calFormat = (options) => new Intl.DateTimeFormat(lang, options);
const calTime = (date) => calFormat({ hour: "numeric", minute: "2-digit" }).format(date);
const calLongDay = (key) => calFormat({ weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(calDay(key));
const calShortDay = (key) => calFormat({ weekday: "short", day: "numeric", month: "short" }).format(calDay(key));
const calWeekdayName = (iso) => calFormat({ weekday: "long" }).format(new Date(2024, 0, iso, 12));
const calMonthName = (month) => calFormat({ month: "long" }).format(new Date(2024, month - 1, 1, 12));
const calDate = (key) => calFormat({ day: "numeric", month: "short", year: "numeric" }).format(calDay(key));

/** The view and date the URL names (month of today when it names none). */
function calState() {
  const params = new URLSearchParams(location.search);
  const view = params.get("view") in calViews ? params.get("view") : "month";
  const date = /^\d{4}-\d{2}-\d{2}$/.test(params.get("date") ?? "") ? params.get("date") : calKey(new Date());
  return { view, date };
}

/** The days a view shows: [first, last] keys. */
function calRange({ view, date }) {
  if (view === "week") return [calWeekStart(date), calAddDays(calWeekStart(date), 6)];
  if (view === "agenda") return [date, calAddDays(date, calViews.agenda.days - 1)];
  const first = calAddMonths(date, 0);
  const last = calAddDays(calAddMonths(date, 1), -1);
  return [calWeekStart(first), calAddDays(calWeekStart(last), 6)];
}

/** The day keys an occurrence covers (an all-day or overnight one, several). */
function calDaysOf(occurrence) {
  const start = new Date(occurrence.start);
  const end = new Date(occurrence.end);
  const days = [calKey(start)];
  for (let key = calAddDays(days[0], 1); ; key = calAddDays(key, 1)) {
    const [y, m, d] = key.split("-").map(Number);
    if (new Date(y, m - 1, d) >= end) break;
    days.push(key);
  }
  return days;
}

// ---- the rule in words, from the parts the server read back (see calendar::repeat).
function calList(items) {
  if (items.length < 2) return items.join("");
  return t("calListAnd", { items: items.slice(0, -1).join(", "), last: items[items.length - 1] });
}
function calEvery(repeat) {
  const unit = { daily: "Day", weekly: "Week", monthly: "Month", yearly: "Year" }[repeat.frequency];
  return repeat.interval > 1 ? t("calEveryN" + unit + "s", { n: repeat.interval }) : t("calEvery" + unit);
}
function calRepeatWords(repeat) {
  const on = [];
  const days = repeat.weekdays.map((w) => w.nth === null
    ? calWeekdayName(w.day)
    : t("calNthWeekday", { nth: t(w.nth === -1 ? "calNthLast" : "calNth" + w.nth), day: calWeekdayName(w.day) }));
  if (days.length) on.push(calList(days));
  if (repeat.month_days.length) on.push(t("calMonthDays", { days: calList(repeat.month_days.map(String)) }));
  if (repeat.months.length) on.push(t("calInMonths", { months: calList(repeat.months.map(calMonthName)) }));
  return on.length ? t("calRepeatOn", { every: calEvery(repeat), on: on.join(" ") }) : calEvery(repeat);
}
/** "until Jan 25, 2027" or "4 times", when the repeat ends. */
function calRepeatEnd(repeat) {
  const words = [];
  if (repeat.until) words.push(t("calUntil", { date: calDate(repeat.until) }));
  if (repeat.count) words.push(t("calTimes", { n: repeat.count }));
  return words.join(", ");
}
/** "09:00–10:00" or "all day". */
function calHours(occurrence, allDay) {
  if (allDay) return t("calAllDay");
  return `${calTime(new Date(occurrence.start))}–${calTime(new Date(occurrence.end))}`;
}
/** The UTC offset, in minutes, that an RFC 3339 time is written with. */
function calOffset(time) {
  const zone = /([+-])(\d\d):(\d\d)$/.exec(time);
  return zone ? (zone[1] === "-" ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3])) : 0;
}
/** What a reading (a preview) says in words: title, rule, exceptions, next occurrences. */
function calReadingView(reading) {
  const first = reading.next[0];
  const rule = [reading.repeat ? calRepeatWords(reading.repeat) : t("calOnce")];
  if (first) rule.push(calHours(first, reading.all_day));
  if (reading.repeat) rule.push(calRepeatEnd(reading.repeat));
  if (first && !reading.all_day && calOffset(first.start) !== -new Date(first.start).getTimezoneOffset()) {
    rule.push(t("calInZone", { tz: reading.tz }));
  }
  const parts = [
    el("p", { class: "cal-read-as" }, el("strong", {}, reading.title || t("calNoTitle")), " — ",
      rule.filter(Boolean).join(", ")),
  ];
  if (reading.except.length) parts.push(el("p", {}, t("calExcept", { dates: calList(reading.except.map(calDate)) })));
  parts.push(el("p", {}, t(reading.next.length ? "calNextOnes" : "calNoneAhead")));
  if (reading.next.length) {
    parts.push(el("ol", { class: "cal-next" }, ...reading.next.map((o) =>
      el("li", {}, `${calShortDay(calKey(new Date(o.start)))} ${calHours(o, reading.all_day)}`))));
  }
  return parts;
}

// ---- the page
async function renderCalendar(page) {
  let state = calState();
  let shown = [];
  let editing = null; // { id, versions } while an event is open

  const heading = el("h2", { class: "cal-heading", "aria-live": "polite" });
  const viewButtons = Object.keys(calViews).map((view) => el("button", {
    type: "button", "data-view": view, onclick: () => go({ ...state, view }),
  }, t("calView_" + view)));
  const move = (sign) => {
    const step = calViews[state.view];
    const date = step.months ? calAddMonths(state.date, sign * step.months) : calAddDays(state.date, sign * step.days);
    go({ ...state, date });
  };
  const toolbar = el("div", { class: "cal-toolbar" },
    el("div", { class: "cal-group", role: "group", "aria-label": t("calViewLabel") }, ...viewButtons),
    el("div", { class: "cal-group" },
      el("button", { type: "button", "data-nav": "previous", onclick: () => move(-1) }, t("calPrevious")),
      el("button", { type: "button", "data-nav": "today", onclick: () => go({ ...state, date: calKey(new Date()) }) }, t("calToday")),
      el("button", { type: "button", "data-nav": "next", onclick: () => move(1) }, t("calForward")),
    ),
    el("a", { class: "cal-download", href: "/api/cal/calendar.ics", download: "mule-calendar.ics" }, t("calDownload")),
  );

  // The box where a schedule is typed, its preview, save.
  const phrase = el("input", { name: "phrase", autocomplete: "off", "aria-label": t("calPhraseLabel"),
    placeholder: t("calPhraseHint") });
  const title = el("input", { name: "title", autocomplete: "off", "aria-label": t("calTitleLabel"),
    placeholder: t("calTitleHint") });
  const preview = el("div", { class: "cal-preview", "aria-live": "polite" });
  const formHeading = el("h2", {}, t("calAddTitle"));
  const cancel = el("button", { type: "button", hidden: "", onclick: () => resetForm() }, t("cancel"));
  const form = el("form", { class: "editor cal-form" }, formHeading,
    el("div", { class: "cal-fields" },
      el("label", { class: "cal-phrase" }, t("calPhraseLabel"), phrase),
      el("label", {}, t("calTitleLabel"), title),
      el("div", { class: "cal-buttons" }, el("button", { class: "primary", type: "submit" }, t("save")), cancel)),
    preview);
  let editId = null; // the event being changed, the version changed, and its text as it was
  let editVersion = null;
  let editText = null;
  let asked = 0;
  let timer = null;
  // While changing an event, an unchanged text is not sent: read again now, "friday" would move.
  const unchanged = () => editId !== null && phrase.value === editText;
  const body = () => ({ text: unchanged() ? null : phrase.value, title: title.value, tz: calZone, keep: editVersion });
  const readPhrase = async () => {
    const mine = ++asked;
    if (unchanged()) { preview.replaceChildren(el("p", {}, t("calUnchanged"))); return; }
    if (!phrase.value.trim()) { preview.replaceChildren(); return; }
    const about = editId === null ? "" : "?id=" + encodeURIComponent(editId);
    try {
      const reading = await api("POST", "/api/cal/preview" + about, body());
      if (mine === asked) preview.replaceChildren(el("p", { class: "cal-label" }, t("calReadAs")), ...calReadingView(reading));
    } catch (error) {
      if (mine === asked) preview.replaceChildren(el("p", { class: "error", role: "alert" }, t("calNotRead", { error: error.message })));
    }
  };
  const schedulePreview = () => { clearTimeout(timer); timer = setTimeout(readPhrase, 250); };
  phrase.addEventListener("input", schedulePreview);
  title.addEventListener("input", schedulePreview);
  const resetForm = () => {
    editId = null;
    editVersion = null;
    editText = null;
    phrase.value = "";
    title.value = "";
    preview.replaceChildren();
    formHeading.textContent = t("calAddTitle");
    cancel.hidden = true;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!phrase.value.trim() && !(editId !== null && title.value.trim())) return;
    clearTimeout(timer);
    asked++;
    let written;
    try {
      written = editId
        ? await api("PUT", "/api/cal/events/" + encodeURIComponent(editId), body())
        : await api("POST", "/api/cal/events", body());
    } catch (error) {
      preview.replaceChildren(el("p", { class: "error", role: "alert" }, t("calNotRead", { error: error.message })));
      return;
    }
    resetForm();
    preview.replaceChildren(el("p", { class: "cal-saved" }, t("calSaved", { title: written.title || t("calNoTitle") })));
    closeEvent();
    // Show where it landed: the first occurrence's date, in the view the person is in.
    await go({ ...state, date: calKey(new Date(written.start)) });
  });
  const startEdit = (version) => {
    editId = version.id;
    editVersion = version.version;
    editText = version.text ?? "";
    phrase.value = editText;
    title.value = version.title;
    formHeading.textContent = t("calEditTitle", { title: version.title || t("calNoTitle") });
    cancel.hidden = false;
    readPhrase();
    phrase.focus();
  };

  // An open event: its versions, edit, delete, keep one.
  const details = el("section", { class: "cal-details", hidden: "", "aria-live": "polite" });
  const closeEvent = () => { editing = null; details.hidden = true; details.replaceChildren(); };
  const openEvent = async (id) => {
    let answer;
    try { answer = await api("GET", "/api/cal/events/" + encodeURIComponent(id)); } catch { closeEvent(); return; }
    editing = { id, versions: answer.versions };
    const several = answer.versions.length > 1;
    const remove = async () => {
      if (!confirm(t("calConfirmDelete"))) return;
      await api("DELETE", "/api/cal/events/" + encodeURIComponent(id));
      closeEvent();
      await reload();
    };
    const keep = async (version) => {
      await api("PUT", "/api/cal/events/" + encodeURIComponent(id), { keep: version.version });
      await openEvent(id);
      await reload();
    };
    details.replaceChildren(
      ...(several ? [el("p", { class: "conflict" }, t("calVersionsExplained"))] : []),
      ...answer.versions.map((version) => el("div", { class: "value", "data-version": version.version },
        el("h2", {}, version.title || t("calNoTitle")),
        ...(version.text ? [el("p", {}, t("calWritten", { text: version.text }))] : []),
        el("p", {}, t("calFirst", { when: `${calLongDay(calKey(new Date(version.start)))}, ${calHours(version, version.all_day)}` })),
        el("span", { class: "hash" }, version.version.slice(0, 12)),
        el("div", {},
          el("button", { type: "button", onclick: () => startEdit(version) }, t("edit")),
          ...(several ? [el("button", { type: "button", onclick: () => keep(version).catch((e) => showError(page, e)) }, t("calKeep"))] : [])))),
      el("div", {},
        el("button", { type: "button", onclick: () => remove().catch((e) => showError(page, e)) }, t("remove")),
        el("button", { type: "button", onclick: closeEvent }, t("calClose"))),
    );
    details.hidden = false;
    details.scrollIntoView({ block: "nearest" });
  };

  // The view itself.
  const view = el("div", { class: "cal-view" });
  const titles = () => new Map(shown.map((o) => [o.id, o.title || t("calNoTitle")]));
  /** One occurrence in a day: in a month, its start; in a week or the agenda, its hours. */
  const item = (occurrence) => {
    const names = titles();
    const marks = [];
    if (occurrence.conflict) marks.push(el("span", { class: "cal-mark cal-versions" }, t("calMarkVersions")));
    if (occurrence.clashes.length) {
      marks.push(el("span", { class: "cal-mark cal-clash" },
        t("calMarkClash", { titles: calList(occurrence.clashes.map((id) => names.get(id) ?? id)) })));
    }
    const classes = ["cal-item"];
    if (occurrence.all_day) classes.push("cal-all-day");
    if (occurrence.conflict || occurrence.clashes.length) classes.push("cal-marked");
    return el("li", { class: classes.join(" "), "data-id": occurrence.id },
      el("button", { type: "button", class: "cal-open", onclick: () => openEvent(occurrence.id).catch((e) => showError(page, e)) },
        el("span", { class: "cal-time" }, state.view === "month"
          ? calTime(new Date(occurrence.start)) : calHours(occurrence, occurrence.all_day)),
        el("span", { class: "cal-title" }, occurrence.title || t("calNoTitle"))),
      ...marks);
  };
  const byDay = () => {
    const days = new Map();
    for (const occurrence of shown) {
      for (const key of calDaysOf(occurrence)) {
        if (!days.has(key)) days.set(key, []);
        days.get(key).push(occurrence);
      }
    }
    return days;
  };
  const today = calKey(new Date());
  const dayCell = (key, items, label, extra = []) => {
    const classes = ["cal-day", ...extra];
    if (key === today) classes.push("cal-today");
    return el("div", { class: classes.join(" "), "data-date": key, "aria-label": calLongDay(key) },
      el("div", { class: "cal-day-label" }, label),
      el("ul", { class: "cal-items" }, ...items.map(item)));
  };
  const weekdayHeads = () => Array.from({ length: 7 }, (_, i) =>
    el("div", { class: "cal-weekday", "aria-hidden": "true" }, calFormat({ weekday: "short" }).format(new Date(2024, 0, i + 1, 12))));
  const draw = () => {
    const [first, last] = calRange(state);
    const days = byDay();
    for (const button of viewButtons) button.setAttribute("aria-pressed", String(button.dataset.view === state.view));
    if (state.view === "month") {
      heading.textContent = calFormat({ month: "long", year: "numeric" }).format(calDay(state.date));
      const month = calDay(state.date).getMonth();
      const cells = [];
      for (let key = first; key <= last; key = calAddDays(key, 1)) {
        const outside = calDay(key).getMonth() !== month ? ["cal-outside"] : [];
        cells.push(dayCell(key, days.get(key) ?? [], String(calDay(key).getDate()), outside));
      }
      view.replaceChildren(el("div", { class: "cal-month" }, ...weekdayHeads(), ...cells));
    } else if (state.view === "week") {
      heading.textContent = t("calWeekOf", { first: calDate(first), last: calDate(last) });
      const cells = [];
      for (let key = first; key <= last; key = calAddDays(key, 1)) cells.push(dayCell(key, days.get(key) ?? [], calShortDay(key)));
      view.replaceChildren(el("div", { class: "cal-week" }, ...cells));
    } else {
      heading.textContent = t("calAgendaFrom", { first: calDate(first), last: calDate(last) });
      const lines = [];
      for (let key = first; key <= last; key = calAddDays(key, 1)) {
        if (days.has(key)) lines.push(dayCell(key, days.get(key), calLongDay(key)));
      }
      view.replaceChildren(lines.length ? el("div", { class: "cal-agenda" }, ...lines) : el("p", {}, t("calNothing")));
    }
    const marked = shown.filter((o) => o.conflict || o.clashes.length).length;
    legend.textContent = marked ? t("calMarkedCount", { n: marked }) : "";
  };
  const legend = el("p", { class: "cal-legend conflict", role: "status" });
  const reload = async () => {
    const [first, last] = calRange(state);
    const query = new URLSearchParams({ from: first, to: last, tz: calZone });
    shown = await api("GET", "/api/cal/occurrences?" + query);
    draw();
  };
  const go = async (next) => {
    state = next;
    history.pushState(null, "", `/calendar?view=${state.view}&date=${state.date}`);
    await reload();
  };

  page.replaceChildren(el("h1", {}, t("calTitle")), form, details, toolbar, heading, legend, view);
  onStoreChange(async () => {
    await reload();
    if (editing) await openEvent(editing.id);
  });
  await reload();
}

definePage("/calendar", renderCalendar);
