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

  function numberCell(n, states) {
    const step = states.indexOf(n.state);
    const title = n.song_id
      ? LC.el("a", { href: "/practice?song=" + n.song_id, class: "practice-link", text: n.title })
      : LC.el("span", { text: n.title });
    return LC.el("td", { class: "board-number state-" + step },
      title,
      LC.el("div", { class: "muted", text: n.kind + " · " + n.performers.join(", ") }),
      LC.el("div", { class: "board-state", text: n.state }),
      LC.el("div", { class: "muted", text: scoreText(n) }));
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
    } catch (err) {
      main.replaceChildren(LC.el("p", { class: "error", text: "Could not load the season board: " + err.message }));
    }
  }
  load();
})();
