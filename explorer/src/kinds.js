// Kind colours come from the server (rmtc.services.lineage.KIND_COLOURS), fetched once per page load.
import { api } from "./api.js";
import { h } from "./dom.js";

let cache = null;

export async function loadKinds() {
  if (cache === null) {
    cache = await api.kinds();
  }
  return cache;
}

export function colourOf(kind) {
  return (cache && cache.colours && cache.colours[kind]) || "#eeeeee";
}

/** A small coloured badge naming a kind; the colour is set through the CSSOM, which the CSP allows. */
export function kindBadge(kind) {
  const badge = h("span", { class: "badge", title: kind }, kind);
  badge.style.backgroundColor = colourOf(kind);
  return badge;
}
