// Search across entities of every kind (or one kind) by name, or by a reference (kind:name@version).
import { api } from "../api.js";
import { entityHref, errorBox, h, show } from "../dom.js";
import { kindBadge, loadKinds } from "../kinds.js";

function resultRow(entity) {
  const flags = Object.keys(entity.flags || {});
  return h(
    "tr",
    { class: "result", dataset: { id: entity.id } },
    h("td", {}, kindBadge(entity.kind)),
    h("td", {}, h("a", { href: entityHref(entity.id), class: "result-link" }, entity.name)),
    h("td", { class: "num" }, entity.version ?? ""),
    h("td", { class: "mono" }, entity.id.slice(0, 8)),
    h("td", {}, entity.created_by || ""),
    h("td", {}, flags.map((flag) => h("span", { class: `flag flag-${flag}` }, flag))),
  );
}

export async function searchView(root, params, navigate) {
  const kinds = await loadKinds();
  const q = h("input", {
    id: "search-q",
    type: "search",
    value: params.get("q") || "",
    placeholder: "name, or kind:name@version",
    "aria-label": "Search",
  });
  const kind = h(
    "select",
    { id: "search-kind", "aria-label": "Kind" },
    h("option", { value: "" }, "every kind"),
    kinds.kinds.map((k) => h("option", { value: k, selected: k === params.get("kind") }, k)),
  );
  const body = h("tbody", { id: "results" });
  const more = h("button", { type: "button", id: "more", class: "hidden" }, "More");
  const status = h("div", { class: "status", id: "search-status" });
  const form = h(
    "form",
    { class: "search", id: "search-form" },
    q,
    kind,
    h("button", { type: "submit", id: "search-go" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (q.value) next.set("q", q.value);
    if (kind.value) next.set("kind", kind.value);
    navigate(`#/search?${next}`);
  });
  let cursor = null;
  async function page() {
    try {
      const result = await api.search(params.get("q") || "", params.get("kind") || "", cursor);
      body.append(...result.items.map(resultRow));
      cursor = result.next;
      more.classList.toggle("hidden", !cursor);
      show(status, body.children.length ? `${body.children.length} shown` : "nothing matches");
    } catch (error) {
      show(status, errorBox(error));
    }
  }
  more.addEventListener("click", page);
  const head = h(
    "thead",
    {},
    h("tr", {}, ["kind", "name", "version", "id", "by", "flags"].map((c) => h("th", {}, c))),
  );
  show(root, h("section", { class: "panel" }, h("h1", {}, "Search"), form, h("table", { class: "grid" }, head, body), more, status));
  q.focus();
  await page();
}
