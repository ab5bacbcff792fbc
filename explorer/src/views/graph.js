// The provenance graph: Cytoscape.js, coloured by kind, rights problems outlined, upstream at the top.
// Arrows follow the recorded edge (src -> dst); the layout ranks every edge from its downstream end to
// its upstream end, so sources sit above what was made from them whatever the relation.
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";

import { api } from "../api.js";
import { entityHref, entityLink, errorBox, h, show } from "../dom.js";
import { colourOf, kindBadge } from "../kinds.js";

cytoscape.use(dagre);

const PROBLEMS = {
  blocked: "blocked model version",
  revoked: "revoked licence / consent withdrawn",
  withholds: "withholds a right from this artefact",
  purged: "bytes erased",
};

const STYLE = [
  {
    selector: "node",
    style: {
      shape: "round-rectangle",
      width: 170,
      height: 30,
      "background-color": "data(colour)",
      "border-width": 1,
      "border-color": "#666",
      label: "data(label)",
      "font-size": 10,
      "text-valign": "center",
      "text-halign": "center",
      "text-wrap": "ellipsis",
      "text-max-width": 160,
    },
  },
  { selector: "node.root", style: { "border-width": 3, "border-color": "#111" } },
  { selector: "node.withholds", style: { "border-width": 4, "border-color": "#e8590c" } },
  { selector: "node.revoked", style: { "border-width": 4, "border-color": "#c92a2a", "border-style": "dashed" } },
  { selector: "node.blocked", style: { "border-width": 5, "border-color": "#c92a2a", "border-style": "double" } },
  { selector: "node.purged", style: { "background-opacity": 0.4, "border-style": "dotted" } },
  { selector: "node:selected", style: { "overlay-color": "#1c7ed6", "overlay-opacity": 0.2 } },
  {
    selector: "edge",
    style: {
      width: 1.5,
      "curve-style": "bezier",
      "line-color": "#999",
      "target-arrow-color": "#999",
      "source-arrow-color": "#999",
      "target-arrow-shape": "triangle",
      label: "data(relation)",
      "font-size": 8,
      color: "#555",
      "text-rotation": "autorotate",
      "text-background-color": "#fff",
      "text-background-opacity": 0.8,
    },
  },
  { selector: "edge.reversed", style: { "target-arrow-shape": "none", "source-arrow-shape": "triangle" } },
];

function nodeElement(node, rootId) {
  const classes = [...(node.problems || [])];
  if (node.id === rootId) classes.push("root");
  return { group: "nodes", data: { id: node.id, label: node.label, kind: node.kind, colour: node.colour || colourOf(node.kind), entity: node }, classes };
}

function edgeElement(edge) {
  const reversed = edge.upstream === "src";
  return {
    group: "edges",
    data: {
      id: `${edge.src}|${edge.relation}|${edge.dst}`,
      source: reversed ? edge.dst : edge.src,
      target: reversed ? edge.src : edge.dst,
      relation: edge.relation,
    },
    classes: reversed ? ["reversed"] : [],
  };
}

