// The rights panel (effective rights, licence and consent status), "contains talent?" and reports.
import { api } from "../api.js";
import { entityHref, entityLink, errorBox, h, saveBlob, show } from "../dom.js";

function chain(path) {
  const hops = [];
  path.forEach((step, i) => {
    hops.push(h("a", { href: entityHref(step.id), class: "hop" }, step.label));
    if (step.relation && i < path.length - 1) hops.push(h("span", { class: "rel" }, ` —${step.relation}→ `));
  });
  return h("div", { class: "chain" }, hops);
}

function licenceRows(statuses) {
  return statuses.map((lic) =>
    h(
      "tr",
      { class: `licence status-${lic.status}`, dataset: { id: lic.id } },
      h("td", {}, h("a", { href: entityHref(lic.id) }, lic.name)),
      h("td", {}, h("span", { class: `flag flag-${lic.status}` }, lic.status)),
      h("td", {}, (lic.grants || []).join(", ")),
      h("td", {}, (lic.excludes || []).join(", ")),
      h("td", {}, lic.finish || ""),
      h("td", {}, lic.withholds ? h("span", { class: "flag flag-withholds" }, "withholds") : ""),
      h("td", {}, h("a", { href: entityHref(lic.id, "revoke") }, "revoke impact")),
    ),
  );
}

function consentOf(talent, statuses) {
  const byName = new Map(statuses.map((s) => [s.name, s.status]));
  const states = talent.agreements.map((a) => byName.get(a) || "unknown");
  if (!states.length) return "no agreement";
  if (states.includes("active")) return "consent given";
  if (states.every((s) => s === "revoked")) return "consent withdrawn";
  return "agreement expired";
}

function rightsReport(data) {
  const withheld = Object.entries(data.withheld);
  return [
    h("div", { class: "held", id: "rights-held" },
      h("strong", {}, "held: "),
      data.held.length ? data.held.map((r) => h("span", { class: "chip ok", dataset: { right: r } }, r)) : "(none)"),
    h("div", { id: "rights-withheld" },
      withheld.map(([right, reasons]) =>
        h("details", { class: "withheld", dataset: { right }, open: true },
          h("summary", {}, h("span", { class: "chip bad" }, right), ` not held: ${reasons.length} reason(s)`),
          reasons.map((w) =>
            h("div", { class: "reason" },
              h("div", {}, w.reason),
              h("div", { class: "muted" }, "source ", entityLink(w.source), w.license ? [" · licence ", entityLink(w.license)] : null),
              chain(w.path)))))),
    data.requirements.length ? h("p", {}, "obligations: ", data.requirements.join(", ")) : null,
    h("h3", {}, "Licences"),
    h("table", { class: "grid", id: "licences" },
      h("thead", {}, h("tr", {}, ["licence", "status", "grants", "excludes", "until", "", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, licenceRows(data.license_status))),
    h("h3", {}, "Talent and consent"),
    h("table", { class: "grid", id: "talents" },
      h("thead", {}, h("tr", {}, ["talent", "frames", "agreements", "consent"].map((c) => h("th", {}, c)))),
      h("tbody", {},
        data.talent_status.map((t) =>
          h("tr", { dataset: { id: t.id } },
            h("td", {}, h("a", { href: entityHref(t.id) }, t.name)),
            h("td", { class: "num" }, t.frames),
            h("td", {}, t.agreements.join(", ")),
            h("td", {}, h("span", { class: "consent" }, consentOf(t, data.license_status))))))),
  ];
}

export function rightsView(entity) {
  const body = h("div", { id: "rights-body" }, h("p", { class: "muted" }, "loading…"));
  const at = h("input", { id: "rights-at", type: "date", "aria-label": "Evaluate on" });
  async function load() {
    try {
      show(body, rightsReport(await api.rights(entity.id, { at: at.value })));
    } catch (error) {
      show(body, errorBox(error));
    }
  }
  at.addEventListener("change", load);
  setTimeout(load, 0);
  return h("section", { class: "panel", id: "rights" },
    h("h2", {}, "Effective rights"),
    h("label", {}, "on ", at),
    body);
}

export function containsView(entity) {
  const talent = h("select", { id: "contains-talent", "aria-label": "Talent" });
  const result = h("div", { id: "contains-result" });
  const form = h("form", { class: "toolbar", id: "contains-form" },
    h("label", {}, "talent ", talent),
    h("button", { type: "submit", id: "contains-check" }, "Contains?"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await api.contains(entity.id, talent.value);
      show(result,
        h("p", { class: answer.contains ? "verdict yes" : "verdict no", id: "contains-verdict" },
          `${answer.artefact.label} contains ${answer.talent.label}: ${answer.contains ? "YES" : "no"}`),
        answer.paths.slice(0, 50).map(chain),
        answer.paths.length > 50 ? h("p", { class: "muted" }, `… and ${answer.paths.length - 50} more path(s)`) : null);
    } catch (error) {
      show(result, errorBox(error));
    }
  });
  api.search("", "party").then((page) => {
    const talents = page.items.filter((p) => p.talent);
    show(talent, talents.map((p) => h("option", { value: p.id }, p.name)));
    if (!talents.length) show(result, h("p", { class: "muted" }, "no talent recorded in this project"));
  }, (error) => show(result, errorBox(error)));
  return h("section", { class: "panel", id: "contains" }, h("h2", {}, "Contains talent?"), form, result);
}

export function reportButtons(entity) {
  const status = h("span", { class: "status", id: "report-status" });
  const button = (format, text) =>
    h("button", {
      type: "button",
      id: `report-${format}`,
      onclick: async () => {
        try {
          saveBlob(await api.report(entity.id, format));
          show(status, `downloaded the ${text} report`);
        } catch (error) {
          show(status, errorBox(error));
        }
      },
    }, text);
  return h("div", { class: "toolbar", id: "reports" }, "report: ", button("html", "HTML"), button("md", "Markdown"), button("json", "JSON"), status);
}
