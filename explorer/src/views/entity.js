// A page per entity: attributes, flags, thumbnail, files, neighbours, and tabs for provenance, rights,
// metrics (runs) and revoke impact (licences and talent).
import { api } from "../api.js";
import { entityHref, entityLink, errorBox, h, humanSize, saveBlob, show } from "../dom.js";
import { kindBadge, loadKinds } from "../kinds.js";
import { lineChart } from "./chart.js";
import { graphView } from "./graph.js";
import { revokeView } from "./revoke.js";
import { containsView, reportButtons, rightsView } from "./rights.js";

const HIDDEN = new Set(["id", "kind", "label", "flags", "edges_out", "edges_in", "aliases", "name"]);

function value(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return h("code", { class: "json" }, JSON.stringify(v, null, 1));
  return String(v);
}

function attributes(entity) {
  const rows = Object.entries(entity)
    .filter(([key, v]) => !HIDDEN.has(key) && v !== null && v !== "" && !(Array.isArray(v) && !v.length))
    .map(([key, v]) => h("tr", { dataset: { key } }, h("th", {}, key), h("td", {}, value(v))));
  return h("table", { class: "attrs", id: "attributes" }, h("tbody", {}, rows));
}

function flagBanners(entity) {
  return Object.entries(entity.flags || {}).map(([flag, detail]) =>
    h("div", { class: `banner flag-${flag}`, role: "status", dataset: { flag } },
      h("strong", {}, flag),
      detail && detail.at ? ` on ${detail.at}` : "",
      detail && detail.reason ? `: ${detail.reason}` : "",
      detail && detail.by ? ` (by ${detail.by})` : ""));
}

function isImage(entity) {
  return entity.kind === "asset" && entity.storage === "copy" && entity.media && entity.media.width > 0;
}

function thumbnail(entity) {
  const figure = h("figure", { class: "thumb", id: "thumbnail" }, h("span", { class: "muted" }, "decoding…"));
  api.thumbnail(entity.id).then(
    ({ blob }) => {
      const img = h("img", { src: URL.createObjectURL(blob), alt: `thumbnail of ${entity.name}`, id: "thumbnail-img" });
      img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
      show(figure, img, h("figcaption", {}, `${entity.media.width}×${entity.media.height}`));
    },
    (error) => show(figure, errorBox(error)),
  );
  return figure;
}

function files(entity) {
  const list = h("ul", { id: "files" }, h("li", { class: "muted" }, "…"));
  api.files(entity.id).then(
    (data) => {
      if (!data.files.length) return show(list, h("li", { class: "muted" }, "no stored files"));
      show(list, data.files.map((f) =>
        h("li", {},
          h("button", {
            type: "button",
            class: "download",
            dataset: { digest: f.digest },
            onclick: async (event) => {
              try {
                saveBlob(await api.download(entity.id, f.digest, f.filename));
              } catch (error) {
                event.target.after(errorBox(error));
              }
            },
          }, `Download ${f.filename}`),
          ` ${f.role} · ${humanSize(f.size)} · `,
          h("span", { class: "mono" }, f.digest.slice(0, 16)))));
    },
    (error) => show(list, h("li", {}, errorBox(error))),
  );
  return list;
}

function neighbours(entity) {
  const box = h("div", { id: "neighbours" }, h("span", { class: "muted" }, "…"));
  api.lineage(entity.id, { direction: "both", depth: 1, problems: false }).then(
    (data) => {
      const rows = data.nodes.filter((n) => n.id !== entity.id);
      show(box, rows.length ? h("ul", {}, rows.map((n) =>
        h("li", {}, n.direction === "up" ? "↑ " : "↓ ", kindBadge(n.kind), " ", entityLink(n), n.via ? h("span", { class: "muted" }, ` [${n.via.relation}]`) : null)))
        : h("span", { class: "muted" }, "no neighbours"));
    },
    (error) => show(box, errorBox(error)),
  );
  return box;
}

function metrics(entity) {
  const box = h("section", { class: "panel", id: "metrics" }, h("h2", {}, "Metrics"), h("p", { class: "muted" }, "loading…"));
  api.metrics(entity.id).then(
    (data) => {
      const series = Object.entries(data.series);
      show(box, h("h2", {}, "Metrics"),
        h("p", {}, `status: ${data.status || "unknown"}`),
        series.length ? h("div", { class: "charts" }, series.map(([key, points]) => lineChart(key, points)))
          : h("p", { class: "muted" }, "no metrics logged"));
    },
    (error) => show(box, h("h2", {}, "Metrics"), errorBox(error)),
  );
  return box;
}

function tabsOf(entity) {
  const tabs = [["overview", "Overview"], ["provenance", "Provenance"], ["rights", "Rights"]];
  if (entity.kind === "run") tabs.push(["metrics", "Metrics"]);
  if (entity.kind === "license" || (entity.kind === "party" && entity.talent)) tabs.push(["revoke", "Revoke impact"]);
  return tabs;
}

function overview(entity) {
  return h("section", { class: "panel", id: "overview" },
    h("div", { class: "overview" },
      h("div", {}, h("h2", {}, "Attributes"), attributes(entity)),
      h("div", {},
        isImage(entity) ? thumbnail(entity) : null,
        h("h2", {}, "Files"), files(entity),
        h("h2", {}, "Neighbours"), neighbours(entity))));
}

export async function entityView(root, ref, tab) {
  await loadKinds();
  let entity;
  try {
    entity = await api.entity(ref);
  } catch (error) {
    show(root, h("section", { class: "panel" }, errorBox(error), h("a", { href: "#/" }, "back to search")));
    return;
  }
  const tabs = tabsOf(entity);
  const current = tabs.some(([key]) => key === tab) ? tab : "overview";
  const body = {
    overview: () => overview(entity),
    provenance: () => graphView(entity),
    rights: () => [rightsView(entity), entity.kind === "party" || entity.kind === "license" ? null : containsView(entity)],
    metrics: () => metrics(entity),
    revoke: () => revokeView(entity),
  }[current]();
  show(root,
    h("header", { class: "entity-head" },
      kindBadge(entity.kind),
      h("h1", { id: "entity-title" }, entity.name, entity.version != null ? h("span", { class: "version" }, `@${entity.version}`) : null),
      h("span", { class: "mono muted", id: "entity-id" }, entity.id),
      (entity.aliases || []).map((a) => h("span", { class: "chip" }, a)),
      reportButtons(entity)),
    flagBanners(entity),
    h("nav", { class: "tabs", id: "tabs" },
      tabs.map(([key, text]) => h("a", { href: entityHref(entity.id, key), class: key === current ? "tab active" : "tab", dataset: { tab: key } }, text))),
    body);
}