/** The graph section of an entity page; ``root`` is the entity JSON. */
export function graphView(root) {
  const container = h("div", { id: "graph", class: "graph", role: "img", "aria-label": "provenance graph" });
  const side = h("aside", { class: "graph-side", id: "graph-side" }, h("p", { class: "muted" }, "Click a node."));
  const list = h("tbody", { id: "graph-nodes" });
  const status = h("div", { class: "status", id: "graph-status" });
  const direction = h(
    "select",
    { id: "graph-direction", "aria-label": "Direction" },
    ["up", "down", "both"].map((d) => h("option", { value: d, selected: d === "up" }, d)),
  );
  const depth = h("input", { id: "graph-depth", type: "number", min: 1, max: 50, placeholder: "all", "aria-label": "Depth" });
  const legend = h("div", { class: "legend", id: "graph-legend" });
  let cy = null;
  let generation = 0; // a trace answered after a newer one was asked for is dropped
  const nodes = new Map();

  function relayout() {
    cy.layout({ name: "dagre", rankDir: "BT", nodeSep: 24, rankSep: 56, animate: false, fit: true, padding: 20 }).run();
  }

  function renderLegend() {
    const kinds = [...new Set([...nodes.values()].map((n) => n.kind))].sort();
    show(
      legend,
      kinds.map((k) => kindBadge(k)),
      Object.entries(PROBLEMS).map(([cls, text]) => h("span", { class: `legend-problem problem-${cls}` }, text)),
      h("span", { class: "muted" }, "arrows: recorded relation; sources at the top"),
    );
  }

  function renderList() {
    show(
      list,
      [...nodes.values()].map((n) =>
        h(
          "tr",
          { dataset: { id: n.id, kind: n.kind } },
          h("td", {}, kindBadge(n.kind)),
          h("td", {}, h("button", { type: "button", class: "link node-select", onclick: () => select(n.id) }, n.label)),
          h("td", {}, (n.problems || []).map((p) => h("span", { class: `flag flag-${p}` }, p))),
        ),
      ),
    );
  }

  function merge(data) {
    const added = [];
    for (const node of data.nodes) {
      if (!nodes.has(node.id)) {
        nodes.set(node.id, node);
        added.push(nodeElement(node, root.id));
      } else if ((node.problems || []).length) {
        const known = nodes.get(node.id);
        known.problems = [...new Set([...(known.problems || []), ...node.problems])];
        cy && cy.getElementById(node.id).addClass(node.problems);
      }
    }
    for (const edge of data.edges) {
      const element = edgeElement(edge);
      if (!cy || cy.getElementById(element.data.id).empty()) added.push(element);
    }
    return added;
  }

  function select(id) {
    const node = nodes.get(id);
    if (!node) return;
    cy.$(":selected").unselect();
    cy.getElementById(id).select();
    show(
      side,
      h("div", {}, kindBadge(node.kind)),
      h("h3", { id: "selected-label" }, node.label),
      (node.problems || []).map((p) => h("div", { class: `flag flag-${p}` }, PROBLEMS[p] || p)),
      h("div", { class: "buttons" },
        h("button", { type: "button", id: "expand-up", onclick: () => expand(id, "up") }, "Expand upstream"),
        h("button", { type: "button", id: "expand-down", onclick: () => expand(id, "down") }, "Expand downstream"),
      ),
      h("a", { href: entityHref(id), id: "open-selected" }, "Open its page"),
    );
  }

  async function expand(id, way) {
    const mine = generation;
    try {
      const data = await api.lineage(id, { direction: way, depth: 1, rights_of: root.id });
      if (mine !== generation) return;
      const added = merge(data);
      cy.add(added);
      relayout();
      renderList();
      renderLegend();
      show(status, `${nodes.size} nodes; added ${added.filter((e) => e.group === "nodes").length} ${way}stream of ${nodes.get(id).label}`);
      container.dataset.nodes = String(nodes.size);
    } catch (error) {
      show(status, errorBox(error));
    }
  }

  async function load() {
    const mine = ++generation;
    show(status, "loading…");
    try {
      const data = await api.lineage(root.id, { direction: direction.value, depth: depth.value });
      if (mine !== generation) return;
      nodes.clear();
      if (cy) cy.destroy();
      const elements = merge(data);
      cy = cytoscape({ container, elements, style: STYLE, minZoom: 0.05, maxZoom: 4 });
      container.cy = cy;
      cy.on("tap", "node", (event) => select(event.target.id()));
      cy.on("dbltap", "node", (event) => expand(event.target.id(), "up").then(() => expand(event.target.id(), "down")));
      relayout();
      renderList();
      renderLegend();
      container.dataset.nodes = String(nodes.size);
      show(status, `${nodes.size} nodes${data.truncated ? " (truncated: narrow the depth)" : ""}`);
    } catch (error) {
      if (mine === generation) show(status, errorBox(error));
    }
  }

  const toolbar = h(
    "div",
    { class: "toolbar" },
    h("label", {}, "direction ", direction),
    h("label", {}, "depth ", depth),
    h("button", { type: "button", id: "graph-trace", onclick: load }, "Trace"),
    h("button", { type: "button", id: "graph-fit", onclick: () => cy && cy.fit(undefined, 20) }, "Fit"),
    h("button", { type: "button", id: "graph-layout", onclick: () => cy && relayout() }, "Layout"),
  );
  const section = h(
    "section",
    { class: "panel", id: "provenance" },
    h("h2", {}, "Provenance of ", entityLink(root)),
    toolbar,
    legend,
    h("div", { class: "graph-row" }, container, side),
    status,
    h("table", { class: "grid" }, h("thead", {}, h("tr", {}, h("th", {}, "kind"), h("th", {}, "entity"), h("th", {}, "problems"))), list),
  );
  queueMicrotask(load);
  return section;
}
