// The API token and project live in sessionStorage: gone when the tab closes, never in a cookie.

const TOKEN = "rmtc.token";
const PROJECT = "rmtc.project";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN) || "";
  },
  get project() {
    return sessionStorage.getItem(PROJECT) || "default";
  },
  signIn(token, project) {
    sessionStorage.setItem(TOKEN, token.trim());
    sessionStorage.setItem(PROJECT, (project || "default").trim() || "default");
  },
  setProject(project) {
    sessionStorage.setItem(PROJECT, project);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN);
  },
};
