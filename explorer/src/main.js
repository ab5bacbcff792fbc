// The Explorer's entry: token gate, top bar and a hash router (#/, #/search?q=…, #/e/ID[/tab]).
import "./style.css";

import { onUnauthorized } from "./api.js";
import { errorBox, h, show } from "./dom.js";
import { session } from "./session.js";
import { entityView } from "./views/entity.js";
import { loginView } from "./views/login.js";
import { searchView } from "./views/search.js";

const app = document.getElementById("app");
const top = document.getElementById("top");

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function topBar() {
  if (!session.token) return show(top);
  const q = h("input", { id: "top-q", type: "search", placeholder: "search entities", "aria-label": "Search entities" });
  const form = h("form", { class: "top-search" }, q);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`#/search?${new URLSearchParams({ q: q.value })}`);
  });
  const signOut = h("button", { type: "button", id: "sign-out", class: "link" }, "sign out");
  signOut.addEventListener("click", () => {
    session.signOut();
    navigate("#/");
  });
  show(top, h("a", { href: "#/", class: "brand" }, "rmtc Explorer"), form, h("span", { class: "project", id: "current-project" }, `project ${session.project}`), signOut);
}

async function route(message) {
  topBar();
  if (!session.token) {
    loginView(app, { message, onSignedIn: () => navigate("#/") });
    return;
  }
  const hash = window.location.hash || "#/";
  const entity = /^#\/e\/([^/?]+)(?:\/([a-z]+))?$/.exec(hash);
  const search = /^#\/search(?:\?(.*))?$/.exec(hash);
  try {
    if (entity) {
      await entityView(app, decodeURIComponent(entity[1]), entity[2] || "overview");
    } else {
      await searchView(app, new URLSearchParams(search ? search[1] || "" : ""), navigate);
    }
  } catch (error) {
    if (session.token) show(app, errorBox(error));
  }
}

onUnauthorized((error) => {
  session.signOut();
  route(error);
});
window.addEventListener("hashchange", () => route());
route();
