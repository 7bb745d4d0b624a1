"use strict";
// The vocal/band balance on the practice page, for every song: the song's vocal stem is
// separated by a background job when the song is added (or when this page first opens it).
// The page does not wait for it: this module shows the job's progress, and when the stem is
// ready (and playback is paused) has the page play the band and the vocal stem instead of the
// mix, so the balance slider runs from "singer muted" to "guide vocal only".
(function () {
  const $ = (id) => document.getElementById(id);
  const songId = Number(LC.param("song"));

  function labels(parts) {
    const band = parts === "band+stem";
    $("balanceLeft").textContent = band ? "band only (singer muted)" : "track";
    $("balanceRight").textContent = band ? "guide vocal only" : "guide";
    $("balance").title = band ? "left: the band alone · middle: the song as recorded · right: the vocal alone" : "";
  }

  function say(row, text, cls) { row.replaceChildren(LC.el("span", { class: cls || "muted", text })); row.hidden = false; }

  async function whenPaused() {
    while (window.lcPractice.state.playing || window.lcPractice.state.recording) await new Promise((r) => setTimeout(r, 500));
  }

  async function follow() {
    const row = $("stemRow");
    let song;
    try { song = await LC.api("/api/songs/" + songId); } catch (e) { return; }
    const sep = song.separation || { state: "none" };
    if (sep.state === "ready") { labels(document.body.dataset.parts); return; }
    if (!sep.job) { if (sep.state === "failed") say(row, "Vocal balance unavailable: " + sep.error, "error"); return; }
    const bar = LC.progressBar();
    row.replaceChildren(LC.el("span", { text: "Vocal balance: separating the voice from the band… " }), bar);
    row.hidden = false;
    const job = await LC.waitJob(sep.job.id, (j) => bar.set(j.progress, j.label), 1000);
    if (job.state !== "done") { say(row, "Vocal balance unavailable: " + job.error, "error"); return; }
    song = await LC.api("/api/songs/" + songId);
    if (!song.band_url) { say(row, "Vocal balance unavailable: the stem was made but cannot be found", "error"); return; }
    if (window.lcPractice.state.playing) say(row, "Vocal balance ready: it comes in when you pause.");
    await whenPaused();
    await window.lcPractice.useParts(song);
    labels(document.body.dataset.parts);
    say(row, "Vocal balance ready: slide left to mute the singer, right for the guide vocal alone.");
    row.dataset.ready = "1";
  }

  // Start once the page has loaded its song (practice.js sets data-ready).
  function start() {
    if (document.body.dataset.missing) return;
    if (!document.body.dataset.ready) { setTimeout(start, 200); return; }
    labels(document.body.dataset.parts);
    follow();
  }
  if (Number.isInteger(songId) && songId > 0) document.addEventListener("DOMContentLoaded", start);
})();
