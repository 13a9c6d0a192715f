// The project page: who belongs, inviting a device (a QR code and text), removing one, and for a
// device in no project, starting one or joining with an invite. It offers only what the server
// says this device may do (the same rules as `mule project`).
"use strict";

async function renderProject(page) {
  page.replaceChildren(el("h1", {}, t("projectTitle")), el("p", {}, t("loading")));
  // Made once: an invite shown stays when the page redraws (making it changed the store).
  let invite = null;
  const draw = async () => {
    const state = await api("GET", "/api/project");
    const redraw = () => draw().catch((e) => showError(page, e));
    if (state.project?.powers.invite) invite ??= inviteSection();
    page.replaceChildren(...(state.project ? inProject(state, invite, redraw) : noProject(redraw)));
  };
  onStoreChange(draw);
  await draw();
}

/** A form of `fields` and a submit button; `submit()` runs on it, its error shows in the form. */
function projectForm(label, fields, submit) {
  const problem = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "editor project-form" }, ...fields, problem,
    el("div", {}, el("button", { class: "primary", type: "submit" }, label)));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    problem.textContent = "";
    Promise.resolve(submit()).catch((e) => { problem.textContent = t("failed") + " " + e.message; });
  });
  return form;
}

function noProject(redraw) {
  const name = el("input", { name: "name", required: "", "aria-label": t("projectName"),
    placeholder: t("projectName") });
  const invite = el("textarea", { name: "invite", rows: "4", required: "",
    "aria-label": t("projectPaste"), placeholder: t("projectPaste") });
  return [
    el("h1", {}, t("projectTitle")),
    el("p", {}, t("projectNone")),
    el("section", {}, el("h2", {}, t("projectCreate")), el("p", {}, t("projectCreateHow")),
      projectForm(t("projectCreateButton"), [name], async () => {
        await api("POST", "/api/project", { name: name.value.trim() });
        redraw();
      })),
    el("section", {}, el("h2", {}, t("projectJoin")), el("p", {}, t("projectJoinHow")),
      projectForm(t("projectJoinButton"), [invite], async () => {
        await api("POST", "/api/project/join", { invite: invite.value });
        redraw();
      })),
  ];
}

/** The project's page; `invite` is the invite section, for a device that may invite. */
function inProject(state, invite, redraw) {
  const project = state.project;
  const short = (id) => id.slice(0, 12);
  const facts = el("dl", {},
    el("dt", {}, t("projectThisDevice")), el("dd", {}, short(state.me)),
    el("dt", {}, t("projectYourRole")), el("dd", {}, t("projectRole_" + project.role)));
  const rows = project.members.map((member) => memberRow(member, state, redraw));
  const members = el("table", { class: "members" },
    el("thead", {}, el("tr", {}, el("th", {}, t("projectDevice")), el("th", {}, t("projectRoleHead")),
      el("th", {}, t("projectStanding")), el("th", {}, t("actions")))),
    el("tbody", {}, ...rows));
  const inviting = project.powers.invite
    ? invite
    : el("section", {}, el("h2", {}, t("projectInvite")), el("p", {}, t("projectOnlyAdmins")));
  return [el("h1", {}, t("projectNamed", { name: project.name })), facts,
    el("section", {}, el("h2", {}, t("projectMembers")), members), inviting];
}

function memberRow(member, state, redraw) {
  const short = (id) => id.slice(0, 12);
  const who = member.author === state.me ? t("projectMe", { device: short(member.author) }) : short(member.author);
  const via = member.author === state.project.root
    ? t("projectCreated")
    : t("projectInvitedBy", { device: short(member.invited_by ?? "") });
  const standing = {
    active: () => t("projectActive"),
    removed: () => t("projectRemoved", { device: short(member.by), seq: member.through }),
    invite_taken: () => t("projectInviteTaken", { device: short(member.by) }),
  }[member.status]();
  const actions = el("td", {});
  if (state.project.powers.remove.includes(member.author)) {
    const ask = () => actions.replaceChildren(el("div", { class: "confirm", role: "group" },
      el("span", {}, t("projectConfirmRemove", { device: short(member.author) })), " ",
      el("button", { type: "button", class: "danger", onclick: () => remove().catch((e) => {
        actions.append(el("p", { class: "error" }, t("failed") + " " + e.message));
      }) }, t("projectRemove")),
      el("button", { type: "button", onclick: () => actions.replaceChildren(button()) }, t("cancel"))));
    const button = () => el("button", { type: "button", onclick: ask }, t("projectRemove"));
    const remove = async () => {
      await api("DELETE", "/api/project/members/" + encodeURIComponent(member.author));
      redraw();
    };
    actions.append(button());
  }
  return el("tr", { "data-author": member.author }, el("td", {}, who),
    el("td", {}, t("projectRole_" + member.role)), el("td", {}, via + ", " + standing), actions);
}

function inviteSection() {
  const admin = el("input", { type: "checkbox", name: "admin" });
  const lifetime = el("select", { name: "expires", "aria-label": t("projectValidFor") },
    ...[[3600, "projectHour"], [86400, "projectDay"], [604800, "projectWeek"]].map(([seconds, label]) =>
      el("option", { value: String(seconds) }, t(label))));
  lifetime.value = "604800";
  const shown = el("div", { class: "invite" });
  const form = projectForm(t("projectMakeInvite"), [
    el("label", { class: "check" }, admin, " ", t("projectAsAdmin")),
    el("label", {}, t("projectValidFor"), " ", lifetime),
  ], async () => {
    const made = await api("POST", "/api/project/invite",
      { admin: admin.checked, expires_in: Number(lifetime.value) });
    shown.replaceChildren(...invitation(made));
    shown.scrollIntoView({ block: "start" });
  });
  return el("section", {}, el("h2", {}, t("projectInvite")), el("p", {}, t("projectInviteHow")), form, shown);
}

/** An invite made just now: its QR code, its text to copy, and how long it lasts. */
function invitation(made) {
  const text = el("textarea", { class: "invite-text", rows: "5", readonly: "", "aria-label": t("projectInviteText") });
  text.value = made.invite;
  const copied = el("span", { class: "copied", role: "status" });
  const copy = async () => {
    text.select();
    try { await navigator.clipboard.writeText(made.invite); } catch { document.execCommand("copy"); }
    copied.textContent = t("projectCopied");
  };
  const until = new Date(made.expires * 1000).toLocaleString();
  return [
    el("img", { class: "invite-qr", alt: t("projectInviteQr"),
      src: "/api/project/invite.png?invite=" + encodeURIComponent(made.invite) }),
    el("p", {}, t("projectInviteUse", { role: t("projectRole_" + made.role), until })),
    text,
    el("p", {}, el("button", { type: "button", onclick: () => copy().catch(() => {}) }, t("projectCopy")), " ", copied),
  ];
}

definePage("/project", renderProject);
