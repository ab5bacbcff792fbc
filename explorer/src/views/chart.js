// Metric series as plain SVG line charts: one chart per key, steps on x, values on y.
import { h, svg } from "../dom.js";

const WIDTH = 520;
const HEIGHT = 220;
const MARGIN = { top: 24, right: 16, bottom: 32, left: 64 };

function fmt(value) {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-3 && value !== 0) ? value.toExponential(3) : value.toPrecision(4);
}

function extent(values) {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return [0, 1];
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

/** One chart: title, axes with their end values, the line, and a <title> tooltip on every point. */
export function lineChart(key, points) {
  const [x0, x1] = extent(points.map((p) => p.step));
  const [y0, y1] = extent(points.map((p) => p.value));
  const w = WIDTH - MARGIN.left - MARGIN.right;
  const ht = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (step) => MARGIN.left + ((step - x0) / (x1 - x0)) * w;
  const y = (value) => MARGIN.top + ht - ((value - y0) / (y1 - y0)) * ht;
  const finite = points.filter((p) => Number.isFinite(p.value));
  const line = finite.map((p) => `${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const dots = finite.length <= 200
    ? finite.map((p) => svg("circle", { cx: x(p.step), cy: y(p.value), r: 2.5, class: "dot" },
        svg("title", {}, `step ${p.step}: ${fmt(p.value)}`)))
    : [];
  const last = points[points.length - 1];
  return h(
    "figure",
    { class: "chart", dataset: { metric: key } },
    svg(
      "svg",
      { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": `${key} over steps` },
      svg("text", { x: MARGIN.left, y: 16, class: "chart-title" }, key),
      svg("line", { x1: MARGIN.left, y1: MARGIN.top + ht, x2: MARGIN.left + w, y2: MARGIN.top + ht, class: "axis" }),
      svg("line", { x1: MARGIN.left, y1: MARGIN.top, x2: MARGIN.left, y2: MARGIN.top + ht, class: "axis" }),
      svg("text", { x: MARGIN.left - 6, y: MARGIN.top + 4, class: "tick end" }, fmt(y1)),
      svg("text", { x: MARGIN.left - 6, y: MARGIN.top + ht, class: "tick end" }, fmt(y0)),
      svg("text", { x: MARGIN.left, y: HEIGHT - 10, class: "tick" }, `step ${x0}`),
      svg("text", { x: MARGIN.left + w, y: HEIGHT - 10, class: "tick end" }, `step ${x1}`),
      svg("polyline", { points: line, class: "series" }),
      dots,
    ),
    h("figcaption", {}, `${key}: ${points.length} point(s), last ${last ? fmt(last.value) : "-"}`),
  );
}
