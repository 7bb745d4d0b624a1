"use strict";
// Live coaching on the practice page: while the song plays, webcam frames (JPEG, stamped in song
// time) go to the studio over a WebSocket; the studio tracks the mouth and judges each word with the
// take report's own rules (lipcoach.take.live). Cues land on the lyrics as they come: early / on /
// late with the milliseconds (of the song: at 75 % speed, "late 40 ms" is 40 ms of the song), a
// missed m/b/p closure, "open more", and whether the breath before a line was shown. At the end of a
// pass: a summary, and the pass can be kept as a take and scored in full.
(function () {
  const $ = (id) => document.getElementById(id);
  const MAX_IN_FLIGHT = 2;      // frames sent and not answered; more waiting means the server lags: drop
  const MAX_SIDE_PX = 640;      // frames are scaled to this longest side (Face Mesh needs no more)
  const JPEG_QUALITY = 0.8;
  const live = {
    on: false, ws: null, stream: null, inFlight: 0, nextId: 1, sent: new Map(), passOpen: false,
    speedPct: 100, latencies: [], cueLatencies: [], dropped: 0, frames: 0, cues: [], summaries: [], lastSummary: null,
    fpsTimes: [], studio: [],
  };
  let P = null, words = [], lines = [], wordSpans = [];

  function init() {
    P = window.lcPractice;
    if (!P || !$("liveToggle")) return;
    words = P.words(); lines = P.lines(); wordSpans = P.wordSpans();
    $("liveToggle").disabled = false;
    $("liveToggle").addEventListener("click", () => (live.on ? stop() : start()));
    $("liveKeep").addEventListener("click", keep);
    document.addEventListener("lc:pass", (ev) => passStart(ev.detail));
    document.addEventListener("lc:passend", passEnd);
    document.addEventListener("lc:seek", () => {
      // A jump mid-pass: the pass starts over from there (what came before it is dropped, not scored).
      if (!live.passOpen || !live.ws || live.ws.readyState !== 1) return;
      clearCues();
      live.ws.send(JSON.stringify({ type: "pass", speed: live.speedPct / 100 }));
    });
  }

  // -- the connection and the camera -----------------------------------------------------------
  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/songs/" + P.songId + "/live";
  }
  async function start() {
    const st = $("liveStatus");
    try {
      live.stream = live.stream || await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: { ideal: 30 } }, audio: false });
    } catch (e) {
      LC.showError(st, "camera: " + (e.message || e) + (window.isSecureContext ? "" : " (a phone opens the camera only on https: start the studio with --https)"));
      return;
    }
    const cam = $("liveCam");
    cam.srcObject = live.stream; cam.play().catch(() => {});
    st.classList.remove("error");
    st.textContent = "connecting…";
    const ws = new WebSocket(socketUrl());
    ws.binaryType = "arraybuffer";
    live.ws = ws;
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      if (live.ws === ws) { live.on = false; live.ws = null; setButton(); }
      if (ev.reason) LC.showError(st, "live coaching stopped: " + ev.reason);
      else if (!st.classList.contains("error")) st.textContent = "live coaching off";
    };
    live.on = true; setButton();
    watchFrames();
  }
  function stop() {
    live.on = false;
    if (live.ws) live.ws.close();
    live.ws = null;
    if (live.stream) { live.stream.getTracks().forEach((t) => t.stop()); live.stream = null; }
    $("liveCam").srcObject = null;
    setButton();
  }
  function setButton() {
    $("liveToggle").textContent = live.on ? "■ Stop live coaching" : "● Live coaching";
    document.body.dataset.live = live.on ? "1" : "0";
  }

  // -- frames: every new camera frame while the song runs --------------------------------------------
  const canvas = document.createElement("canvas");
  function watchFrames() {
    const cam = $("liveCam");
    const onFrame = (now, meta) => {
      if (!live.on) return;
      // The camera's own capture time when the browser gives it, else when the frame reached the page.
      live.clock = meta && meta.captureTime ? "captureTime" : "frame callback";
      sendFrame(cam, meta && meta.captureTime ? meta.captureTime : now);
      cam.requestVideoFrameCallback(onFrame);
    };
    if (cam.requestVideoFrameCallback) cam.requestVideoFrameCallback(onFrame);
    else {
      // Without per-frame callbacks (older browsers), sample at 30 fps.
      const timer = setInterval(() => { if (!live.on) clearInterval(timer); else sendFrame(cam, performance.now()); }, 33);
    }
  }
  function sendFrame(cam, capturedAt) {
    if (!live.ws || live.ws.readyState !== 1 || !live.passOpen || !P.running() || !cam.videoWidth) return;
    if (live.inFlight >= MAX_IN_FLIGHT) { live.dropped++; return; }
    // The song time when the camera took the frame: the song ran on for (now − capture) since.
    const songT = P.songTime() - (performance.now() - capturedAt) / 1000 * (live.speedPct / 100);
    const k = Math.min(1, MAX_SIDE_PX / Math.max(cam.videoWidth, cam.videoHeight));
    canvas.width = Math.round(cam.videoWidth * k); canvas.height = Math.round(cam.videoHeight * k);
    const g = canvas.getContext("2d", { willReadFrequently: !!live.frameHook });
    g.drawImage(cam, 0, 0, canvas.width, canvas.height);
    if (live.frameHook) live.frameHook(g, songT);  // tests and benchmarks read the frame they send
    const id = live.nextId++;
    live.inFlight++;
    live.sent.set(id, { capturedAt, songT });
    canvas.toBlob(async (blob) => {
      const body = await blob.arrayBuffer();
      const msg = new Uint8Array(12 + body.byteLength);
      const head = new DataView(msg.buffer);
      head.setUint32(0, id, true); head.setFloat64(4, songT, true);
      msg.set(new Uint8Array(body), 12);
      if (live.ws && live.ws.readyState === 1) live.ws.send(msg); else live.inFlight--;
    }, "image/jpeg", JPEG_QUALITY);
  }

  // -- answers -------------------------------------------------------------------------------------
  function onMessage(m) {
    if (m.type === "ready") {
      $("liveStatus").textContent = "live: press play";
      document.body.dataset.live = "ready";
      if (P.running()) passStart({ speedPct: P.state.speedPct });  // switched on while the song plays
      return;
    }
    if (m.type === "error") { LC.showError($("liveStatus"), m.error); return; }
    if (m.type === "summary") { showSummary(m); return; }
    if (m.type === "kept") { showKept(m); return; }
    if (m.type !== "frame") return;
    live.inFlight = Math.max(0, live.inFlight - 1);
    const sent = live.sent.get(m.id); live.sent.delete(m.id);
    live.frames++;
    live.studio.push([m.server_ms, m.cpu_ms, m.cues.length]);
    const t = performance.now();
    live.fpsTimes.push(t); while (live.fpsTimes.length && live.fpsTimes[0] < t - 2000) live.fpsTimes.shift();
    meter(m);
    for (const c of m.cues) showCue(c);
    // Latency: the camera frame → its answer drawn on the screen (the next paint).
    requestAnimationFrame(() => {
      if (!sent) return;
      const ms = performance.now() - sent.capturedAt;
      live.latencies.push(ms);
      if (m.cues.length) live.cueLatencies.push(ms);
    });
  }
  function meter(m) {
    const bar = $("liveMeter").firstChild;
    bar.style.width = m.face && m.opening !== null ? Math.round(100 * Math.min(1, m.opening / 0.45)) + "%" : "0";
    $("liveMeter").classList.toggle("closed", !!m.closed);
    const fps = live.fpsTimes.length / 2;
    $("liveStatus").textContent = (m.face ? "tracking" : "no face in view") + " · " + fps.toFixed(0) + " fps" +
      (live.latencies.length ? " · " + Math.round(median(live.latencies.slice(-50))) + " ms behind" : "");
  }
  function median(xs) { const s = xs.slice().sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : 0; }

  // What the actor reads for one cue; ms are of the song, and the title says what that was as played.
  function cueText(c) {
    if (c.kind === "breath") return c.shown === null ? "breath not seen" : c.shown ? "breath shown" : "show the breath";
    if (c.hidden) return "mouth not seen";
    if (!c.hit) return "no movement";
    const parts = [];
    if (c.timing === "on") parts.push("on");
    else if (c.timing) parts.push(c.timing + " " + Math.round(Math.abs(c.ms_song)) + " ms");
    if (c.closure === "missed") parts.push("close for m/b/p");
    if (c.open_more) parts.push("open more");
    return parts.join(" · ");
  }
  function cueClass(c) {
    if (c.kind === "breath") return c.shown === false ? "bad" : c.shown ? "good" : "none";
    if (c.hidden) return "none";
    if (!c.hit || c.closure === "missed" || c.timing === "early" || c.timing === "late") return "bad";
    return c.open_more ? "warn" : "good";
  }
  function showCue(c) {
    live.cues.push(c);
    const el = LC.el("span", { class: "cue cue-" + cueClass(c), "data-kind": c.kind, text: cueText(c) });
    if (c.kind === "word") {
      el.dataset.word = c.word; el.dataset.timing = c.timing || "";
      if (c.ms_song !== null && c.ms_song !== undefined) {
        el.dataset.msSong = c.ms_song;
        el.title = Math.round(Math.abs(c.ms_song)) + " ms of the song" + (live.speedPct < 100 ?
          " (" + Math.round(Math.abs(c.ms_played)) + " ms as you heard it at " + live.speedPct + " %)" : "");
      }
      const span = wordSpans[c.word];
      if (span) {
        const old = span.nextSibling && span.nextSibling.classList && span.nextSibling.classList.contains("cue") ? span.nextSibling : null;
        if (old) old.remove();
        span.after(el);
        span.dataset.cue = c.timing || (c.hit ? "" : "missed");
      }
    } else {
      const line = document.querySelector('.line[data-line="' + c.line + '"]');
      if (line) {
        const old = line.querySelector(".cue[data-kind=breath]");
        if (old) old.remove();
        line.prepend(el);
      }
    }
    const feed = $("liveFeed");
    const item = LC.el("li", { class: "cue-" + cueClass(c) },
      LC.el("strong", { text: c.kind === "word" ? c.text : "breath before line " + (c.line + 1) }), " " + cueText(c));
    feed.prepend(item);
    while (feed.children.length > 8) feed.lastChild.remove();
  }
  function clearCues() {
    document.querySelectorAll("#lyrics .cue").forEach((e) => e.remove());
    wordSpans.forEach((s) => delete s.dataset.cue);
    live.cues = [];
  }

  // -- passes ---------------------------------------------------------------------------------------
  function passStart(d) {
    live.speedPct = d.speedPct;
    $("liveSpeedNote").textContent = d.speedPct < 100
      ? "At " + d.speedPct + " % speed, cues give ms of the song: late 40 ms = " + Math.round(40 * 100 / d.speedPct) + " ms as you hear it."
      : "Cues give ms of the song.";
    if (!live.ws || live.ws.readyState !== 1) return;
    clearCues();
    live.passOpen = true;
    live.ws.send(JSON.stringify({ type: "pass", speed: d.speedPct / 100 }));
  }
  function passEnd() {
    if (!live.passOpen) return;
    live.passOpen = false;
    if (live.ws && live.ws.readyState === 1) {
      live.ws.send(JSON.stringify({ type: "end" }));
      $("liveSummary").replaceChildren(LC.el("span", { class: "muted", text: "scoring the pass…" }));
    }
  }
  function showSummary(m) {
    live.lastSummary = m; live.summaries.push(m);
    const box = $("liveSummary");
    box.replaceChildren();
    if (!m.report) {
      box.append(LC.el("div", { class: "muted", text: "pass not scored: " + (m.error || "no frames") }));
      $("liveKeep").disabled = true;
      return;
    }
    const c = m.cues, r = m.report;
    box.append(
      LC.el("div", { class: "score", id: "liveScore", text: Math.round(r.score) + " / 100" }),
      LC.el("div", { text: "verdict: " + LC.verdictText(r) + (m.speed < 1 ? " · at " + Math.round(m.speed * 100) + " %" : "") }),
      LC.el("div", { id: "liveCounts", text: c.words + " words: " + c.on + " on, " + c.early + " early, " + c.late + " late, " + c.missed + " without movement; " +
        c.closures_missed + " m/b/p closures missed, " + c.open_more + " to open more, " + c.breaths_not_shown + " breaths not shown" }));
    const ul = LC.el("ul");
    for (const f of r.fixes || []) ul.append(LC.el("li", { text: f }));
    box.append(ul);
    // The full report of a slowed pass is a slowed take's report: its ms are as played.
    if (m.speed < 1) box.append(LC.el("div", { class: "muted", text: "The report's ms are as played at " + Math.round(m.speed * 100) + " % (the cues above: ms of the song)." }));
    $("liveKeep").disabled = false;
  }
  function keep() {
    if (!live.ws || live.ws.readyState !== 1) return;
    $("liveKeep").disabled = true;
    live.ws.send(JSON.stringify({ type: "keep" }));
  }
  async function showKept(m) {
    const box = $("liveSummary");
    const bar = LC.progressBar();
    box.append(LC.el("div", { text: "kept as take " + m.take_id + "; scoring it in full…" }), bar);
    try {
      const job = await LC.waitJob(m.job.id, (j) => bar.set(j.progress, j.label));
      if (job.state !== "done") throw new Error(job.error);
      bar.replaceWith(LC.el("a", { href: "/report?take=" + m.take_id, id: "liveReportLink", text: "Open the take's full report (" + Math.round(job.result.score) + " / 100)" }));
    } catch (e) { LC.showError(box, e); }
  }

  window.lcLive = { state: live, start, stop };
  if (document.body.dataset.ready === "1") init(); else document.addEventListener("lc:ready", init, { once: true });
})();
