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
    search: "Search keys and values",
    key: "Key",
    values: "Value",
    actions: "Actions",
    add: "Add a note",
    editing: "Change “{key}”",
    keyNeeded: "Give the note a key (a name to find it by).",
    valueHint: "Value: text, or JSON such as {\"depth\": 3}",
    concurrent: "{count} devices changed this note at the same time. Keep one value, or write one that merges them:",
    keep: "Keep this one",
    merge: "Write a merged value",
    confirmDelete: "Delete this note?",
    confirmYes: "Yes, delete",
    confirmNo: "No, keep it",
    noNotes: "No notes yet.",
    noMatch: "No note has “{text}” in its key or value.",
    countOne: "1 note",
    countAll: "{total} notes",
    countSome: "Showing {from}–{to} of {total} notes",
    previous: "Previous",
    next: "Next",
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
    checkTitle: "Check the store",
    checkAbout: "Reads every entry and attachment again and checks their signatures and fingerprints. It changes nothing; a large store takes a while.",
    checkButton: "Check the store",
    checking: "Checking…",
    checkClean: "No problems found.",
    checkCounted: "Entries checked: {entries}. Attachment pieces checked: {objects}.",
    checkProblems: "Found {count} problem(s).",
    checkRepairable: "{place}: {what} (can be rebuilt from the log)",
    checkLost: "{place}: {what} (must come again from another device's store)",
    checkRepairHint: "To rebuild what can be rebuilt, run mule fsck --repair in a terminal on this device.",
    // (end of status)
  },
};
