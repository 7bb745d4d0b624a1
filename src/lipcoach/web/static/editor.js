"use strict";
// Lyrics editor: fix word times by dragging them on the waveform or tapping along slowly;
// saving makes a new song map version.
(function () {
  const $ = (id) => document.getElementById(id);
  const songId = Number(LC.param("song"));
  let map = null, peaks = null, words = [], original = [], version = null, lineIdx = 0, view = { a: 0, b: 1 };
  const audio = new Audio();
  audio.preservesPitch = true;
  let tapping = null;

  async function load() {
    try {
      const data = await LC.api("/api/songs/" + songId + "/practice");
      $("title").textContent = "Fix word times — " + data.song.title;
      $("back").href = "/practice?song=" + songId;
      map = data.songmap; peaks = data.peaks; version = data.songmap_version;
      if (!map) { $("saveStatus").textContent = "no song map yet"; return; }
      audio.src = data.song.audio_url;
      // The page edits its own copy (start/end, s); the map's JSON names say their unit.
      words = map.words.map((w, i) => ({ index: i, text: w.text, start: w.start_s, end: w.end_s, line: w.line }));
      original = words.map((w) => ({ start: w.start, end: w.end }));
      const sel = $("line");
      map.lines.forEach((ln, i) => sel.append(LC.el("option", { value: i, text: (i + 1) + ". " + ln.text })));
      showLine(0);
      wire();
      document.body.dataset.ready = "1";
      $("saveStatus").textContent = "song map version " + version;
    } catch (e) { LC.showError($("saveStatus"), e); }
  }

  function lineWords() { return words.filter((w) => w.line === lineIdx); }
  function showLine(i) {
    lineIdx = Math.max(0, Math.min(map.lines.length - 1, i));
    $("line").value = String(lineIdx);
    const ws = lineWords();
    const a = ws.length ? ws[0].start : map.lines[lineIdx].start_s, b = ws.length ? Math.max(...ws.map((w) => w.end)) : map.lines[lineIdx].end_s;
    view = { a: Math.max(0, a - 1.0), b: Math.min(map.duration_s, b + 1.0) };
    render();
  }
  const X = (t, W) => (t - view.a) / (view.b - view.a) * W;
  function render() {
    const c = $("wave"), dpr = window.devicePixelRatio || 1;
    c.width = Math.round(c.clientWidth * dpr); c.height = Math.round(150 * dpr);
    const g = c.getContext("2d"), W = c.width, H = c.height;
    g.fillStyle = "#fbfaf7"; g.fillRect(0, 0, W, H);
    g.fillStyle = "rgba(0,0,0,.25)";
    for (const b of map.beats_s) if (b >= view.a && b <= view.b) g.fillRect(X(b, W), 0, 1, H);
    if (peaks) {
      const v = peaks.values, r = peaks.rate, mid = H * 0.33;
      g.fillStyle = "#5d6b7a";
      for (let px = 0; px < W; px++) {
        const t0 = view.a + px / W * (view.b - view.a), t1 = view.a + (px + 1) / W * (view.b - view.a);
        let m = 0; for (let k = Math.floor(t0 * r); k <= Math.floor(t1 * r) && k < v.length; k++) m = Math.max(m, v[k] || 0);
        g.fillRect(px, mid - m * mid * 0.9, 1, Math.max(1, 2 * m * mid * 0.9));
      }
    }
    if (!audio.paused || audio.currentTime) { g.fillStyle = "#b3261e"; g.fillRect(X(audio.currentTime, W) - 1, 0, 2, H); }
    // word boxes (DOM, so they can be dragged); positions in CSS pixels
    const box = $("waveBox");
    box.querySelectorAll(".wordbox").forEach((e) => e.remove());
    const cssW = c.clientWidth;
    for (const w of lineWords()) {
      const d = LC.el("div", { class: "wordbox", "data-word": w.index, title: w.text });
      d.append(document.createTextNode(w.text), LC.el("div", { class: "edge" }));
      d.style.left = X(w.start, cssW) + "px"; d.style.width = Math.max(8, X(w.end, cssW) - X(w.start, cssW)) + "px";
      if (w.start !== original[w.index].start || w.end !== original[w.index].end) d.classList.add("changed");
      if (tapping && tapping.next === w.index) d.classList.add("sel");
      d.addEventListener("mousedown", (ev) => startDrag(ev, w, ev.target.classList.contains("edge") ? "end" : "move"));
      box.append(d);
    }
    const body = document.querySelector("#wordTable tbody");
    body.replaceChildren();
    for (const w of lineWords()) body.append(LC.el("tr", {}, LC.el("td", { text: w.text }), LC.el("td", { text: w.start.toFixed(3) }), LC.el("td", { text: w.end.toFixed(3) })));
  }
  function startDrag(ev, w, mode) {
    ev.preventDefault();
    const cssW = $("wave").clientWidth, x0 = ev.clientX, s0 = w.start, e0 = w.end;
    const move = (e2) => {
      const dt = (e2.clientX - x0) / cssW * (view.b - view.a);
      if (mode === "move") { w.start = Math.max(0, s0 + dt); w.end = w.start + (e0 - s0); }
      else { w.end = Math.max(w.start + 0.03, e0 + dt); }
      render();
    };
    const up = () => { window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up); render(); };
    window.addEventListener("mousemove", move); window.addEventListener("mouseup", up);
  }
  function playLine() {
    audio.playbackRate = Number($("speed").value) / 100; audio.preservesPitch = true;
    audio.currentTime = view.a; audio.play();
    const stopAt = view.b;
    const step = () => { render(); if (audio.currentTime >= stopAt) { audio.pause(); if (tapping) stopTap(); return; } if (!audio.paused) requestAnimationFrame(step); };
    requestAnimationFrame(step);
  }
  function startTap() { const ws = lineWords(); if (!ws.length) return; tapping = { next: ws[0].index, last: ws[ws.length - 1].index }; $("tapStatus").textContent = "tap T at the start of: " + ws[0].text; playLine(); }
  function stopTap() { tapping = null; $("tapStatus").textContent = "tapping done"; render(); }
  function tap() {
    if (!tapping) return;
    const w = words[tapping.next], t = audio.currentTime, dur = w.end - w.start;
    w.start = t; w.end = t + dur;
    const prev = words[w.index - 1];
    if (prev && prev.line === w.line && prev.end > t) prev.end = Math.max(prev.start + 0.03, t);
    if (tapping.next >= tapping.last) { stopTap(); return; }
    tapping.next += 1;
    $("tapStatus").textContent = "tap T at the start of: " + words[tapping.next].text;
    render();
  }
  async function save() {
    const changed = words.filter((w) => w.start !== original[w.index].start || w.end !== original[w.index].end)
      .map((w) => ({ index: w.index, start_s: Number(w.start.toFixed(4)), end_s: Number(w.end.toFixed(4)) }));
    if (!changed.length) { $("saveStatus").textContent = "nothing changed"; return; }
    try {
      const res = await LC.api("/api/songs/" + songId + "/songmap", { method: "POST", json: { base_version: version, words: changed } });
      version = res.version;
      original = words.map((w) => ({ start: w.start, end: w.end }));
      $("saveStatus").classList.remove("error");
      $("saveStatus").textContent = "saved as song map version " + res.version;
      render();
    } catch (e) { LC.showError($("saveStatus"), e); }
  }
  function wire() {
    $("line").addEventListener("change", () => showLine(Number($("line").value)));
    $("prevLine").addEventListener("click", () => showLine(lineIdx - 1));
    $("nextLine").addEventListener("click", () => showLine(lineIdx + 1));
    $("playLine").addEventListener("click", playLine);
    $("speed").addEventListener("input", () => { $("speedLabel").textContent = $("speed").value + " %"; audio.playbackRate = Number($("speed").value) / 100; });
    $("tap").addEventListener("click", startTap);
    $("save").addEventListener("click", save);
    $("revert").addEventListener("click", () => { words.forEach((w, i) => { w.start = original[i].start; w.end = original[i].end; }); render(); });
    window.addEventListener("resize", render);
    document.addEventListener("keydown", (ev) => { if (ev.key === "t" || ev.key === "T") tap(); });
  }
  window.lcEditor = { words: () => words, render: () => render() };
  load();
})();
