// The local sign-in window: finds out how the typed site signs people in, offers that way
// first and the others one click away, and runs the App Session Launcher and the password
// sign-in. The web sign-in itself happens in the app's separate window.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (id) => document.getElementById(id);
const views = ["site-view", "asl-view", "password-view", "code-view"];

// The site as last checked, and what it offers: { site, kind, default, others }.
let offer = null;
let offerFor = "";
let chosen = false;
let countdown = null;
let backupCode = false;

// Errors from the app are lowercase fragments (they also end up in logs); the window shows
// them as sentences.
function sentence(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
}

function show(view) {
  for (const id of views) $(id).hidden = id !== view;
  const focus = { "site-view": "site", "password-view": "login", "code-view": "code" }[view];
  if (focus) $(focus).focus();
}

function setError(id, message) {
  $(id).textContent = sentence(message || "");
  $(id).hidden = !message;
}

function showStatus(status) {
  if (!status) return;
  // While waiting for an approval the page itself says what to do.
  $("status").textContent = status.state === "approve" ? "" : sentence(status.message);
  $("status").className = status.state;
  if (status.state === "approve") {
    show("asl-view");
    $("asl-message").textContent = status.message;
    $("asl-url").textContent = status.url || "";
    $("asl-retry").hidden = true;
    $("asl-cancel").hidden = false;
    startCountdown(status.deadline);
  } else if (!$("asl-view").hidden && ["failed", "cancelled"].includes(status.state)) {
    stopCountdown();
    $("asl-cancel").hidden = true;
    $("asl-retry").hidden = false;
  } else if (status.state === "signed_in") {
    stopCountdown();
    show("site-view");
  }
  $("continue").disabled = status.state === "waiting";
}

function startCountdown(deadline) {
  stopCountdown();
  const tick = () => {
    const left = Math.max(0, deadline - Math.floor(Date.now() / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    $("asl-countdown").textContent = `Waiting for your approval… ${minutes}:${seconds} left`;
  };
  tick();
  countdown = setInterval(tick, 1000);
}

function stopCountdown() {
  if (countdown) clearInterval(countdown);
  countdown = null;
  $("asl-countdown").textContent = "";
}

function renderOffer() {
  $("continue").textContent = `Continue: ${offer.default.label}`;
  const list = $("other-list");
  list.replaceChildren();
  for (const other of offer.others) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.method = other.method;
    button.textContent = other.label;
    button.addEventListener("click", () => begin(other.method, true));
    list.appendChild(button);
  }
  $("other-ways").hidden = offer.others.length === 0;
}

// Asks the site how it signs people in; resolves to the offer or null (error shown).
async function checkSite() {
  const typed = $("site").value.trim();
  if (offer && typed === offerFor) return offer;
  setError("site-error", "");
  $("site-checking").hidden = false;
  $("continue").disabled = true;
  try {
    const result = await invoke("site_info", { site: typed });
    if ($("site").value.trim() !== typed) return null; // typed on meanwhile
    offer = result;
    offerFor = typed;
    renderOffer();
    return offer;
  } catch (message) {
    if ($("site").value.trim() === typed) {
      offer = null;
      setError("site-error", String(message));
      $("other-ways").hidden = true;
      $("continue").textContent = "Continue";
    }
    return null;
  } finally {
    $("site-checking").hidden = true;
    $("continue").disabled = false;
  }
}

let typingTimer = null;
$("site").addEventListener("input", () => {
  clearTimeout(typingTimer);
  offer = null;
  $("other-ways").hidden = true;
  $("continue").textContent = "Continue";
  if ($("site").value.trim()) typingTimer = setTimeout(checkSite, 300);
});

async function begin(method, byChoice) {
  chosen = byChoice;
  setError("site-error", "");
  if (method === "credentials") {
    setError("password-error", "");
    $("switch-method").hidden = true;
    show("password-view");
    return;
  }
  try {
    await invoke("start_sign_in", { site: offer.site, method, chosen });
  } catch (message) {
    show("site-view");
    setError("site-error", String(message));
  }
}

$("site-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const found = await checkSite();
  if (found) begin(found.default.method, false);
});

