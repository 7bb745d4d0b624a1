"""Building a practice-studio data folder with a mapped synthetic number, without running analysis.

The song map is made from the synthetic singer's exact truth, so web tests need neither
alignment time nor alignment luck.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path


def truth_songmap(song, *, source_path: str | None = None):
    """A song map from a :class:`~lipcoach.song.synthetic.SyntheticSong`'s truth."""
    from lipcoach.song.songmap import Breath, Entrance
    from lipcoach.take.clips import songmap_from_words

    starts = [min(w.start for w in song.words if w.line == li) for li in range(len(song.line_texts))]
    m = songmap_from_words(song.vocals, sr=song.sr, words=[(w.start, w.end, w.text) for w in song.words],
                           line_breaks_s=starts[1:], language=song.language, source_path=source_path)
    m.duration = song.duration
    m.tempo_bpm = float(song.tempo_bpm)
    m.beats = [float(b) for b in song.beats]
    m.downbeats = [float(b) for b in song.downbeats]
    m.breaths = [Breath(start=b.start, end=b.end, level_db=b.level_db, audible=True,
                        kind="catch" if b.end - b.start < 0.35 else "full", before_line=b.before_line) for b in song.breaths]
    for line, beat in zip(m.lines, song.line_beats):
        line.entrance = Entrance.from_times(line.start, beat)
    return m


def make_studio(data_dir: Path, song, files: dict, *, title: str = "Paper Boats", performer: str = "Test Actor") -> int:
    """Create a catalogue in ``data_dir`` holding ``song`` (mix, stem, lyrics, map v1); returns the song id."""
    from lipcoach.production import storage
    from lipcoach.production.catalogue import Catalogue, Number, Song

    cat = Catalogue(data_dir)
    with open(files["mix.wav"], "rb") as f:
        audio_name, duration_s = storage.store_media(f, cat.root, what="song")
    with open(files["vocals.wav"], "rb") as f:
        stem_name, _ = storage.store_media(f, cat.root, what="stem")
    with open(files["lyrics.txt"], "rb") as f:
        lyrics_name = storage.store_lyrics(f, cat.root)
    with cat.session() as s:
        number = Number(title=title, performer=cat.performer(s, performer))
        s.add(number)
        s.flush()
        row = Song(number_id=number.id, audio_file=audio_name, audio_label="mix.wav", stem_file=stem_name,
                   lyrics_file=lyrics_name, language="en", duration_s=duration_s)
        s.add(row)
        s.flush()
        cat.add_map_version(s, row.id, truth_songmap(song, source_path=str(cat.path("files", audio_name))), origin="import")
        s.commit()
        song_id = row.id
    cat.engine.dispose()
    return song_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, port: int):
        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
