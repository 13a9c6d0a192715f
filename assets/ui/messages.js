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
