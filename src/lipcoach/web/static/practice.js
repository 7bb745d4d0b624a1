"use strict";
// The practice page: karaoke lyrics, breath countdown, mouth shapes, speed with a Rubber Band
// HQ render swapped in when ready, loops with passes / ramp / count-in, recording a take.
(function () {
  const $ = (id) => document.getElementById(id);
  const songId = Number(LC.param("song"));
  const status = $("status");
  const state = { speedPct: 100, loop: null, pass: 0, playing: false, counting: false, recording: null, lineIdx: -1, nextWord: -1 };
  let map = null, words = [], lines = [], breaths = [], beats = [], downbeats = [], icons = {}, peaks = null, duration = 0;
  let mix = null, stem = null, audioCtx = null, waveLayer = null, startGen = 0;

  // -- a playable part (the mix or the vocal stem) with its HQ renders --------------------------
  // `src` is what the element plays: the original (pct 100, whole song) or a Rubber Band
  // render at `pct` of the song from `a` to `b` s (the whole song, or the loop: ready sooner).
  class Track {
    // `renderPart`: what the server renders at other speeds ("mix", "stem", or "band" = the mix
    // without the separated vocal, which the main track plays once the song's stem is ready).
    constructor(part, url, renderPart) {
      this.part = part; this.origUrl = url; this.renderPart = renderPart || part;
      this.orig = { url, pct: 100, a: 0, b: Infinity, kind: "original" };
      this.src = this.orig; this.full = new Map(); this.loops = new Map(); this.pending = new Set();
      this.el = new Audio(); this.el.preload = "auto"; this.el.src = url; this.el.preservesPitch = true;
    }
    songTime() { return this.src.a + this.el.currentTime * this.src.pct / 100; }
    seek(t) { return this.choose(state.speedPct, t, true); }
    rate(pct) { this.el.playbackRate = pct / this.src.pct; this.el.preservesPitch = true; }
    // The best source for speed `pct` at song time t: a loop render covering t and the loop,
    // then the whole-song render, then the original played at a rate.
    best(pct, t) {
      const lp = state.loop;
      const covering = [...this.loops.values()].filter((r) => r.pct === pct && t >= r.a - 1e-3 && t < r.b - 0.05);
      if (lp) {
        const r = covering.find((r) => lp.a >= r.a - 1e-3 && lp.b <= r.b + 1e-3);
        if (r) return r;
      }
      return this.full.get(pct) || covering[0] || this.orig;
    }
    // Changes of source are chained, so a seek made while a render is being swapped in lands
    // after the swap instead of being undone by it. t === null: wherever playback is then.
    choose(pct, t, doSeek) {
      const run = () => {
        const tt = t === null ? this.songTime() : t;
        const r = this.best(pct, tt);
        if (r.url !== this.src.url) return this.swap(r, pct, tt);
        this.rate(pct);
        if (doSeek) this.el.currentTime = Math.max(0, (tt - r.a) * 100 / r.pct);
      };
      this.busy = (this.busy || Promise.resolve()).then(run, run);
      return this.busy;
    }
    setSpeed(pct) { return this.choose(pct, null, false); }
    swap(r, pct, t) {
      const wasPlaying = !this.el.paused;
      this.el.pause();
      this.el.src = r.url; this.src = r;
      return new Promise((resolve) => {
        this.el.addEventListener("loadedmetadata", () => {
          this.rate(pct);
          this.el.currentTime = Math.max(0, (t - r.a) * 100 / r.pct);
          this.el.addEventListener("seeked", () => {
            if (wasPlaying) this.el.play().catch(() => {});
            if (this.part === "mix") updateHQLabel();
            resolve();
          }, { once: true });
        }, { once: true });
      });
    }
    requestHQ(pct) {
      if (pct === 100) return;
      // The loop first (a few seconds of work), then the whole song.
      const lp = state.loop;
      const loopDone = lp ? this.requestRender(pct, Math.max(0, lp.a - 0.5), lp.b + 0.5) : Promise.resolve();
      return loopDone.then(() => this.requestRender(pct));
    }
    async requestRender(pct, a, b) {
      const region = a !== undefined;
      const id = pct + (region ? ":" + a.toFixed(1) + "-" + b.toFixed(1) : "");
      if (this.pending.has(id) || (!region && this.full.has(pct))) return;
      this.pending.add(id);
      const what = region ? "HQ loop render " : "HQ render ";
      try {
        const body = { speed_pct: pct, part: this.renderPart };
        if (region) { body.start_s = a; body.end_s = b; }
        const res = await LC.api("/api/songs/" + songId + "/renders", { method: "POST", json: body });
        if (res.state !== "done") {
          const job = await LC.waitJob(res.job.id, (j) => {
            if (this.part === "mix" && state.speedPct === pct && this.src.pct !== pct) setHQLabel("busy", what + Math.round(100 * j.progress) + " %");
          });
          if (job.state !== "done") throw new Error(job.error);
        }
        const r = { url: res.url, pct, a: res.start_s, b: region ? res.end_s : Infinity, kind: region ? "loop" : "full" };
        if (region) this.loops.set(res.url, r); else this.full.set(pct, r);
        if (state.speedPct === pct && !state.counting) await this.choose(pct, null, false);
      } catch (e) {
        if (this.part === "mix" && state.speedPct === pct) setHQLabel("", what + "failed: " + e.message);
      } finally {
        this.pending.delete(id);
        if (this.part === "mix") updateHQLabel();
      }
    }
  }

  function updateHQLabel() {
    if (!mix) return;
    const src = mix.src, pct = state.speedPct;
    if (pct === 100 && src.pct === 100) setHQLabel("ready", "original");
    else if (src.pct === pct) setHQLabel("ready", src.kind === "loop" ? "Rubber Band HQ (loop)" : "Rubber Band HQ");
    else if (mix.pending.size) setHQLabel("busy", "browser stretch · HQ coming");
    else setHQLabel("", "browser stretch");
  }

  function setHQLabel(cls, text) { const e = $("hq"); e.className = "hq " + cls; e.textContent = text; }

  // -- loading --------------------------------------------------------------------------------
  async function load() {
    const t0 = performance.now();
    let data;
    if (!Number.isInteger(songId) || songId < 1) { showMissing("no song was chosen"); return; }
    try { data = await LC.api("/api/songs/" + songId + "/practice"); }
    catch (e) { showMissing(e.message); return; }
    $("title").textContent = data.song.title;
    document.title = "lipcoach — " + data.song.title;
    $("editorLink").href = "/editor?song=" + songId;
    map = data.songmap; icons = data.icons; peaks = data.peaks;
    if (!map) {
      // The analysis is still running (or failed): show its progress and open the page when it is done.
      const job = data.song.analysis_job;
      if (job && (job.state === "queued" || job.state === "running")) {
        const bar = LC.progressBar();
        status.replaceChildren(LC.el("span", { text: "Mapping the song first… " }), bar);
        const done = await LC.waitJob(job.id, (j) => bar.set(j.progress, j.label));
        if (done.state === "done") { location.reload(); return; }
        LC.showError(status, "analysis failed: " + done.error);
      } else {
        LC.showError(status, job && job.state === "failed" ? "analysis failed: " + job.error : "this song has no song map yet");
      }
      return;
    }
    words = map.words; lines = map.lines; breaths = map.breaths; beats = map.beats_s; downbeats = map.downbeats_s;
    duration = map.duration_s;
    useParts(data.song);
    buildLyrics();
    drawWaveLayer();
    applyBalance();
    wire();
    loadHistory();
    requestAnimationFrame(tick);
    document.body.dataset.ready = "1";
    document.dispatchEvent(new CustomEvent("lc:ready", { detail: { songId, map, words, lines, wordSpans } }));
    status.textContent = "ready in " + Math.round(performance.now() - t0) + " ms";
    window.lcPractice.readyMs = performance.now();
  }

  // The tracks the page plays: the band and the vocal stem once the song's stem is separated
  // (the balance then runs from singer muted to guide vocal only), else the mix and the user's
  // stem if any. Called again by balance.js (while paused) when the stem job finishes.
  function useParts(song) {
    const t = mix ? songTime() : 0;
    if (mix) { pause(); mix.el.removeAttribute("src"); if (stem) stem.el.removeAttribute("src"); }
    mix = song.band_url ? new Track("mix", song.band_url, "band") : new Track("mix", song.audio_url);
    stem = song.stem_url ? new Track("stem", song.stem_url) : null;
    $("guideRow").hidden = !stem;
    document.body.dataset.parts = song.band_url ? "band+stem" : stem ? "mix+stem" : "mix";
    if (!t) return null;
    applyBalance();
    return seek(t);
  }

  // The song cannot be opened (a wrong link, a deleted number): say so, and offer the way back.
  function showMissing(why) {
    const notice = $("notice");
    notice.replaceChildren(
      LC.el("strong", { text: "This song cannot be opened: " + why + "." }), " ",
      LC.el("a", { href: "/", id: "backToLibrary", text: "Back to the library" }));
    notice.hidden = false;
    document.querySelectorAll("main > section, main > .grid2").forEach((e) => { e.hidden = true; });
    document.body.dataset.missing = "1";
  }

  let wordSpans = [];
  function buildLyrics() {
    const box = $("lyrics");
    box.replaceChildren();
    lines.forEach((ln, li) => {
      const div = LC.el("div", { class: "line", "data-line": li, title: "click: loop this line" });
      // The map's own doubt: a line it flags, or one whose times were interpolated, not aligned.
      if (ln.flagged || ln.aligned === false) { div.classList.add("unsure"); div.title = "timing unsure (check it in the editor) · click: loop this line"; }
      div.addEventListener("click", () => loopLine(li));
      box.append(div);
    });
    wordSpans = words.map((w, wi) => {
      const span = LC.el("span", { class: "word", "data-word": wi, text: w.text });
      const lineDiv = box.children[w.line];
      if (lineDiv) { lineDiv.append(span, document.createTextNode(" ")); }
      return span;
    });
  }

  // -- waveform -------------------------------------------------------------------------------
  function drawWaveLayer() {
    const c = $("wave");
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.max(300, Math.round(c.clientWidth * dpr)); c.height = Math.round(130 * dpr);
    waveLayer = document.createElement("canvas"); waveLayer.width = c.width; waveLayer.height = c.height;
    const g = waveLayer.getContext("2d"), W = c.width, H = c.height, x = (t) => t / duration * W;
    g.fillStyle = "#fbfaf7"; g.fillRect(0, 0, W, H);
    lines.forEach((ln, i) => { g.fillStyle = i % 2 ? "rgba(31,95,174,.08)" : "rgba(31,95,174,.14)"; g.fillRect(x(ln.start_s), H - 14 * dpr, Math.max(1, x(ln.end_s) - x(ln.start_s)), 14 * dpr); });
    beats.forEach((b) => { g.fillStyle = "rgba(0,0,0,.10)"; g.fillRect(x(b), 0, 1, H - 14 * dpr); });
    downbeats.forEach((b) => { g.fillStyle = "rgba(0,0,0,.32)"; g.fillRect(x(b), 0, Math.max(1, dpr), H - 14 * dpr); });
    if (peaks && peaks.values.length) {
      const v = peaks.values, mid = (H - 14 * dpr) / 2;
      g.fillStyle = "#5d6b7a";
      for (let px = 0; px < W; px++) {
        const a = Math.floor(px / W * v.length), b = Math.max(a + 1, Math.floor((px + 1) / W * v.length));
        let m = 0; for (let i = a; i < b && i < v.length; i++) m = Math.max(m, v[i]);
        const h = m * mid * 0.95; g.fillRect(px, mid - h, 1, Math.max(1, 2 * h));
      }
    }
    breaths.forEach((br) => { g.fillStyle = "rgba(0,150,200,.55)"; g.fillRect(x(br.start_s), 0, Math.max(2, x(br.end_s) - x(br.start_s)), 6 * dpr); });
  }

  function drawWave(t) {
    const c = $("wave"), g = c.getContext("2d"), W = c.width, H = c.height;
    if (!waveLayer) return;
    g.drawImage(waveLayer, 0, 0);
    const x = (s) => s / duration * W;
    const lp = state.dragLoop || state.loop;
    if (lp) { g.fillStyle = "rgba(255,200,0,.25)"; g.fillRect(x(lp.a), 0, x(lp.b) - x(lp.a), H); g.fillStyle = "#c77700"; g.fillRect(x(lp.a), 0, 2, H); g.fillRect(x(lp.b) - 2, 0, 2, H); }
    g.fillStyle = "#b3261e"; g.fillRect(x(t) - 1, 0, 2, H);
  }

  // -- transport ------------------------------------------------------------------------------
  const songTime = () => (mix ? mix.songTime() : 0);
  function seek(t) {
    t = Math.max(0, Math.min(duration, t));
    // A jump while the song runs starts the live coach's pass over from there.
    if (state.playing && !state.counting) document.dispatchEvent(new CustomEvent("lc:seek", { detail: { to: t } }));
    return Promise.all([mix.seek(t), stem ? stem.seek(t) : null]);
  }
  function setSpeed(pct, fromRamp) {
    pct = Math.max(25, Math.min(100, Math.round(pct)));
    state.speedPct = pct; $("speed").value = pct; $("speedLabel").textContent = pct + " %";
    mix.setSpeed(pct); if (stem) stem.setSpeed(pct);
    if (pct !== 100 && mix.src.pct !== pct && !fromRamp) setHQLabel("busy", "browser stretch · HQ coming");
    else updateHQLabel();
    clearTimeout(state.hqTimer);
    // A ramp moves on every pass: the browser's stretch serves it; renders are for speeds the
    // actor settles on. Wait for the slider to settle before asking the server to render.
    if (fromRamp) return;
    state.hqTimer = setTimeout(() => { if (state.speedPct === pct) { mix.requestHQ(pct); if (stem && $("guide").checked) stem.requestHQ(pct); } }, 350);
  }
  function passSpeed(k) {
    if (!$("ramp").checked || state.recording) return state.baseSpeed || state.speedPct;
    const n = Math.max(1, Number($("passes").value) || 1), a = Number($("rampFrom").value), b = Number($("rampTo").value);
    return Math.round(n === 1 ? a : a + (b - a) * k / (n - 1));
  }
  function clickAt(ctx, when, accent) {
    const o = ctx.createOscillator(), g = ctx.createGain();
    o.frequency.value = accent ? 2000 : 1200;
    g.gain.setValueAtTime(0.5, when); g.gain.exponentialRampToValueAtTime(0.001, when + 0.04);
    o.connect(g).connect(ctx.destination); o.start(when); o.stop(when + 0.05);
    scheduledClicks.push(o);
  }
  // A count-in cut short (pause, a new loop) must not go on clicking over the next one.
  let scheduledClicks = [];
  function silenceClicks() {
    for (const o of scheduledClicks) { try { o.stop(); } catch (e) { /* already done */ } }
    scheduledClicks = [];
  }
  // Count-in clicks continue the song's beat grid, so the music enters where the next click
  // would be; the core places them (the same rule as the practice tracks of the CLI).
  async function countIn(startT, pct) {
    const bars = Number($("countIn").value);
    if (!bars || !map.tempo_bpm) return;
    const q = await LC.api("/api/songs/" + songId + "/count-in?start_s=" + startT.toFixed(3) + "&speed_pct=" + pct + "&bars=" + bars);
    if (!q.clicks_s.length) return;
    audioCtx = audioCtx || new AudioContext();
    silenceClicks();
    // The first click sounds 80 ms from now; the song starts where click time 0 falls.
    const songAt = audioCtx.currentTime + 0.08 - q.clicks_s[0];
    q.clicks_s.forEach((c, k) => clickAt(audioCtx, songAt + c, q.accents[k]));
    state.clicksScheduled = (state.clicksScheduled || 0) + q.clicks_s.length;
    await new Promise((r) => setTimeout(r, Math.max(0, (songAt - audioCtx.currentTime) * 1000)));
  }
  async function startPass() {
    const gen = ++startGen;
    const pct = passSpeed(state.pass);
    if (pct !== state.speedPct) setSpeed(pct, true);
    const from = state.loop ? state.loop.a : songTime() >= duration - 0.05 ? 0 : songTime();
    await seek(from);  // picks the best source for this speed (a render may have arrived)
    updatePassLabel();
    state.counting = true; state.playing = true; setPlayButton();
    try { await countIn(from, pct); } catch (e) { LC.showError(status, "count-in: " + e.message); }
    if (gen !== startGen || !state.playing) return;
    state.counting = false;
    await mix.el.play().catch((e) => LC.showError(status, e));
    if (stem) { stem.seek(mix.songTime()); stem.el.play().catch(() => {}); }
    if (state.recording) state.recording.playing = true;
    // Other modules (live coaching) follow the passes: one starts here, once the count-in is over.
    document.dispatchEvent(new CustomEvent("lc:pass", { detail: { speedPct: state.speedPct, from: mix.songTime(), loop: state.loop } }));
  }
  function play() { state.pass = 0; state.baseSpeed = state.speedPct; if (state.loop) { const t = songTime(); if (t < state.loop.a || t >= state.loop.b) seek(state.loop.a); } startPass(); }
  function pause() {
    const wasPlaying = state.playing && !state.counting;
    startGen++; silenceClicks(); state.playing = false; state.counting = false; mix.el.pause(); if (stem) stem.el.pause(); setPlayButton();
    if (wasPlaying) document.dispatchEvent(new CustomEvent("lc:passend"));
  }
  function setPlayButton() { $("play").textContent = state.playing ? "❚❚ Pause" : "▶ Play"; }
  function onPassEnd() {
    if (state.recording) { pause(); stopRecording(); return; }
    if (!state.loop) { pause(); return; }
    state.pass += 1;
    const n = Math.max(1, Number($("passes").value) || 1);
    if (state.pass >= n) { pause(); seek(state.loop.a); state.pass = 0; if ($("ramp").checked && state.baseSpeed) setSpeed(state.baseSpeed); updatePassLabel(); return; }
    mix.el.pause(); if (stem) stem.el.pause();
    document.dispatchEvent(new CustomEvent("lc:passend"));
    startPass();
  }
  function updatePassLabel() {
    const n = Math.max(1, Number($("passes").value) || 1);
    $("passLabel").textContent = state.loop ? "pass " + (state.pass + 1) + " / " + n + " at " + passSpeed(state.pass) + " %" : "";
  }
  function setLoop(a, b) {
    if (b - a < 0.2) return;
    state.loop = { a: Math.max(0, a), b: Math.min(duration, b) };
    $("loopLabel").textContent = "loop " + LC.fmt(state.loop.a) + " – " + LC.fmt(state.loop.b);
    document.querySelectorAll(".line.looped").forEach((e) => e.classList.remove("looped"));
    // A new loop counts its passes from 1, and while playing it starts over from its start:
    // otherwise the rest of a pass already under way would count as the first pass.
    state.pass = 0;
    if (state.playing && !state.recording) { mix.el.pause(); if (stem) stem.el.pause(); document.dispatchEvent(new CustomEvent("lc:passend")); startPass(); }
    updatePassLabel();
    loopChanged();
  }
  // A new loop: leave a loop render that no longer covers it, and ask for one that does.
  function loopChanged() {
    if (!mix) return;
    mix.choose(state.speedPct, null, false); if (stem) stem.choose(state.speedPct, null, false);
    updateHQLabel();
    clearTimeout(state.hqTimer);
    const pct = state.speedPct;
    if (pct !== 100) state.hqTimer = setTimeout(() => { if (state.speedPct === pct) { mix.requestHQ(pct); if (stem && $("guide").checked) stem.requestHQ(pct); } }, 350);
  }
  function clearLoop() { state.loop = null; $("loopLabel").textContent = "no loop"; document.querySelectorAll(".line.looped").forEach((e) => e.classList.remove("looped")); updatePassLabel(); loopChanged(); }
  // A line's lead-in: up to LEAD_IN_S before it, but not before the previous line ends. From
  // there the line is the current one, and a loop of it starts there, so its breath and
  // entrance are in the loop and "Loop line" during the count-in loops the same line.
  const LEAD_IN_S = 1.0;
  function leadIn(li) {
    const ln = lines[li], prevEnd = li > 0 ? lines[li - 1].end_s : 0;
    return Math.min(ln.start_s, Math.max(prevEnd, ln.start_s - LEAD_IN_S, 0));
  }
  function currentLine(t) {
    let best = 0;
    for (let i = 0; i < lines.length; i++) if (leadIn(i) <= t + 1e-3) best = i;
    return best;
  }
  function loopLine(li) {
    if (li === undefined) li = currentLine(songTime());
    const ln = lines[li]; if (!ln) return;
    const a = leadIn(li), b = Math.min(duration, ln.end_s + 0.4);
    setLoop(a, b);
    const div = document.querySelector('.line[data-line="' + li + '"]'); if (div) div.classList.add("looped");
    if (!state.playing) seek(a);
  }
  function applyBalance() {
    const bal = Number($("balance").value);
    mix.el.volume = bal <= 50 ? 1 : (100 - bal) / 50;
    if (stem) stem.el.volume = $("guide").checked ? (bal >= 50 ? 1 : bal / 50) : 0;
  }

  // -- the frame loop: lyrics, breath, shapes, waveform ------------------------------------------
  function tick() {
    const t = songTime();
    if (state.playing && !state.counting) {
      const end = state.loop ? state.loop.b : duration;
      if (t >= end - 0.01 || mix.el.ended) onPassEnd();
      if (stem && !stem.el.paused && stem.el.readyState >= 2 && Math.abs(stem.songTime() - t) > 0.06) stem.seek(t);
      // Played past the end of a loop render (the loop was cleared): go on from a source that has it.
      if (mix.src.b !== Infinity && t >= mix.src.b - 0.06 && !state.swapping) {
        state.swapping = true;
        Promise.all([mix.choose(state.speedPct, t, true), stem ? stem.choose(state.speedPct, t, true) : null]).then(() => { state.swapping = false; updateHQLabel(); });
      }
      if (state.recording && state.recording.playing && state.recording.t0 !== undefined) {
        state.recording.samples.push(t - (performance.now() - state.recording.t0) / 1000 * (state.speedPct / 100));
      }
    }
    $("time").textContent = LC.fmt(t) + " / " + LC.fmt(duration);
    updateLyrics(t); updateBreath(t); updateShapes(t); drawWave(t);
    requestAnimationFrame(tick);
  }
  function updateLyrics(t) {
    const box = $("lyrics");
    const li = currentLine(t);
    if (li !== state.lineIdx) {
      box.querySelectorAll(".line.current").forEach((e) => e.classList.remove("current"));
      const div = box.querySelector('.line[data-line="' + li + '"]');
      if (div) {
        div.classList.add("current");
        // The current line sits in the upper part of the box: the lines coming next stay in view.
        box.scrollTo({ top: Math.max(0, div.offsetTop - box.clientHeight / 5), behavior: "smooth" });
      }
      state.lineIdx = li;
    }
    // The lit word is a word of the current line, so word and line never disagree.
    let lit = -1;
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (w.line === li && w.start_s <= t && t < Math.max(w.end_s, w.start_s + 0.15)) lit = i;
    }
    if (lit !== state.litWord) {
      if (state.litWord >= 0 && wordSpans[state.litWord]) wordSpans[state.litWord].classList.remove("lit");
      if (lit >= 0) wordSpans[lit].classList.add("lit");
      state.litWord = lit;
      window.lcPractice.litWord = lit >= 0 ? words[lit].text : null;
    }
    // Words already sung are dimmed.
    let sung = words.findIndex((w) => w.end_s > t);
    if (sung < 0) sung = words.length;
    if (sung !== state.sungWords) {
      wordSpans.forEach((span, i) => span.classList.toggle("past", i < sung && i !== lit));
      state.sungWords = sung;
    }
  }
  function updateBreath(t) {
    const box = $("breath");
    const next = breaths.find((b) => b.end_s > t);
    const speed = state.speedPct / 100;
    box.replaceChildren();
    if (!next) { box.textContent = "no more breaths"; box.className = "breath"; return; }
    const lineText = next.before_line !== null && next.before_line !== undefined && lines[next.before_line] ? lines[next.before_line].text : "";
    if (next.start_s <= t) {
      box.className = "breath now";
      box.append(LC.el("div", { text: "Breathe now" + (next.kind === "catch" ? " (catch breath)" : "") }));
    } else {
      const inS = (next.start_s - t) / speed;
      box.className = "breath";
      const bar = LC.el("div", { class: "bar" }, LC.el("div"));
      bar.firstChild.style.width = Math.round(100 * Math.max(0, 1 - inS / 4)) + "%";
      box.append(LC.el("div", { text: "Breath in " + inS.toFixed(1) + " s" + (next.kind === "catch" ? " · catch" : " · full") + (next.audible ? " · audible" : "") }), bar);
    }
    if (lineText) box.append(LC.el("div", { class: "muted", text: "before: " + lineText }));
  }
  function wordShapes(w) {
    const out = [];
    for (const p of w.phonemes || []) {
      const s = icons[p.viseme];
      if (s && out[out.length - 1] !== s) out.push(s);
    }
    return out.slice(0, 3);
  }
  function updateShapes(t) {
    let first = words.findIndex((w) => w.end_s > t);
    if (first === state.nextWord) return;
    state.nextWord = first;
    const box = $("shapes");
    box.replaceChildren();
    if (first < 0) return;
    for (const w of words.slice(first, first + 5)) {
      const ic = LC.el("div", { class: "icons" });
      const shapes = wordShapes(w);
      // A word with no shape to watch still gets its place (and says so), so the row stays even.
      if (shapes.length) for (const s of shapes) ic.append(LC.mouthIcon(s));
      else ic.append(LC.mouthIcon("free"));
      box.append(LC.el("div", { class: "shape", "data-shapes": shapes.join(" "), title: shapes.length ? shapes.join(", ") : "no shape to watch" },
        ic, LC.el("span", { class: "shape-word", text: w.text })));
    }
  }

  // -- recording a take -------------------------------------------------------------------------
  let stream = null, recorder = null;
  async function cameraOn() {
    if (stream) return stream;
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
    $("preview").srcObject = stream; $("preview").play().catch(() => {});
    $("record").disabled = false; $("camera").disabled = true;
    return stream;
  }
  async function record() {
    if (state.recording) return;
    try { await cameraOn(); } catch (e) { LC.showError($("recStatus"), "camera: " + e.message); return; }
    pause();
    const types = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm", "video/mp4"];
    const mimeType = types.find((m) => window.MediaRecorder && MediaRecorder.isTypeSupported(m)) || "";
    recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
    const chunks = [];
    state.recording = { samples: [], playing: false, speed: state.speedPct / 100, loop: state.loop };
    recorder.ondataavailable = (ev) => { if (ev.data && ev.data.size) chunks.push(ev.data); };
    recorder.onstart = () => { state.recording.t0 = performance.now(); state.pass = 0; state.baseSpeed = state.speedPct; if (state.loop) seek(state.loop.a); startPass(); };
    recorder.onstop = () => upload(new Blob(chunks, { type: recorder.mimeType || "video/webm" }), state.recording);
    recorder.start(1000);
    $("record").disabled = true; $("stopRec").disabled = false;
    $("recStatus").textContent = "recording…";
  }
  function stopRecording() {
    if (!recorder || recorder.state === "inactive") return;
    recorder.stop();
    $("stopRec").disabled = true;
  }
  function median(xs) { const s = xs.slice().sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : null; }
  async function upload(blob, rec, fileName) {
    state.recording = null;
    $("record").disabled = false;
    const fd = new FormData();
    fd.append("video", blob, fileName || "take.webm");
    fd.append("speed", String(rec.speed));
    const start = median(rec.samples);
    if (start !== null) fd.append("song_start_s", start.toFixed(4));
    if (rec.loop) { fd.append("loop_start_s", rec.loop.a.toFixed(3)); fd.append("loop_end_s", rec.loop.b.toFixed(3)); }
    const out = $("takeResult");
    out.replaceChildren();
    const bar = LC.progressBar(); out.append(bar);
    $("recStatus").textContent = "uploading " + Math.round(blob.size / 1024) + " KB…";
    try {
      const res = await LC.api("/api/songs/" + songId + "/takes", { method: "POST", body: fd });
      $("recStatus").textContent = "scoring take " + res.take_id + "…";
      const job = await LC.waitJob(res.job.id, (j) => bar.set(j.progress, j.label));
      if (job.state !== "done") throw new Error(job.error);
      const report = await LC.api("/api/takes/" + res.take_id + "/report");
      showReport(out, res.take_id, report);
      $("recStatus").textContent = "take " + res.take_id + " scored";
      loadHistory();
    } catch (e) { out.replaceChildren(); LC.showError($("recStatus"), e); }
  }
  function showReport(out, takeId, report) {
    out.replaceChildren(
      LC.el("div", { class: "score", id: "takeScore", text: Math.round(report.score) + " / 100" }),
      LC.el("div", { text: "verdict: " + LC.verdictText(report) }),
    );
    const ul = LC.el("ul");
    for (const f of report.fixes || []) ul.append(LC.el("li", { text: f }));
    out.append(ul, LC.el("a", { href: "/report?take=" + takeId, id: "reportLink", text: "Open the full report" }));
  }

  // -- history chart ------------------------------------------------------------------------------
  async function loadHistory() {
    let h;
    try { h = await LC.api("/api/songs/" + songId + "/history"); } catch (e) { return; }
    const c = $("history"), dpr = window.devicePixelRatio || 1;
    c.width = Math.max(300, Math.round(c.clientWidth * dpr)); c.height = Math.round(220 * dpr);
    const g = c.getContext("2d"), W = c.width, H = c.height, L = 40 * dpr, R = 60 * dpr, T = 10 * dpr, B = 24 * dpr;
    g.clearRect(0, 0, W, H);
    g.font = (11 * dpr) + "px sans-serif"; g.fillStyle = "#666"; g.strokeStyle = "#ddd";
    for (let y = 0; y <= 100; y += 25) { const py = T + (H - T - B) * (1 - y / 100); g.beginPath(); g.moveTo(L, py); g.lineTo(W - R, py); g.stroke(); g.fillText(String(y), 6 * dpr, py + 4 * dpr); }
    const n = h.attempts.length;
    $("historyNote").textContent = n ? n + " scored attempt" + (n > 1 ? "s" : "") + "; latest take " + Math.round(h.attempts[n - 1].score) + " / 100. Thin lines: one per lyric line; thick: the whole take." : "No scored takes yet: record one above.";
    c.dataset.attempts = String(n);
    const list = $("takeList");
    list.replaceChildren();
    h.attempts.forEach((a, k) => list.append(LC.el("a", { href: "/report?take=" + a.take_id, class: "take-link",
      text: "#" + (k + 1) + " · " + Math.round(a.score) + " / 100" + (a.speed < 1 ? " · at " + Math.round(a.speed * 100) + " %" : "") })));
    if (!n) return;
    const px = (k) => L + (n === 1 ? (W - L - R) / 2 : (W - L - R) * k / (n - 1));
    const py = (v) => T + (H - T - B) * (1 - v / 100);
    for (let k = 0; k < n; k++) g.fillText("#" + (k + 1), px(k) - 6 * dpr, H - 6 * dpr);
    h.lines.forEach((ln, i) => {
      const pts = h.attempts.map((a, k) => [k, a.line_scores[i]]).filter((p) => p[1] !== undefined && p[1] !== null);
      if (!pts.length) return;
      g.strokeStyle = g.fillStyle = "hsl(" + Math.round(360 * i / Math.max(1, h.lines.length)) + ",60%,45%)";
      g.lineWidth = 1.5 * dpr; g.beginPath();
      pts.forEach(([k, v], j) => { if (j) g.lineTo(px(k), py(v)); else g.moveTo(px(k), py(v)); });
      g.stroke();
      pts.forEach(([k, v]) => { g.beginPath(); g.arc(px(k), py(v), 2.5 * dpr, 0, 7); g.fill(); });
      const [lk, lv] = pts[pts.length - 1]; g.fillText("L" + (i + 1), px(lk) + 6 * dpr, py(lv) + 4 * dpr);
    });
    g.strokeStyle = g.fillStyle = "#222"; g.lineWidth = 3 * dpr; g.beginPath();
    h.attempts.forEach((a, k) => { if (k) g.lineTo(px(k), py(a.score)); else g.moveTo(px(k), py(a.score)); });
    g.stroke();
    h.attempts.forEach((a, k) => { g.beginPath(); g.arc(px(k), py(a.score), 4 * dpr, 0, 7); g.fill(); });
    g.fillText("take", px(n - 1) + 8 * dpr, py(h.attempts[n - 1].score) + 4 * dpr);
  }

  // -- wiring -------------------------------------------------------------------------------------
  function wire() {
    $("play").addEventListener("click", () => (state.playing ? pause() : play()));
    $("toStart").addEventListener("click", () => seek(state.loop ? state.loop.a : 0));
    $("speed").addEventListener("input", () => setSpeed(Number($("speed").value)));
    $("setA").addEventListener("click", () => setLoop(songTime(), state.loop ? state.loop.b : duration));
    $("setB").addEventListener("click", () => setLoop(state.loop ? state.loop.a : 0, songTime()));
    $("loopLine").addEventListener("click", () => loopLine());
    $("clearLoop").addEventListener("click", clearLoop);
    $("passes").addEventListener("change", updatePassLabel);
    $("ramp").addEventListener("change", updatePassLabel);
    $("guide").addEventListener("change", () => { applyBalance(); if ($("guide").checked && stem) stem.requestHQ(state.speedPct); });
    $("balance").addEventListener("input", applyBalance);
    $("camera").addEventListener("click", () => cameraOn().catch((e) => LC.showError($("recStatus"), "camera: " + e.message)));
    $("record").addEventListener("click", record);
    // A take from set (a file): played at full speed; the scorer finds where in the song it is.
    $("takeFile").addEventListener("change", () => { $("scoreFile").disabled = !$("takeFile").files.length; });
    $("scoreFile").addEventListener("click", () => {
      const file = $("takeFile").files[0];
      if (file) upload(file, { speed: 1, samples: [], loop: null }, file.name);
    });
    $("stopRec").addEventListener("click", () => { pause(); stopRecording(); });
    const wave = $("wave");
    const tAt = (ev) => { const r = wave.getBoundingClientRect(); return Math.max(0, Math.min(duration, (ev.clientX - r.left) / r.width * duration)); };
    wave.addEventListener("mousedown", (ev) => { state.drag = { x: ev.clientX, t: tAt(ev) }; });
    wave.addEventListener("mousemove", (ev) => { if (state.drag && Math.abs(ev.clientX - state.drag.x) > 4) { const t = tAt(ev); state.dragLoop = { a: Math.min(t, state.drag.t), b: Math.max(t, state.drag.t) }; } });
    window.addEventListener("mouseup", (ev) => {
      if (!state.drag) return;
      if (state.dragLoop) { setLoop(state.dragLoop.a, state.dragLoop.b); if (!state.playing) seek(state.dragLoop.a); }
      else if (ev.target === wave) seek(tAt(ev));
      state.drag = null; state.dragLoop = null;
    });
    window.addEventListener("resize", drawWaveLayer);
    document.addEventListener("keydown", (ev) => {
      const tag = (ev.target.tagName || "").toLowerCase();
      if ((tag === "input" && ev.target.type !== "range" && ev.target.type !== "checkbox") || tag === "textarea" || tag === "select") return;
      const k = ev.key;
      if (k === " ") { ev.preventDefault(); state.playing ? pause() : play(); }
      else if (k === "[") $("setA").click();
      else if (k === "]") $("setB").click();
      else if (k === "l" || k === "L") loopLine();
      else if (k === "Escape") clearLoop();
      else if (k === "ArrowLeft" || k === "ArrowRight") {
        ev.preventDefault();
        const li = currentLine(songTime()) + (k === "ArrowLeft" ? -1 : 1);
        if (lines[li]) seek(leadIn(li));
      }
      else if (k === "+" || k === "=") setSpeed(state.speedPct + 5);
      else if (k === "-" || k === "_") setSpeed(state.speedPct - 5);
      else if (k === "Home") seek(state.loop ? state.loop.a : 0);
      else if (k === "g" || k === "G") { if (stem) { $("guide").checked = !$("guide").checked; applyBalance(); } }
      else if (k === "r" || k === "R") record();
    });
  }

  window.lcPractice = {
    state,
    songTime: () => songTime(),
    mix: () => mix,
    stem: () => stem,
    speed: (pct) => setSpeed(pct),
    seek: (t) => seek(t),
    loopLine: (i) => loopLine(i),
    lines: () => lines,
    words: () => words,
    wordSpans: () => wordSpans,
    songId,
    // Playing and past the count-in: the song time runs.
    running: () => state.playing && !state.counting && !!mix && !mix.el.paused,
    play: () => play(),
    pause: () => pause(),
    useParts: (song) => useParts(song),
  };
  load();
})();
