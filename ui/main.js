// The local sign-in window: asks for the site and starts the web sign-in in the app.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const form = document.getElementById("site-form");
const siteInput = document.getElementById("site");
const siteError = document.getElementById("site-error");
const button = document.getElementById("continue");
const statusLine = document.getElementById("status");

// Errors from the app are lowercase sentence fragments (they also end up in logs); the window
// shows them as sentences.
function sentence(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function showStatus(status) {
  if (!status) return;
  statusLine.textContent = sentence(status.message);
  statusLine.className = status.state;
  button.disabled = status.state === "waiting";
}

function showSiteError(message) {
  siteError.textContent = message ? sentence(message) : "";
  siteError.hidden = !message;
  siteInput.setAttribute("aria-invalid", message ? "true" : "false");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showSiteError("");
  try {
    const site = await invoke("start_web_sign_in", { site: siteInput.value });
    siteInput.value = site;
  } catch (message) {
    showSiteError(String(message));
    siteInput.focus();
  }
});

listen("sign-in-status", (event) => showStatus(event.payload));

invoke("initial_state").then((state) => {
  if (state.site) siteInput.value = state.site;
  const list = document.getElementById("recent-sites");
  for (const site of state.recent_sites) {
    const option = document.createElement("option");
    option.value = site;
    list.appendChild(option);
  }
  if (state.keyring_error) {
    showStatus({ state: "failed", message: state.keyring_error });
    button.disabled = true;
  } else {
    showStatus(state.status);
  }
});
