// The Accounts window: every site with its people and their sessions, and every action of the
// tray menu. What it shows comes whole from the app (core's overview) and is redrawn on each
// change; what it does is the tray's actions, sent by name.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (id) => document.getElementById(id);

// Relative times ("ends in 7 h") come with each overview; asking again keeps them current.
const REFRESH_MS = 30_000;

// Errors from the app are lowercase fragments (they also end up in logs); the window shows
// them as sentences.
function sentence(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
}

// The local time a session ends: "18:40", or "Wed 2 Dec, 18:40" when not today.
function clock(epochSeconds) {
  const at = new Date(epochSeconds * 1000);
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (at.toDateString() === new Date().toDateString()) return time;
  const day = at.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
  return `${day}, ${time}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A button that sends `action` and then says `done`; `label` is what a screen reader says
// (the visible text alone would not name the person; it starts with that text, so voice
// control finds the button by what it shows), `key` keeps focus across redraws.
function actionButton(text, label, action, key, className, done) {
  const button = element("button", className, text);
  button.type = "button";
  button.setAttribute("aria-label", label);
  button.dataset.key = key;
  button.addEventListener("click", () => perform(button, action, done));
  return button;
}

function personItem(site, person) {
  const item = element("li", "person");
  item.dataset.login = person.login;
  const about = element("div", "about");
  item.appendChild(about);

  const who = element("p", "who");
  who.appendChild(element("strong", "login", person.login));
  if (person.name && person.name !== person.login) {
    who.appendChild(element("span", "name", ` (${person.name})`));
  }
  if (person.is_default) who.appendChild(element("span", "tag", "Default user"));
  else if (person.current) who.appendChild(element("span", "tag", "Current on this site"));
  about.appendChild(who);

  // The state is words with a mark; colour only repeats it.
  const state = element("p", `state ${person.state}`);
  const mark = { active: "●", needs_attention: "▲", claims_lapsed: "▲", expired: "✕" }[person.state];
  const markNode = element("span", "mark", mark);
  markNode.setAttribute("aria-hidden", "true");
  state.appendChild(markNode);
  let text = person.state_text;
  if (person.ends) text += ` · ${person.ends} (${clock(person.expires_at)})`;
  else text += " · the site sets no end time";
  state.appendChild(element("span", "state-text", text));
  about.appendChild(state);
  if (person.attention) about.appendChild(element("p", "attention", sentence(person.attention)));
  if (person.method) about.appendChild(element("p", "quiet method", `Signed in with: ${person.method}`));

  const whoAt = `${person.login} on ${site.site}`;
  const actions = element("div", "actions");
  if (person.renew && person.current) {
    actions.appendChild(actionButton("Renew now…", `Renew now: ${whoAt}`,
      { action: "renew_now", site: site.site }, `renew|${site.site}`, "renew"));
  }
  if (!person.is_default) {
    actions.appendChild(actionButton("Make default", `Make default: ${whoAt}`,
      { action: "use", site: site.site, login: person.login }, `use|${site.site}|${person.login}`,
      "secondary use", `${whoAt} is now the default.`));
  }
  actions.appendChild(actionButton("Sign out", `Sign out ${whoAt}`,
    { action: "sign_out", site: site.site, login: person.login },
    `sign-out|${site.site}|${person.login}`, "secondary sign-out", `Signed ${whoAt} out.`));
  item.appendChild(actions);
  return item;
}

function siteItem(site) {
  const item = element("li", "site");
  item.dataset.site = site.site;
  const top = element("div", "site-top");
  top.appendChild(element("h2", "", site.site));
  // Said in words in the heading's row: programs that name no site get this site's user.
  if (site.is_default) top.appendChild(element("span", "tag", "Default site"));
  item.appendChild(top);
  if (site.current && site.current.startsWith("script ")) {
    item.appendChild(element("p", "quiet", `Programs get the API ${site.current} for this site.`));
  }
  const people = element("ul", "people");
  for (const person of site.people) people.appendChild(personItem(site, person));
  item.appendChild(people);
  const scripts = site.scripts.filter((name) => site.current !== `script ${name}`);
  if (scripts.length) item.appendChild(element("p", "quiet", `API scripts: ${scripts.join(", ")}`));
  return item;
}

function render(view) {
  const focused = document.activeElement && document.activeElement.dataset.key;
  $("headline").textContent = view.headline;
  $("problem").textContent = view.problem ? sentence(view.problem) : "";
  $("problem").hidden = !view.problem;
  $("idle").textContent = view.idle_warning || "";
  $("idle").hidden = !view.idle_warning;
  $("sites").replaceChildren(...view.sites.map(siteItem));
  $("nobody").hidden = view.sites.length > 0;
  $("sign-out-everywhere").disabled = !view.signed_in;
  $("keep-alive").checked = view.keep_alive;
  $("toolkit-files").checked = view.toolkit_files;
  $("autostart").checked = view.autostart;
  if (focused) {
    const again = document.querySelector(`[data-key="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

function say(text, failed) {
  $("status").textContent = text;
  $("status").className = failed ? "failed" : "";
}

async function perform(control, action, done) {
  control.disabled = true;
  try {
    await invoke("account_action", { action });
    say(done || "");
  } catch (message) {
    say(sentence(String(message)), true);
  } finally {
    control.disabled = false;
  }
  // A change the app announces redraws the window by itself; one that failed or changed
  // nothing is shown as it now stands.
  await refresh();
}

async function refresh() {
  try {
    render(await invoke("accounts_overview"));
  } catch (message) {
    say(sentence(String(message)), true);
  }
}

$("sign-in").addEventListener("click", (e) => perform(e.currentTarget, { action: "sign_in" }));
$("sign-out-everywhere").addEventListener("click", (e) =>
  perform(e.currentTarget, { action: "sign_out_everywhere" }, "Signed out everywhere."));
$("quit").addEventListener("click", (e) => perform(e.currentTarget, { action: "quit" }));
for (const [id, action] of [
  ["keep-alive", "set_keep_alive"],
  ["toolkit-files", "set_toolkit_files"],
  ["autostart", "set_autostart"],
]) {
  $(id).addEventListener("change", (e) => perform(e.currentTarget, { action, on: e.currentTarget.checked }));
}

listen("accounts-changed", (event) => render(event.payload));
// Settings changed from a terminal announce nothing; looking at the window again shows them.
window.addEventListener("focus", refresh);
setInterval(refresh, REFRESH_MS);
refresh();
