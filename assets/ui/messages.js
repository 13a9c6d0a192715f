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
    mapTitle: "Map",
    mapLabel: "Map of the points, lines and areas",
    mapVisible: "On the map now",
    mapAddHere: "Add a point on the map",
    mapAddMine: "Add a point where I am",
    mapClickToPlace: "Click the map where the point goes.",
    mapLocating: "Finding where this device is…",
    mapNoGeolocation: "This browser cannot tell where the device is; add the point on the map instead.",
    mapPositionRefused: "The browser was not allowed to tell where the device is; allow it in the site settings, or add the point on the map instead.",
    mapNoPosition: "The device's position is not known ({reason}); add the point on the map instead.",
    mapClustered: "{nodes} points here, grouped: click a group to zoom in.",
    mapTruncated: "Only the first {limit} are shown; zoom in to see the rest.",
    mapNothingHere: "Nothing in this part of the map.",
    mapCluster: "{count} points near {position}",
    mapPoint: "point",
    mapWay: "line",
    mapRelation: "group",
    mapForkedShort: "two versions",
    mapDeleted: "{id} (deleted)",
    mapClose: "Close",
    mapPosition: "Position",
    mapNoTags: "no tags",
    mapPhotoAlt: "Photo ({tag})",
    mapForked: "{count} versions were made at the same time on different devices. Keep one, or merge them:",
    mapDeletedVersion: "deleted",
    mapKeep: "Keep this one",
    mapKeepDeleted: "Keep it deleted",
    mapMerge: "Merge the versions…",
    mapHistory: "Earlier versions ({count})",
    mapNewTitle: "New point",
    mapEditTitle: "Edit",
    mapAt: "At {position}",
    mapTagsHint: "Tags: what it is (for example name = North well, amenity = drinking_water).",
    mapKey: "Tag",
    mapValue: "Value",
    mapAddTag: "Add a tag",
    mapRemoveTag: "Remove this tag",
    mapPhoto: "Photo",
    mapNotAnImage: "The chosen file is not a picture this browser can read.",
    mapPhotoTooLarge: "The photo cannot be made small enough to send.",
    mapConfirmDelete: "Delete this point? Others will see it deleted after the next sync.",
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