for (const back of document.querySelectorAll("button.back")) {
  back.addEventListener("click", async () => {
    if (!$("asl-cancel").hidden && !$("asl-view").hidden) await invoke("cancel_sign_in");
    stopCountdown();
    show("site-view");
    $("other-ways").open = true;
  });
}

$("asl-cancel").addEventListener("click", () => invoke("cancel_sign_in"));
$("asl-retry").addEventListener("click", () => begin("asl", chosen));

async function sendPassword(code) {
  const outcome = await invoke("sign_in_with_password", {
    site: offer.site,
    login: $("login").value,
    password: $("password").value,
    code,
    chosen,
  });
  if (outcome.state === "signed_in") {
    $("password").value = "";
    $("code").value = "";
    show("site-view");
  } else if (outcome.state === "two_factor") {
    show("code-view");
    // The first answer only asks for a code; later ones say the code was wrong.
    setError("code-error", code ? outcome.message : "");
  } else if (outcome.state === "switch") {
    show("password-view");
    setError("password-error", outcome.message);
    $("switch-method").textContent = "Continue with the web sign-in";
    $("switch-method").dataset.method = outcome.method;
    $("switch-method").hidden = false;
  } else {
    show(code ? "code-view" : "password-view");
    setError(code ? "code-error" : "password-error", outcome.message);
  }
  return outcome;
}

$("password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  setError("password-error", "");
  $("password-submit").disabled = true;
  try {
    await sendPassword(null);
  } finally {
    $("password-submit").disabled = false;
  }
});

$("switch-method").addEventListener("click", () => begin($("switch-method").dataset.method, true));

$("code-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  setError("code-error", "");
  $("code-submit").disabled = true;
  try {
    await sendPassword($("code").value.trim());
  } finally {
    $("code-submit").disabled = false;
  }
});

$("use-backup").addEventListener("click", () => {
  backupCode = !backupCode;
  // A backup code is sent exactly like an authenticator code.
  $("code-label").textContent = backupCode ? "Backup code" : "Two-factor code";
  $("code-help").textContent = backupCode
    ? "Enter one of the backup codes you saved when you turned on two-factor authentication. Each works once."
    : "Enter the code your authenticator app (Google Authenticator, Duo Mobile) shows.";
  $("use-backup").textContent = backupCode ? "Use an authenticator code instead" : "Use a backup code instead";
  $("code").focus();
});

listen("sign-in-status", (event) => showStatus(event.payload));

invoke("initial_state").then((state) => {
  if (state.site) $("site").value = state.site;
  const list = $("recent-sites");
  for (const site of state.recent_sites) {
    const option = document.createElement("option");
    option.value = site;
    list.appendChild(option);
  }
  if (state.keyring_error) {
    showStatus({ state: "failed", message: state.keyring_error });
    $("continue").disabled = true;
    return;
  }
  showStatus(state.status);
  if (state.toolkit_sessions.length) {
    $("toolkit-who").textContent = state.toolkit_sessions.join(", ");
    $("toolkit-offer").hidden = false;
  }
  if (state.site) checkSite();
});

$("toolkit-import").addEventListener("click", async () => {
  $("toolkit-import").disabled = true;
  try {
    const reports = await invoke("import_toolkit_sessions");
    const lines = reports.map(({ site, login, status, reason }) => {
      const who = `${login} @ ${site}`;
      if (status === "imported") return `Imported ${who}.`;
      if (status === "skipped") return `Skipped ${who}: ${reason}.`;
      return `Could not store ${who}: ${reason}.`;
    });
    $("status").textContent = lines.join(" ");
    $("status").className = reports.some((r) => r.status === "imported") ? "signed_in" : "failed";
  } catch (message) {
    $("status").textContent = sentence(String(message));
    $("status").className = "failed";
  } finally {
    $("toolkit-offer").hidden = true;
  }
});
