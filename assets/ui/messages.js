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
    qrTitle: "QR codes",
    qrSend: "Send",
    qrSendHow: "This screen plays a loop of QR codes; another device films it with its camera and rebuilds the data. At most {max} KiB plays at once: more is sent in parts.",
    qrWhat: "What to send",
    qrEverything: "Everything this device holds",
    qrUnacknowledged: "What the other devices have not confirmed yet",
    qrPeerLacks: "What {device} lacks ({lacks} entries)",
    qrSize: "Code size and speed",
    qrProfile_small: "Small codes, slow: old cameras (version {version}, {fps} per second)",
    qrProfile_default: "Medium codes: phone to laptop (version {version}, {fps} per second)",
    qrProfile_large: "Large codes, fast: a steady camera (version {version}, {fps} per second)",
    qrProfile_photo: "Largest codes, slow: photos of the screen (version {version}, {fps} per second)",
    qrProfile_duo: "Two codes side by side: big screens (version {version}, {fps} per second)",
    qrPlay: "Play",
    qrNothing: "Nothing to send: the other devices already have everything.",
    qrFrame: "QR code",
    qrPause: "Pause",
    qrResume: "Play",
    qrFullScreen: "Full screen",
    qrSpeed: "Speed",
    qrFrameInfo: "code {number} of {count} · {fps} per second",
    qrCarries: "{bytes} bytes, {entries} entries",
    qrNeeds: "the camera needs any {k} codes (QR version {version})",
    qrPart: "Part {part} of {parts}.",
    qrNextPart: "Play the next part",
    qrReceive: "Receive",
    qrReceiveComing: "Receiving codes needs the phone page, which is coming.",
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
