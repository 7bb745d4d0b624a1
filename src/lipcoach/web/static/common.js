// Shared helpers of the practice studio pages. Everything user-provided (titles, names,
// lyrics) is put on the page with textContent, never as HTML.
"use strict";

const LC = {};

LC.api = async function (path, opts = {}) {
  const init = Object.assign({ headers: {} }, opts);
  if (init.method && init.method !== "GET") init.headers["X-Lipcoach"] = "1";
  if (init.json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(init.json);
    delete init.json;
  }
  const r = await fetch(path, init);
  let body = null;
  const type = r.headers.get("content-type") || "";
  if (type.includes("json")) body = await r.json();
  if (!r.ok) {
    const msg = body && (body.error || body.detail) ? (body.error || body.detail) : r.status + " " + r.statusText;
    throw new Error(typeof msg === "string" ? msg : JSON.stringify(msg));
  }
  return body;
};

// Build an element: LC.el("div", {class: "x", text: "hello"}, child, ...)
LC.el = function (tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};

// Seconds as m:ss.s (rounded to the tenth first, so 9.96 s is "0:10.0", never "0:010.0").
LC.fmt = function (s) {
  if (!isFinite(s)) return "–";
  const neg = s < 0;
  const tenths = Math.round(Math.abs(s) * 10);
  const m = Math.floor(tenths / 600), r = (tenths - m * 600) / 10;
  return (neg && tenths ? "-" : "") + m + ":" + (r < 10 ? "0" : "") + r.toFixed(1);
};

// A take report's verdict as the actor reads it, with the reason behind it when the report gives one.
LC.verdictText = function (report) {
  const words = { in_sync: "in sync", not_lip_syncing: "not lip-syncing", cant_confirm: "can't confirm" };
  const verdict = words[report.verdict] || String(report.verdict).replace(/_/g, " ");
  return report.verdict_reason ? verdict + " (" + report.verdict_reason + ")" : verdict;
};

LC.param = function (name) {
  return new URLSearchParams(location.search).get(name);
};

// Poll a job until it is done or failed; onProgress(job) on every poll.
LC.waitJob = async function (jobId, onProgress, everyMs = 400) {
  for (;;) {
    const job = await LC.api("/api/jobs/" + jobId);
    if (onProgress) onProgress(job);
    if (job.state === "done" || job.state === "failed") return job;
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

LC.progressBar = function () {
  const fill = LC.el("div", { class: "fill" });
  const label = LC.el("span", { class: "plabel" });
  const bar = LC.el("div", { class: "progress" }, fill, label);
  bar.set = function (fraction, text) {
    fill.style.width = Math.round(100 * Math.max(0, Math.min(1, fraction))) + "%";
    label.textContent = text || "";
  };
  return bar;
};

// The four mouth shapes of the practice page, drawn as small inline SVG icons.
LC.mouthIcon = function (shape, size = 34) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 40 40");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("class", "mouth mouth-" + shape);
  const add = (tag, attrs) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    svg.append(e);
    return e;
  };
  add("circle", { cx: 20, cy: 20, r: 19, class: "face" });
  if (shape === "closed") {
    add("path", { d: "M8 20 Q20 16 32 20 Q20 24 8 20 Z", class: "lip" });
    add("line", { x1: 8, y1: 20, x2: 32, y2: 20, class: "seam" });
  } else if (shape === "f-v") {
    add("path", { d: "M9 17 Q20 13 31 17 L31 19 L9 19 Z", class: "lip" });
    add("rect", { x: 13, y: 19, width: 14, height: 4, class: "teeth" });
    add("path", { d: "M10 24 Q20 21 30 24 Q20 28 10 24 Z", class: "lip" });
  } else if (shape === "rounded") {
    add("ellipse", { cx: 20, cy: 21, rx: 7, ry: 8, class: "lip" });
    add("ellipse", { cx: 20, cy: 21, rx: 3.5, ry: 4.5, class: "hole" });
  } else if (shape === "free") {
    // No shape to watch: a relaxed mouth.
    add("path", { d: "M11 22 Q20 25 29 22", class: "seam" });
  } else {
    add("ellipse", { cx: 20, cy: 22, rx: 12, ry: 10, class: "lip" });
    add("ellipse", { cx: 20, cy: 22, rx: 9, ry: 7.5, class: "hole" });
  }
  const title = document.createElementNS(NS, "title");
  title.textContent = shape === "free" ? "no shape to watch" : shape;
  svg.append(title);
  return svg;
};

LC.showError = function (where, err) {
  where.textContent = String(err && err.message ? err.message : err);
  where.classList.add("error");
};
