"use strict";
(async function () {
  const $ = (id) => document.getElementById(id);
  const takeId = Number(LC.param("take"));
  try {
    const take = await LC.api("/api/takes/" + takeId);
    $("back").href = "/practice?song=" + take.song_id;
    $("video").src = take.video_url;
    if (take.score === null) {
      $("score").textContent = "not scored yet";
      if (take.job && take.job.state === "failed") LC.showError($("status"), take.job.error);
      return;
    }
    const r = await LC.api("/api/takes/" + takeId + "/report");
    $("score").textContent = Math.round(r.score) + " / 100";
    $("verdict").textContent = "verdict: " + LC.verdictText(r) + (take.speed < 1 ? " · recorded at " + Math.round(take.speed * 100) + " %" : "");
    for (const f of r.fixes || []) $("fixes").append(LC.el("li", { text: f }));
    if (r.placement) $("placement").textContent = "placed at song time " + Number(r.placement.song_start_s).toFixed(2) + " s (" + r.placement.method + ")";
    const body = document.querySelector("#reportLines tbody");
    for (const ln of r.lines || []) {
      const notes = [];
      if (ln.closures_missed && ln.closures_missed.length) notes.push("close the lips on: " + ln.closures_missed.join(", "));
      if (ln.open_more && ln.open_more.length) notes.push("open more on: " + ln.open_more.join(", "));
      if (ln.breath === "not_shown") notes.push("show the breath before the line");
      const bar = LC.el("div"); bar.style.width = Math.round(ln.score) + "%";
      const timing = ln.offset_ms === null || ln.offset_ms === undefined ? "–" : (ln.offset_ms > 0 ? "+" : "") + Math.round(ln.offset_ms) + " ms" + (Math.abs(ln.offset_ms) > 80 ? (ln.offset_ms > 0 ? " late" : " early") : "");
      body.append(LC.el("tr", {},
        LC.el("td", { text: String(ln.index + 1) }), LC.el("td", { text: ln.text }), LC.el("td", { text: String(Math.round(ln.score)) }),
        LC.el("td", { class: "bar" }, bar), LC.el("td", { text: timing }), LC.el("td", { text: notes.join("; ") })));
    }
    document.body.dataset.ready = "1";
  } catch (e) { LC.showError($("status"), e); }
})();
