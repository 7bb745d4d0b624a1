"use strict";
// The guide mouth: a drawn mouth beside the lyrics that lip-syncs the song from its map, with the
// mouth shapes animators use (Rhubarb Lip Sync's A–H and X):
//   A closed (m, b, p)           B clenched teeth (most consonants, "ee")   C open ("eh", "ae")
//   D wide open ("aa")           E slightly rounded ("ao", "er", r)         F puckered ("oo", "oh", w)
//   G f / v (lower lip on the upper teeth)   H tongue up (l)            X rest
// Each shape comes about a film frame (50 ms as heard) before its sound, as animators draw it; the
// mouth eases from one shape to the next (in-betweens) over TRANSITION_S as heard, so at any
// practice speed it moves at a human pace. "Exaggerate" opens and rounds it more than a singer would.
(function () {
  const $ = (id) => document.getElementById(id);
  const NS = "http://www.w3.org/2000/svg";
  //: how far (s, as heard) a vowel's shape comes before its sound; consonants a little less
  const VOWEL_LEAD_S = 0.05, CONSONANT_LEAD_S = 0.03;
  //: ease between two shapes over this long, s as heard
  const TRANSITION_S = 0.07;
  //: a pause between words longer than this (s of song) lets the mouth rest
  const REST_GAP_S = 0.3;

  // Shape parameters: open (0..1), width (×), round (0..1), teeth shown (0..1), lip on teeth, tongue up.
  const SHAPES = {
    A: { open: 0.0, width: 1.0, round: 0.0, teeth: 0, bite: 0, tongue: 0, name: "closed (m b p)" },
    B: { open: 0.12, width: 1.02, round: 0.0, teeth: 1, bite: 0, tongue: 0, name: "teeth (k s t, ee)" },
    C: { open: 0.45, width: 1.0, round: 0.0, teeth: 0.7, bite: 0, tongue: 0, name: "open (eh, ae)" },
    D: { open: 0.85, width: 0.96, round: 0.0, teeth: 0.5, bite: 0, tongue: 0.2, name: "wide open (aa)" },
    E: { open: 0.45, width: 0.82, round: 0.45, teeth: 0.3, bite: 0, tongue: 0, name: "rounded (ao, er)" },
    F: { open: 0.22, width: 0.6, round: 1.0, teeth: 0, bite: 0, tongue: 0, name: "puckered (oo, w)" },
    G: { open: 0.08, width: 0.98, round: 0.0, teeth: 1, bite: 1, tongue: 0, name: "f / v (lip on teeth)" },
    H: { open: 0.5, width: 0.98, round: 0.0, teeth: 0.6, bite: 0, tongue: 1, name: "tongue up (l)" },
    X: { open: 0.02, width: 0.95, round: 0.0, teeth: 0, bite: 0, tongue: 0, name: "rest" },
  };
  const PHONE_SHAPE = {
    M: "A", B: "A", P: "A",
    F: "G", V: "G",
    L: "H",
    AA: "D", AW: "D", AY: "D",
    AE: "C", EH: "C", AH: "C", EY: "C", HH: "C",
    AO: "E", ER: "E", R: "E", OY: "E",
    UW: "F", UH: "F", OW: "F", W: "F",
    IY: "B", IH: "B", Y: "B", K: "B", G: "B", NG: "B", S: "B", Z: "B", T: "B", D: "B", N: "B",
    SH: "B", ZH: "B", CH: "B", JH: "B", TH: "B", DH: "B",
  };
  const VOWELS = new Set(["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]);

  let P = null, keys = [], svg = null, parts = {}, exaggerate = 1.3, current = null;

  // The map as keyframes: {t: song time s, shape, vowel}. Times are the sounds' own; leads are applied per speed.
  function buildKeys(words) {
    const out = [];
    words.forEach((w, i) => {
      const ph = w.phonemes || [];
      if (ph.length) {
        for (const p of ph) {
          const sym = String(p.symbol || "").replace(/[0-9]/g, "").toUpperCase();
          out.push({ t: p.start_s !== undefined ? p.start_s : p.start, shape: PHONE_SHAPE[sym] || "B", vowel: VOWELS.has(sym) });
        }
      } else {
        out.push({ t: w.start_s, shape: "C", vowel: true });  // a word without phonemes: an open mouth
      }
      const next = words[i + 1];
      if (!next || next.start_s - w.end_s > REST_GAP_S) out.push({ t: w.end_s + 0.04, shape: "X", vowel: false });
    });
    out.sort((a, b) => a.t - b.t);
    return out;
  }

  // The shape on screen at song time t, at speed `speed` (0.25..1): the keyframe in force (leads
  // applied) eased in from the one before it.
  function shapeAt(t, speed) {
    const at = (k) => k.t - (k.vowel ? VOWEL_LEAD_S : CONSONANT_LEAD_S) * speed;
    let lo = -1, hi = keys.length - 1;
    // Last keyframe whose (lead-moved) time has come; keyframes are sorted by sound time and
    // leads differ by 20 ms at most, so a binary search on sound time then a local check suffices.
    let a = 0, b = keys.length - 1;
    while (a <= b) { const m = (a + b) >> 1; if (keys[m].t <= t + VOWEL_LEAD_S * speed) { lo = m; a = m + 1; } else b = m - 1; }
    while (lo >= 0 && at(keys[lo]) > t) lo--;
    hi = lo;
    if (hi < 0) return { from: SHAPES.X, to: SHAPES.X, k: 1, name: "X" };
    const key = keys[hi], prev = hi > 0 ? keys[hi - 1] : { shape: "X" };
    const k = Math.min(1, Math.max(0, (t - at(key)) / (TRANSITION_S * speed)));
    return { from: SHAPES[prev.shape], to: SHAPES[key.shape], k: k * k * (3 - 2 * k), name: key.shape };
  }

  function mix(a, b, k) {
    const o = {};
    for (const f of ["open", "width", "round", "teeth", "bite", "tongue"]) o[f] = a[f] + (b[f] - a[f]) * k;
    return o;
  }

  function make(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    (parent || svg).append(e);
    return e;
  }
  function buildSvg() {
    svg = $("guideMouth");
    svg.replaceChildren();
    const defs = make("defs", {});
    const clip = make("clipPath", { id: "guideInside" }, defs);
    parts.clipPath = make("path", { d: "" }, clip);
    parts.lips = make("path", { class: "lips", d: "" });
    parts.inside = make("path", { class: "inside", d: "" });
    const g = make("g", { "clip-path": "url(#guideInside)" });
    parts.upperTeeth = make("rect", { class: "teeth", x: 0, y: 0, width: 0, height: 0 }, g);
    parts.lowerTeeth = make("rect", { class: "teeth", x: 0, y: 0, width: 0, height: 0 }, g);
    parts.tongue = make("ellipse", { class: "tongue", cx: 100, cy: 0, rx: 0, ry: 0 }, g);
    parts.bite = make("path", { class: "lips", d: "" });
  }

  // Draw the mouth for shape parameters s (exaggeration applied).
  function draw(s) {
    const cx = 100, cy = 70;
    const open = Math.min(1, s.open * exaggerate), round = Math.min(1, s.round * Math.min(exaggerate, 1.5));
    const W = 62 * s.width * (1 - 0.15 * round);           // half width of the mouth
    const H = 56 * open;                                   // inner opening height
    const lip = 11 + 5 * round;                            // lip thickness (pursed lips look fuller)
    const wi = W * (0.86 - 0.25 * round);                  // inner corners move in as the lips round
    const top = cy - H / 2, bot = cy + H / 2;
    const f = (x) => x.toFixed(1);
    parts.lips.setAttribute("d",
      "M" + f(cx - W) + " " + f(cy) +
      " C" + f(cx - W * 0.6) + " " + f(top - lip * 1.3) + " " + f(cx - W * 0.15) + " " + f(top - lip * 1.1) + " " + f(cx) + " " + f(top - lip * 0.7) +
      " C" + f(cx + W * 0.15) + " " + f(top - lip * 1.1) + " " + f(cx + W * 0.6) + " " + f(top - lip * 1.3) + " " + f(cx + W) + " " + f(cy) +
      " C" + f(cx + W * 0.6) + " " + f(bot + lip * 1.6) + " " + f(cx - W * 0.6) + " " + f(bot + lip * 1.6) + " " + f(cx - W) + " " + f(cy) + " Z");
    const inner = "M" + f(cx - wi) + " " + f(cy) +
      " Q" + f(cx) + " " + f(top - 1 - H * 0.15) + " " + f(cx + wi) + " " + f(cy) +
      " Q" + f(cx) + " " + f(bot + 1 + H * 0.2) + " " + f(cx - wi) + " " + f(cy) + " Z";
    parts.inside.setAttribute("d", inner);
    parts.clipPath.setAttribute("d", inner);
    const tw = wi * 1.3, th = 9 * s.teeth;
    parts.upperTeeth.setAttribute("x", f(cx - tw / 2)); parts.upperTeeth.setAttribute("y", f(top - 2 - H * 0.1));
    parts.upperTeeth.setAttribute("width", f(tw)); parts.upperTeeth.setAttribute("height", f(th + 2));
    parts.lowerTeeth.setAttribute("x", f(cx - tw / 2)); parts.lowerTeeth.setAttribute("y", f(bot - th * 0.6));
    parts.lowerTeeth.setAttribute("width", f(tw)); parts.lowerTeeth.setAttribute("height", f(th * 0.6 * (1 - s.bite) + 1));
    parts.tongue.setAttribute("cx", cx); parts.tongue.setAttribute("cy", f(bot - H * (0.15 + 0.55 * s.tongue)));
    parts.tongue.setAttribute("rx", f(wi * 0.5)); parts.tongue.setAttribute("ry", f(Math.max(0, H * (0.25 + 0.2 * s.tongue))));
    // f / v: the lower lip tucked up under the upper teeth.
    parts.bite.setAttribute("d", s.bite > 0.05 ? "M" + f(cx - W * 0.7) + " " + f(cy + 2) + " Q" + f(cx) + " " + f(cy - 6 * s.bite) + " " + f(cx + W * 0.7) + " " + f(cy + 2) +
      " Q" + f(cx) + " " + f(cy + 14) + " " + f(cx - W * 0.7) + " " + f(cy + 2) + " Z" : "");
    parts.bite.setAttribute("opacity", f(s.bite));
  }

  function tick() {
    const t = P.songTime(), speed = P.state.speedPct / 100;
    const sh = shapeAt(t, speed);
    const s = mix(sh.from, sh.to, sh.k);
    draw(s);
    if (!current || current.name !== sh.name) {
      $("guideShape").textContent = sh.name + " · " + SHAPES[sh.name].name;
      svg.dataset.shape = sh.name;
    }
    current = { name: sh.name, k: sh.k, open: Math.min(1, s.open * exaggerate), t };
    requestAnimationFrame(tick);
  }

  function init() {
    P = window.lcPractice;
    if (!P || !$("guideMouth")) return;
    keys = buildKeys(P.words());
    buildSvg();
    const ex = $("exaggerate");
    const setEx = () => { exaggerate = Number(ex.value) / 100; $("exaggerateLabel").textContent = ex.value + " %"; };
    ex.addEventListener("input", setEx); setEx();
    requestAnimationFrame(tick);
  }

  window.lcGuide = {
    shapeAt: (t, speed) => { const s = shapeAt(t, speed === undefined ? 1 : speed); return { name: s.name, k: s.k }; },
    current: () => current,
    keys: () => keys,
    SHAPES, PHONE_SHAPE,
  };
  if (document.body.dataset.ready === "1") init(); else document.addEventListener("lc:ready", init, { once: true });
})();
