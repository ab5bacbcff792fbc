// Token entry: the token is kept in sessionStorage and sent as "Authorization: Bearer".
import { api } from "../api.js";
import { errorBox, h, show } from "../dom.js";
import { session } from "../session.js";

export function loginView(root, { message, onSignedIn }) {
  const token = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    placeholder: "rmtc token",
    "aria-label": "API token",
  });
  const project = h("input", {
    id: "project",
    type: "text",
    value: session.project,
    required: true,
    "aria-label": "Project",
  });
  const status = h("div", { class: "status" }, message ? errorBox(message) : null);
  const form = h(
    "form",
    { class: "login", id: "login-form" },
    h("h1", {}, "rmtc Explorer"),
    h("p", {}, "Paste an API token (`rmtc token create USER`). It stays in this tab only."),
    h("label", { for: "token" }, "API token"),
    token,
    h("label", { for: "project" }, "Project"),
    project,
    h("button", { type: "submit", id: "sign-in" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    session.signIn(token.value, project.value);
    show(status, h("span", { class: "muted" }, "checking…"));
    try {
      await api.kinds();
      onSignedIn();
    } catch (error) {
      session.signOut();
      show(status, errorBox(error));
    }
  });
  show(root, form);
  token.focus();
}
