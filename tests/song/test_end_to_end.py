"""End to end: a generated number with exact truth, mapped by ``analyze_song`` and by the CLI.

The number (synthetic singer over a click and a pad) has two lines: the first written on 1
and pushed 30 ms early, the second written on the "and" of 2 and laid back 45 ms. The map
must put the words where they are, find the breath before each line and nothing else, name
each entrance's slot in the bar with its push or lay-back, and be a valid song map. Written
against ``analyze_song``'s public behaviour, so it holds for any aligner.

Most tests map with the vocal stem given (``--vocals``), the path a production with stems
takes, and hold the map to the truth exactly. The default path (the mix and plain lyrics, the
packaged Spleeter stem made on the way) is held to the truth too, with the margins a mix
allows: most words within 0.3 s, every breath found, few extra.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lipcoach import schema
from lipcoach.evaluate import breaths as breath_eval
from lipcoach.evaluate import entrances as entrance_eval
from lipcoach.song.analyze import analyze_song
from lipcoach.song.songmap import SongMap, entrance_label

SLOTS_BEATS = [0.0, 1.5]
SLOT_NAMES = ["1", "and of 2"]
OFFSETS_MS = [-30.0, 45.0]


@pytest.fixture(scope="module")
def number(tmp_path_factory):
    from lipcoach.testing.synthetic_song import make_song

    song = make_song(n_lines=2, seed=3, tempo_bpm=112.0, entrance_offsets_ms=OFFSETS_MS, entrance_slots_beats=SLOTS_BEATS, lead_in_bars=0)
    return song, song.write(tmp_path_factory.mktemp("number"))


def assert_map_matches_truth(songmap: SongMap, song) -> None:
    # Words: at least 95 % within 0.3 s of their true onset.
    assert [w.text for w in songmap.words] == [w.text for w in song.words]
    errors = np.abs(np.array([w.start for w in songmap.words]) - np.array([w.start for w in song.words]))
    assert np.mean(errors <= 0.3) >= 0.95, errors
    # Breaths: the one before each line, and no other.
    truth = np.array([[b.start, b.end] for b in song.breaths])
    found = np.array([[b.start, b.end] for b in songmap.breaths]).reshape(-1, 2)
    scores = breath_eval.evaluate(truth, found)
    assert scores["recall"] == 1.0 and scores["precision"] == 1.0, (truth, found)
    assert sorted(b.before_line for b in songmap.breaths) == [b.before_line for b in song.breaths]
    # Entrances: the slot the line is written on, named in the bar, the push or lay-back, the label.
    entrances = [line.entrance for line in songmap.lines]
    assert all(e is not None for e in entrances)
    est = entrance_eval.from_entrances(entrances)
    result = entrance_eval.evaluate(song.line_beats, song.entrance_offsets_ms, est["slots_s"], est["offsets_ms"], est["labels"],
                                    reference_slot_names=SLOT_NAMES, estimated_slot_names=est["slot_names"])
    assert result["slot_accuracy"] == 1.0 and result["slot_name_accuracy"] == 1.0, entrances
    assert result["max_abs_error_ms"] <= 20.0, entrances
    assert [e.label for e in entrances] == [entrance_label(o) for o in OFFSETS_MS] == ["on", "late"]
    assert abs(songmap.tempo_bpm - song.tempo_bpm) < 1.0


def test_analyze_song_maps_a_number_as_its_truth_says(number):
    song, paths = number
    songmap = analyze_song(paths["mix.wav"], lyrics_path=paths["lyrics.txt"], vocals_path=paths["vocals.wav"])
    schema.validate(songmap.to_dict(), "lipcoach.songmap")
    assert_map_matches_truth(songmap, song)


def test_the_analyze_command_writes_the_same_map(number, tmp_path):
    song, paths = number
    out = tmp_path / "number.json"
    result = subprocess.run(
        [sys.executable, "-m", "lipcoach", "analyze", str(paths["mix.wav"]), "--lyrics", str(paths["lyrics.txt"]),
         "--vocals", str(paths["vocals.wav"]), "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and f"song map: {out}" in result.stdout + result.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["schema"] == "lipcoach.songmap/2"
    assert_map_matches_truth(SongMap.load(out), song)  # load validates against the schema


@pytest.fixture(scope="module")
def band_number(tmp_path_factory):
    """Four lines over the click and pad, mapped the way a new user does: the mix and plain lyrics, no stem."""
    from lipcoach.testing.synthetic_song import make_song

    song = make_song(n_lines=4, seed=3, tempo_bpm=104.0)
    paths = song.write(tmp_path_factory.mktemp("band_number"))
    return song, analyze_song(paths["mix.wav"], lyrics_path=paths["lyrics.txt"])


def test_the_default_path_maps_a_mix_against_its_truth(band_number):
    """No ``--vocals``: the packaged Spleeter stem is made and used, and the map holds against the truth."""
    song, songmap = band_number
    assert songmap.source["vocal_guide"] == "spleeter"
    assert [w.text for w in songmap.words] == [w.text for w in song.words]
    errors = np.abs(np.array([w.start for w in songmap.words]) - np.array([w.start for w in song.words]))
    assert np.mean(errors <= 0.3) >= 0.85 and np.median(errors) <= 0.1, np.round(errors, 2)
    truth = np.array([[b.start, b.end] for b in song.breaths])
    found = np.array([[b.start, b.end] for b in songmap.breaths]).reshape(-1, 2)
    scores = breath_eval.evaluate(truth, found)
    assert scores["recall"] == 1.0 and scores["precision"] >= 0.6, (truth, found)  # every breath, at most a few extra
    assert abs(songmap.tempo_bpm - song.tempo_bpm) < 1.0
