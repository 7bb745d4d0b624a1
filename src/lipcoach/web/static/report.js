"use strict";
// The take report: shows the fields of /api/takes/{id}/report (lipcoach.takereport, docs/takereport.md).
// Every judgement (hidden, missed, breath shown, coverable) comes from the report; the page only words it.
(async function () {
  const $ = (id) => document.getElementById(id);
  const takeId = Number(LC.param("take"));

  // What showed the breath before a line, from its `breath` and `breath_by` fields.
  function breathCell(ln) {
    if (ln.breath === "not_shown") return LC.el("td", { class: "no", text: "not shown" });
    const by = ln.breath_by;
    if (ln.breath === "shown") {
      const parts = [];
      if (by && by.face === "shown") parts.push("mouth");
      if (by && by.body === "shown") parts.push("shoulders");
      return LC.el("td", { class: "yes", text: parts.length ? "shown by " + parts.join(" and ") : "shown" });
    }
    if (by) return LC.el("td", { class: "muted", text: "not judged (face not seen)", title: "the face was out of shot or turned away and the shoulders were not measured" });
    return LC.el("td", { class: "muted", text: "–", title: "no audible breath before this line" });
  }

  // The line's words as sung in the take: grey italic = not seen (not a miss), red = missed.
  function wordsCell(ln, words) {
    const mine = words.filter((w) => w.line === ln.index);
    if (!mine.length) return LC.el("td", { text: ln.text });
    const cell = LC.el("td", { class: "words" });
    mine.forEach((w, i) => {
      if (i) cell.append(" ");
      if (w.hidden) cell.append(LC.el("span", { class: "w-hidden", text: w.text, title: "not seen: head turned away or out of shot; not counted" }));
      else if (!w.hit) cell.append(LC.el("span", { class: "w-missed", text: w.text, title: "missed: the mouth did not move" }));
      else cell.append(LC.el("span", { class: "w-seen", text: w.text }));
    });
    const seen = ln.n_words - (ln.n_hidden || 0);
    const count = seen ? ln.n_hit + "/" + seen + " mouthed" : "";
    const unseen = ln.n_hidden ? ln.n_hidden + " not seen" : "";
    cell.append(LC.el("div", { class: "muted small", text: [count, unseen].filter(Boolean).join(" · ") }));
    return cell;
  }

  function timingText(ln) {
    if (ln.offset_ms === null || ln.offset_ms === undefined) return "–";
    const off = Math.round(ln.offset_ms);
    return (off > 0 ? "+" : "") + off + " ms" + (Math.abs(ln.offset_ms) > 80 ? (ln.offset_ms > 0 ? " late" : " early") : "");
  }

  function showLines(r) {
    const body = document.querySelector("#reportLines tbody");
    const words = r.words || [];
    for (const ln of r.lines || []) {
      const notes = [];
      if (ln.closures_missed && ln.closures_missed.length) notes.push("close the lips on: " + ln.closures_missed.join(", "));
      if (ln.open_more && ln.open_more.length) notes.push("open more on: " + ln.open_more.join(", "));
      if (ln.breath === "not_shown") notes.push("show the breath before the line");
      const unseen = ln.n_hidden && ln.n_hidden === ln.n_words;
      const bar = LC.el("div"); bar.style.width = (unseen ? 0 : Math.round(ln.score)) + "%";
      // A line the take may cover but whose singer is not confirmed in sync is cut in unconfirmed.
      const unconfirmed = ln.coverable && ln.verdict !== undefined && ln.verdict !== "in_sync";
      const cover = ln.coverable === undefined ? LC.el("td", { class: "muted", text: "–" })
        : ln.singer_in_take === false ? LC.el("td", { class: "no", text: "no (its singer is not in this take)" })
        : LC.el("td", { class: ln.coverable ? (unconfirmed ? "muted" : "yes") : "no",
                        text: ln.coverable ? (unconfirmed ? "unconfirmed" : "yes") : "no" });
      body.append(LC.el("tr", { "data-line": ln.index },
        LC.el("td", { text: String(ln.index + 1) }), wordsCell(ln, words),
        unseen ? LC.el("td", { class: "w-hidden", text: "not seen" }) : LC.el("td", { text: String(Math.round(ln.score)) }),
        LC.el("td", { class: "bar" }, bar), LC.el("td", { text: timingText(ln) }), breathCell(ln), cover,
        LC.el("td", { text: notes.join("; ") })));
    }
    const lines = r.lines || [];
    if (lines.some((ln) => ln.coverable !== undefined)) {
      const cover = lines.filter((ln) => ln.coverable).map((ln) => String(ln.index + 1));
      const unsure = lines.some((ln) => ln.coverable && ln.verdict !== undefined && ln.verdict !== "in_sync")
        || (r.placement && r.placement.unsure);
      $("cover").textContent = cover.length ? "In the edit this take can cover line" + (cover.length > 1 ? "s " : " ") + cover.join(", ")
          + (unsure ? " (unconfirmed: the edit uses it only when no confirmed take covers a line, marked to check by eye)." : ".")
        : "In the edit this take cannot cover any line.";
    }
    if (lines.some((ln) => ln.n_hidden)) {
      const th = r.thresholds || {};
      $("hiddenNote").textContent = "Grey words were sung with the face out of shot or turned more than " +
        Math.round(th.hidden_yaw_deg) + "° left/right or " + Math.round(th.hidden_pitch_deg) + "° up/down: the camera " +
        "cannot judge them, so they are not counted as misses (and the line cannot be used from this take). Red words were missed.";
    }
  }

  function showBreaths(r) {
    const breaths = r.breaths || [];
    if (!breaths.length) return;
    const said = { shown: "shown", not_shown: "not shown", hidden: "face not seen" };
    const body = document.querySelector("#breaths tbody");
    for (const b of breaths) {
      // Green where the breath was seen; a missed breath is red only in the "Shown" column.
      const cls = (v) => (v === "shown" ? "yes" : v === "not_shown" ? undefined : "muted");
      const shown = b.shown === true ? LC.el("td", { class: "yes", text: "yes" })
        : b.shown === false ? LC.el("td", { class: "no", text: "no" }) : LC.el("td", { class: "muted", text: "not judged" });
      body.append(LC.el("tr", {},
        LC.el("td", { text: LC.fmt(b.start_s) }),
        LC.el("td", { text: b.before_line === null || b.before_line === undefined ? "–" : String(b.before_line + 1) }),
        LC.el("td", { class: cls(b.face), text: said[b.face] || "–" }),
        LC.el("td", { class: cls(b.body), text: b.body ? said[b.body] : "not measured" }),
        shown));
    }
    $("breathsPanel").hidden = false;
  }

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
    for (const n of r.notes || []) $("notes").append(LC.el("p", { class: "muted", text: n }));
    if (r.placement) $("placement").textContent = "placed at song time " + Number(r.placement.song_start_s).toFixed(2) + " s (" + r.placement.method + ")"
      + (r.placement.unsure ? " · placement unsure (confidence " + Number(r.placement.confidence).toFixed(2) + "): check the place by eye" : "");
    showLines(r);
    showBreaths(r);
    document.body.dataset.ready = "1";
  } catch (e) { LC.showError($("status"), e); }
})();
