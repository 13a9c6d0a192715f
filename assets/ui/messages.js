// mule ui: every text the app shows, by language. To translate, copy the `en` table to a new
// language code (es, pt, sw, ...) and translate the values; `{name}` placeholders stay as they
// are. Each page keeps its texts in its own section.
"use strict";

const messages = {
  en: {
    // ---- common ----
    appName: "mule",
    loading: "Loading…",
    failed: "Something went wrong:",
    edit: "Edit",
    remove: "Delete",
    save: "Save",
    cancel: "Cancel",
    notFound: "No such page.",
    navMap: "Map",
    navCalendar: "Calendar",
    navNotes: "Notes",
    navSync: "Sync",
    navQr: "QR",
    navProject: "Project",
    navStatus: "Status",
    // (end of common)

    // ---- map ----
    // (end of map)

    // ---- calendar ----
    calTitle: "Calendar",
    calView_month: "Month",
    calView_week: "Week",
    calView_agenda: "Agenda",
    calViewLabel: "View",
    calPrevious: "‹ Previous",
    calToday: "Today",
    calForward: "Next ›",
    calDownload: "Download as .ics",
    calAddTitle: "Add an event",
    calEditTitle: "Change “{title}”",
    calPhraseLabel: "When, in your own words",
    calPhraseHint: "e.g. standup every monday 9-10am except dec 28",
    calTitleLabel: "Title (optional)",
    calTitleHint: "else the words that are not a date or time",
    calInZone: "{tz} time",
    calReadAs: "Read as:",
    calNotRead: "Not understood: {error}",
    calUnchanged: "The schedule stays as it is; type a new one to move the event.",
    calSaved: "Saved “{title}”.",
    calNoTitle: "(no title)",
    calOnce: "once",
    calAllDay: "all day",
    calEveryDay: "every day",
    calEveryWeek: "every week",
    calEveryMonth: "every month",
    calEveryYear: "every year",
    calEveryNDays: "every {n} days",
    calEveryNWeeks: "every {n} weeks",
    calEveryNMonths: "every {n} months",
    calEveryNYears: "every {n} years",
    calRepeatOn: "{every} on {on}",
    calNthWeekday: "the {nth} {day}",
    calNth1: "first",
    calNth2: "second",
    calNth3: "third",
    calNth4: "fourth",
    calNth5: "fifth",
    calNthLast: "last",
    calMonthDays: "day {days}",
    calInMonths: "in {months}",
    calUntil: "until {date}",
    calTimes: "{n} times",
    calListAnd: "{items} and {last}",
    calExcept: "Except {dates}.",
    calNextOnes: "Next:",
    calNoneAhead: "No occurrence lies ahead.",
    calWeekOf: "Week of {first} to {last}",
    calAgendaFrom: "{first} to {last}",
    calNothing: "Nothing planned in these days.",
    calMarkVersions: "several versions (changed on two devices at once)",
    calMarkClash: "overlaps {titles}",
    calMarkedCount: "{n} marked: overlapping in time, or changed on two devices at once.",
    calVersionsExplained: "This event was changed on two devices at once, so it has several versions. Keep one, or edit it: saving replaces them all.",
    calWritten: "Written as “{text}”",
    calFirst: "First: {when}",
    calKeep: "Keep this one",
    calClose: "Close",
    calConfirmDelete: "Delete this event, with all its repeats?",
    // (end of calendar)

    // ---- notes ----
    notesTitle: "Notes",
    search: "Search keys",
    key: "Key",
    values: "Values",
    actions: "Actions",
    add: "Add a note",
    valueHint: "Value (JSON, or plain text)",
    concurrent: "Concurrent values: saving one keeps it and replaces the others.",
    keep: "Keep this one",
    confirmDelete: "Delete this note?",
    noNotes: "No notes yet.",
    // (end of notes)

    // ---- sync ----
    // (end of sync)

    // ---- qr ----
    // (end of qr)

    // ---- project ----
    // (end of project)

    // ---- status ----
    statusTitle: "Status",
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
    // (end of status)
  },
};
