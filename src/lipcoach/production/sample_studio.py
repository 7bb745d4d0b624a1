"""A practice-studio data folder with a mapped synthetic number, without running analysis.

The song map is made from the synthetic singer's exact truth, so the studio's tests and
benchmarks need neither alignment time nor alignment luck. A scored take can be added the
same way: a performer's mouth track made to order (in sync, head turned away on chosen words,
chosen breaths shown), a drawn face miming it for the page's player, and the report stored
as the studio's score job stores it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence


def truth_songmap(song, *, source_path: str | None = None):
    """A song map from a :class:`~lipcoach.testing.synthetic_song.SyntheticSong`'s truth."""
    from lipcoach.song.songmap import Breath, Entrance
    from lipcoach.testing.clips import songmap_from_words

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
    from lipcoach.production.catalogue import Catalogue, Song
    from lipcoach.production.catalogue import add_song_files

    cat = Catalogue(data_dir)
    with cat.session() as s:
        song_id = add_song_files(cat, s, title=title, performer=performer, mix=files["mix.wav"], stem=files["vocals.wav"], lyrics=files["lyrics.txt"])
        row = s.get(Song, song_id)
        cat.add_map_version(s, song_id, truth_songmap(song, source_path=str(cat.path("files", row.audio_file))), origin="import")
        s.commit()
    cat.engine.dispose()
    return song_id


def performer_track(songmap, *, duration_s: float, song_start_s: float = 0.0, fps: float = 25.0,
                    turned_away_s: Sequence[tuple[float, float]] = (), breaths_shown: Sequence[int] = (),
                    words_missed: Sequence[int] = (), turned_yaw_deg: float = 60.0):
    """The mouth track of a performer lip-syncing ``songmap`` in sync, as the tracker would give it.

    The mouth opens with the song's vocal level and closes on every m/b/p; on the breaths
    listed in ``breaths_shown`` (indices into ``songmap.breaths``) it opens for the intake, on
    the other breaths it stays shut; on the words in ``words_missed`` (indices into
    ``songmap.words``) it stays shut; through ``turned_away_s`` (song time spans, s) the head
    is turned ``turned_yaw_deg`` away from the camera (the words there are hidden from it).

    Parameters
    ----------
    duration_s : float
        Length of the take, s.
    song_start_s : float
        Song time at take time 0, s.
    fps : float
        Frames per second of the take.

    Returns
    -------
    MouthTrack
        One face (id 0), openings in eye-corner distances, no scratch sound.
    """
    import numpy as np

    from lipcoach.take.mouth import CLOSED_OPENING, FaceTrack, MouthTrack, rounding_from_width
    from lipcoach.take.sync import GRID_RATE_HZ, vocal_level

    lo = songmap.loudness
    level = vocal_level(np.asarray(lo.values), rate_hz=lo.rate, reference_db=lo.reference_db, duration_s=songmap.duration)
    t_s = np.arange(int(duration_s * fps)) / fps
    song_t = t_s + song_start_s
    idx = np.clip((song_t * GRID_RATE_HZ).astype(int), 0, level.size - 1)
    opening = 0.015 + 0.32 * level[idx]
    for wi, w in enumerate(songmap.words):
        if wi in words_missed:
            opening[(song_t >= w.start - 0.05) & (song_t <= w.end + 0.05)] = 0.01
        for p in w.phonemes:
            if p.viseme == "closed":
                opening[(song_t >= p.start - 0.04) & (song_t <= p.end)] = 0.005
    for bi, b in enumerate(songmap.breaths):
        intake = (song_t >= b.start - 0.15) & (song_t <= b.end + 0.1)
        opening[intake] = 0.25 if bi in breaths_shown else 0.01
    yaw_deg = np.full(t_s.size, 2.0)
    for a, b in turned_away_s:
        yaw_deg[(song_t >= a) & (song_t <= b)] = turned_yaw_deg
    width = np.full(t_s.size, 0.9)
    face = FaceTrack(id=0, found=np.ones(t_s.size, bool), opening=opening, width=width,
                     closed=opening < CLOSED_OPENING, rounding=rounding_from_width(width), eye_px=60.0,
                     center=(0.5, 0.45), yaw_deg=yaw_deg, pitch_deg=np.zeros(t_s.size))
    return MouthTrack(t_s=t_s, faces=[face], width_px=320, height_px=240, rotation_deg=0, fps=fps, source="performer_track")


def write_performer_video(path: Path, track) -> None:
    """A drawn face (:mod:`lipcoach.testing.faces`) miming ``track``'s first face, gone while its head is turned away."""
    import numpy as np

    from lipcoach.take.grade import face_visible
    from lipcoach.testing.faces import write_take

    face = track.faces[0]
    visible = face_visible(face)

    def mouth(t: float):
        i = min(int(np.searchsorted(track.t_s, t)), track.t_s.size - 1)
        return float(np.clip(face.opening[i] / 0.3, 0.0, 1.0)) if visible[i] else None

    write_take(path, duration_s=track.duration_s, mouths=[mouth], fps=track.fps, size=(track.width_px, track.height_px),
               face_scale=0.55)


def add_scored_take(data_dir: Path, song_id: int, songmap, track, *, video: Path, song_start_s: float = 0.0,
                    shoulders: Optional[Sequence[Optional[str]]] = None) -> int:
    """Score ``track`` against ``songmap`` and store take and report in the studio as its score job does.

    Parameters
    ----------
    video : Path
        The take's video (stored in the studio's files; the page plays it).
    shoulders : sequence, optional
        Per breath of ``songmap.breaths``, what the shoulders showed (``"shown"``, ``"not_shown"``,
        None), standing in for :func:`lipcoach.take.body.shoulder_rise` on a picture without
        shoulders.

    Returns
    -------
    int
        The take's id.
    """
    from lipcoach.production.catalogue import Catalogue, Take
    from lipcoach.production.storage import store_media
    from lipcoach.take import score as SC

    sig = SC.song_signals(songmap)
    placement = SC.place_take(track, songmap, song_start_s=song_start_s)
    fc, placement, est = SC.choose_face(track, sig, placement)
    sync = SC.sync_take(track, fc, placement, est, sig, songmap)
    grades = SC.grade_take(track, fc, sync, sig, songmap, body=shoulders)
    doc = SC.assemble_report(Path(video), track, fc, songmap, sig, sync, grades).doc
    cat = Catalogue(data_dir)
    with cat.session() as s:
        smv = cat.latest_map(s, song_id)
        with open(video, "rb") as f:
            stored, _duration_s = store_media(f, cat.root, what="the take", need_video=True)
        take = Take(song_id=song_id, songmap_version_id=smv.id, file=stored, speed=1.0, song_start_s=song_start_s)
        s.add(take)
        s.flush()
        cat.save_report(s, take.id, doc)
        s.commit()
        take_id = take.id
    cat.engine.dispose()
    return take_id
