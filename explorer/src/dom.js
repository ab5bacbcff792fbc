// Building the page without HTML strings: every value from the server becomes a text node or an
// attribute set through the DOM, never markup. Nothing here uses innerHTML.

const SVG_NS = "http://www.w3.org/2000/svg";

/** Internal links (#/…) and object URLs only: a server string never becomes a javascript: URL. */
function safeHref(value) {
  const text = String(value);
  return text.startsWith("#/") || text.startsWith("blob:") ? text : "#/";
}

function setProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key === "class") {
      el.setAttribute("class", value);
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "href") {
      el.setAttribute("href", safeHref(value));
    } else if (key === "style") {
      throw new Error("style attributes are refused by the CSP: use a class");
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) {
      continue;
    }
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("a", { href: "#/e/…", class: "x" }, "text", childNode). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return append(el, children);
}

/** An SVG element, built the same way. */
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  return append(el, children);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function show(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A visible error box: the server's message and hint, as text. */
export function errorBox(error) {
  return h(
    "div",
    { class: "error", role: "alert" },
    h("strong", {}, error.code ? `${error.code}: ` : "error: "),
    error.message || String(error),
    error.hint ? h("div", { class: "hint" }, error.hint) : null,
  );
}

/** Save a blob under a file name through a temporary object URL (an <a href> cannot send a token). */
export function saveBlob({ blob, filename }) {
  const href = URL.createObjectURL(blob);
  const link = h("a", { href, download: filename, class: "hidden" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export function entityHref(id, tab) {
  return `#/e/${encodeURIComponent(id)}${tab ? `/${tab}` : ""}`;
}

/** A link to an entity page, labelled as the server labels it. */
export function entityLink(ref, tab) {
  return h("a", { href: entityHref(ref.id, tab), class: `elink kind-${ref.kind}` }, ref.label || ref.id);
}

export function humanSize(bytes) {
  if (typeof bytes !== "number") {
    return "";
  }
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}
