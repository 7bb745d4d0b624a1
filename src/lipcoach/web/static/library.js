"use strict";
(function () {
  const list = document.getElementById("numbers");
  const form = document.getElementById("upload");
  const status = document.getElementById("uploadStatus");

  function songRow(song) {
    const row = LC.el("div", { class: "song" });
    const info = LC.el("div", {},
      LC.el("div", { class: "muted", text: (song.label || "song") + " · " + LC.fmt(song.duration_s) + (song.has_stem ? " · vocal stem" : "") + (song.has_lyrics ? " · lyrics" : "") }));
    row.append(info);
    const job = song.analysis_job;
    if (song.map_version) {
      row.append(LC.el("a", { href: "/practice?song=" + song.id, class: "practice-link", text: "Practice ▶" }));
      row.append(LC.el("a", { href: "/editor?song=" + song.id, text: "Fix word times" }));
      row.append(LC.el("span", { class: "muted", text: "song map v" + song.map_version }));
    }
    if (job && (job.state === "queued" || job.state === "running")) {
      const bar = LC.progressBar();
      bar.set(job.progress, "analysing: " + job.label);
      row.append(bar);
      LC.waitJob(job.id, (j) => bar.set(j.progress, "analysing: " + j.label)).then(load);
    } else if (job && job.state === "failed") {
      row.append(LC.el("span", { class: "error", text: "analysis failed: " + job.error }));
    }
    return row;
  }

  async function load() {
    try {
      const numbers = await LC.api("/api/numbers");
      list.replaceChildren();
      if (!numbers.length) list.append(LC.el("p", { class: "muted", text: "No numbers yet: add one below." }));
      for (const n of numbers) {
        const box = LC.el("div", { class: "number" },
          LC.el("div", { class: "title", text: n.title }),
          n.performer ? LC.el("div", { class: "muted", text: "performer: " + n.performer }) : null);
        for (const s of n.songs) box.append(songRow(s));
        list.append(box);
      }
    } catch (e) { LC.showError(list, e); }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.classList.remove("error");
    status.textContent = "uploading…";
    try {
      const res = await LC.api("/api/songs", { method: "POST", body: new FormData(form) });
      status.textContent = "uploaded; analysing in the background";
      form.reset();
      await load();
      LC.waitJob(res.job.id).then((j) => { status.textContent = j.state === "done" ? "analysis done" : "analysis failed: " + j.error; load(); });
    } catch (e) { LC.showError(status, e); }
  });

  load();
})();
