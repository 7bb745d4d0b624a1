"use strict";
(function () {
  const main = document.getElementById("board");

  function scoreText(n) {
    const parts = [];
    if (n.rehearsal) parts.push("rehearsal best " + Math.round(n.rehearsal.best));
    if (n.dailies) parts.push(n.dailies.takes + " takes, best " + Math.round(n.dailies.best) +
      (n.dailies.best_per_line_mean != null ? ", best per line " + Math.round(n.dailies.best_per_line_mean) : ""));
    return parts.join(" · ") || "no scores yet";
  }

  const detail = LC.el("section", { class: "panel", id: "lines", hidden: "" });

  // One number line by line: who sings it (the coach) and which take the edit uses (the editor).
  function showLines(data) {
    detail.hidden = false;
    detail.replaceChildren(LC.el("h2", { text: "Lines and takes: " + (data.title || data.number) }));
    const table = LC.el("table", { class: "board lines" },
      LC.el("tr", {}, LC.el("th", { text: "line" }), LC.el("th", { text: "sung by" }), LC.el("th", { text: "take in the edit" })));
    for (const line of data.lines) {
      const who = LC.el("td", {});
      for (const [character, performer] of Object.entries(data.characters)) {
        const box = LC.el("input", { type: "checkbox", "data-line": line.index, value: character });
        box.checked = line.singers.includes(character);
        box.addEventListener("change", () => {
          const singers = [...who.querySelectorAll("input:checked")].map((b) => b.value);
          if (!singers.length) { box.checked = true; return; }
          post("/api/season-numbers/" + encodeURIComponent(data.ref) + "/lines", { line: line.index, singers: singers, base_version: data.map_version });
        });
        who.append(LC.el("label", { class: "singer" }, box, LC.el("span", { text: " " + character + " (" + performer + ") " })));
      }
      const select = LC.el("select", { "data-line": line.index });
      select.append(LC.el("option", { value: "", text: line.candidates.length ? "best take (automatic)" : "no take covers it" }));
      for (const c of line.candidates) {
        const option = LC.el("option", { value: String(c.take_id), text: c.name + " · " + Math.round(c.score) });
        if (line.chosen && line.chosen.pinned && line.chosen.take_id === c.take_id) option.selected = true;
        select.append(option);
      }
      select.addEventListener("change", () => post("/api/season-numbers/" + encodeURIComponent(data.ref) + "/pins",
        { line: line.index, take_id: select.value ? Number(select.value) : null }));
      const chosen = line.chosen ? "now: " + line.chosen.name + " · " + Math.round(line.chosen.score) + (line.chosen.pinned ? " (pinned)" : "") + (line.chosen.confirmed === false ? " · sync not confirmed: check by eye" : "") : "";
      table.append(LC.el("tr", {},
        LC.el("td", { text: (line.index + 1) + ". " + line.text }), who,
        LC.el("td", {}, select, LC.el("div", { class: "muted", text: chosen }))));
    }
    detail.append(table);
    for (const note of data.notes || []) detail.append(LC.el("p", { class: "muted", text: note }));
  }

  async function post(path, body) {
    try {
      showLines(await LC.api(path, { method: "POST", json: body }));
      load();
    } catch (err) {
      detail.append(LC.el("p", { class: "error", text: err.message }));
    }
  }

  async function openLines(n) {
    try {
      showLines(Object.assign(await LC.api("/api/season-numbers/" + encodeURIComponent(n.ref) + "/edit"), { title: n.title }));
    } catch (err) {
      detail.hidden = false;
      detail.replaceChildren(LC.el("p", { class: "error", text: err.message }));
    }
  }

  function numberCell(n, states) {
    const step = states.indexOf(n.state);
    const title = n.song_id
      ? LC.el("a", { href: "/practice?song=" + n.song_id, class: "practice-link", text: n.title })
      : LC.el("span", { text: n.title });
    const cell = LC.el("td", { class: "board-number state-" + step },
      title,
      LC.el("div", { class: "muted", text: n.kind + " · " + n.performers.join(", ") }),
      LC.el("div", { class: "board-state", text: n.state }),
      LC.el("div", { class: "muted", text: scoreText(n) }));
    if (n.song_id) {
      const button = LC.el("button", { type: "button", class: "lines-button", text: "Lines and takes" });
      button.addEventListener("click", () => openLines(n));
      cell.append(button);
    }
    return cell;
  }

  async function load() {
    try {
      const seasons = await LC.api("/api/seasons");
      main.replaceChildren();
      if (!seasons.length) {
        main.append(LC.el("p", { class: "muted", text: "No season yet: lipcoach season import season.yaml --data DIR" }));
      }
      for (const season of seasons) {
        const panel = LC.el("section", { class: "panel" }, LC.el("h2", { text: season.title }));
        const table = LC.el("table", { class: "board" });
        const head = LC.el("tr", {}, LC.el("th", { text: "episode" }), LC.el("th", { text: "numbers" }));
        table.append(head);
        for (const ep of season.episodes) {
          const row = LC.el("tr", {}, LC.el("th", {},
            LC.el("div", { text: ep.number + ". " + ep.title }),
            LC.el("div", { class: "muted", text: Object.entries(ep.characters).map(([c, p]) => c + ": " + p).join(", ") })));
          const cells = LC.el("td", {});
          const inner = LC.el("table", { class: "board-numbers" }, LC.el("tr", {}, ...ep.numbers.map((n) => numberCell(n, season.states))));
          cells.append(inner);
          row.append(cells);
          table.append(row);
        }
        panel.append(table);
        panel.append(LC.el("p", { class: "muted", text: "Performers: " + season.performers.join(", ") + ". States: " + season.states.join(" → ") + "." }));
        main.append(panel);
      }
      main.append(detail);
    } catch (err) {
      main.replaceChildren(LC.el("p", { class: "error", text: "Could not load the season board: " + err.message }));
    }
  }
  load();
})();
