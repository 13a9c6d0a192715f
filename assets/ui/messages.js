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
    qrSendHow: "This screen plays a loop of QR codes; another device films it with its camera and rebuilds the data. At most {max} MB plays at once: more is sent in parts.",
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
    qrCarries: "{bytes} bytes, entries: {entries}",
    qrNeeds: "codes the camera must catch: any {k} (QR version {version})",
    qrPart: "Part {part} of {parts}.",
    qrNextPart: "Play the next part",
    qrReceive: "Receive",
    qrReceiveComing: "Receiving codes needs the phone page, which is coming.",
    // (end of qr)

    // ---- project ----
    projectTitle: "Project",
    projectNamed: "Project “{name}”",
    projectNone: "This device is in no project: it shares its entries with every device it syncs with.",
    projectCreate: "Start a project",
    projectCreateHow: "A project is a group of devices: only they can add to it, and what travels between them is locked with the project's key. This device becomes its first admin.",
    projectName: "The project's name",
    projectCreateButton: "Start the project",
    projectJoin: "Join a project",
    projectJoinHow: "Paste the invite an admin of the project gave you (it starts with mule-invite1:).",
    projectPaste: "Paste the invite here",
    projectJoinButton: "Join",
    projectThisDevice: "This device",
    projectYourRole: "Its role",
    projectRole_admin: "admin",
    projectRole_member: "member",
    projectMembers: "Devices",
    projectDevice: "Device",
    projectRoleHead: "Role",
    projectStanding: "How it joined",
    projectMe: "{device} (this device)",
    projectCreated: "started the project",
    projectInvitedBy: "invited by {device}",
    projectActive: "active",
    projectRemoved: "removed by {device} (its entries up to number {seq} still count)",
    projectInviteTaken: "not admitted: device {device} used the same invite first",
    projectRemove: "Remove",
    projectConfirmRemove: "Remove {device}? What it writes from now on will not count anywhere.",
    projectInvite: "Invite a device",
    projectOnlyAdmins: "Only an admin of the project can invite or remove devices.",
    projectInviteHow: "An invite lets one more device join. Whoever holds it can read the project's data: show it in person.",
    projectAsAdmin: "The new device may invite and remove devices too (admin)",
    projectValidFor: "Can be used for",
    projectHour: "one hour",
    projectDay: "one day",
    projectWeek: "one week",
    projectMakeInvite: "Make an invite",
    projectInviteQr: "The invite as a QR code",
    projectInviteText: "The invite as text",
    projectInviteUse: "One device can join as {role} with this invite until {until}: scan the code, or copy the text into its Project page.",
    projectCopy: "Copy the text",
    projectCopied: "Copied.",
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
