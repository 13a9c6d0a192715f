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
    syncTitle: "Sync",
    syncIntro: "Sync with a USB stick or a shared folder: what this device has goes onto it, and what the others left there comes in.",
    syncPlaces: "Places to sync with",
    syncNoPlaces: "No drive found. Plug in a USB stick, or add a folder by its path below.",
    syncButton: "Sync",
    syncForget: "Forget",
    syncFree: "{size} free",
    syncAbsent: "not plugged in",
    syncAddLabel: "Add a folder by its path",
    syncAddHint: "/media/you/STICK",
    syncAdd: "Add folder",
    syncRunning: "Syncing with {name}…",
    syncReading: "Reading {read} of {bundles} ({bytesRead} of {bytes}); {entries} so far",
    syncReadAll: "Read {bundles} ({bytes}): {entries}",
    syncWritten: "Wrote {entries} ({bytes}) to the folder",
    syncResult: "Result",
    syncNoResult: "Nothing synced yet in this window.",
    syncResultPlace: "Synced with {name} at {time}.",
    syncCameIn: "Came in: {entries} from {bundles}.",
    syncNothingIn: "Came in: nothing new ({bundles} looked at).",
    syncWentOut: "Went out: {entries} written to the folder.",
    syncAcknowledged: "Went out: nothing new; a note saying what this device has, so the others know.",
    syncNothingOut: "Went out: nothing, the folder already carries everything.",
    syncWaiting: "Of what came in, {entries} wait for earlier ones that have not arrived yet.",
    syncRejected: "Refused: {reason}",
    syncSkipped: "Another sync of this store is running (from a terminal?). Try again in a moment.",
    syncPeers: "What the others have",
    syncNoPeers: "No other device has told us yet what it has: after they sync with the same stick, it shows here.",
    syncPeerHasAll: "{device} has everything you have (it told us at {time}).",
    syncPeerLacks: "{device} still lacks {entries} of yours (as it told us at {time}).",
    syncWaitsFor: "{entries} wait for earlier ones from {device}.",
    syncUnknownTime: "an unknown time",
    syncFile: "Bundle file",
    syncFileIntro: "For when the stick is on another machine: download a bundle here and carry it, or open one that was brought.",
    syncExport: "Download a bundle of everything",
    syncImportLabel: "Open a bundle file",
    syncImporting: "Reading {file}…",
    syncImported: "{file}: {entries} from {device}.",
    syncImportedNothing: "{file}: nothing new, every entry in it was here already.",
    syncImportedBefore: "{file} was opened here before: nothing changed.",
    problemFull: "The folder's disk is full. Free some space on it (or use another stick) and sync again.",
    problemReadOnly: "This folder cannot be written: the stick may be write-protected (a small switch on its side) or mounted read-only. Unlock it, or choose another folder.",
    problemMissing: "This folder is not there: was the stick removed? Plug it in again, or check the path.",
    problemBadBundle: "{file} is not a bundle mule can use, so nothing was changed: {error}",
    problemOther: "That did not work: {error}",
    // Counts: the `_one` form where the language says "one" (Intl.PluralRules); add `_few`,
    // `_many`, ... where a language needs them.
    syncEntries_one: "1 entry",
    syncEntries: "{count} entries",
    syncNewEntries_one: "1 new entry",
    syncNewEntries: "{count} new entries",
    syncBundles_one: "1 bundle",
    syncBundles: "{count} bundles",
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
