"""`practice-track`: slowed, looped, ramped drills with count-in clicks and breath cues."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.practice import (count_in_times, parse_loop, parse_ramp, parse_time, pass_speeds,
                               render_practice_track)
from lipcoach.production.sample_studio import truth_songmap


@pytest.fixture(scope="module")
def mapped_song(short_song, short_song_files, tmp_path_factory):
    """The two-line number with its truth song map saved beside it (source.path = the mix)."""
    folder = tmp_path_factory.mktemp("mapped")
    m = truth_songmap(short_song, source_path=str(short_song_files["mix.wav"]))
    m.save(folder / "song.json")
    return short_song, short_song_files, folder / "song.json"


def test_parse_helpers():
    assert parse_time("0:43.5") == 43.5
    assert parse_time("1:02:03") == 3723.0
    assert parse_loop("0:43-0:58") == (43.0, 58.0)
    assert parse_ramp("0.7:1.0") == (0.7, 1.0)
    assert parse_ramp("70:100") == (0.7, 1.0)
    with pytest.raises(LipcoachError):
        parse_loop("0:58-0:43")
    with pytest.raises(LipcoachError):
        parse_time("abc")


def test_ramp_steps_evenly_from_first_to_last_pass():
    assert pass_speeds(speed=0.8, repeat=3, ramp=None) == [0.8, 0.8, 0.8]
    assert pass_speeds(speed=None, repeat=4, ramp=(0.7, 1.0)) == [0.7, 0.8, 0.9, 1.0]
    with pytest.raises(LipcoachError):
        pass_speeds(speed=0.1, repeat=1, ramp=None)
    with pytest.raises(LipcoachError, match="not both"):  # one of the two would be silently ignored
        pass_speeds(speed=0.75, repeat=4, ramp=(0.7, 1.0))


def test_count_in_continues_the_beat_grid_backwards():
    beats = np.arange(0, 20, 0.5)
    rel = count_in_times(loop_start_s=3.2, beats=beats, tempo_bpm=120.0, speed=0.5, n_clicks=4)
    # first beat in the loop is at 3.5 s = 0.6 s of output after the loop start; period 1.0 s out
    assert np.allclose(rel, [0.6 - 4, 0.6 - 3, 0.6 - 2, 0.6 - 1])


def test_loop_repeat_ramp_count_in_and_breath_cues(mapped_song, tmp_path):
    song, files, map_path = mapped_song
    line2 = [w for w in song.words if w.line == 1]
    loop = (line2[0].start - 1.5, line2[-1].end + 0.3)
    out = tmp_path / "drill.wav"
    res = render_practice_track(map_path, loop=loop, repeat=3, ramp=(0.5, 1.0), count_in_bars=1,
                                breath_cues=True, out_path=out, quality="fast")
    assert res.speeds == [0.5, 0.75, 1.0]
    assert len(res.clicks_out_s) == 3 * 4  # one bar of 4/4 before each pass
    import soundfile as sf

    audio, sr = sf.read(out)
    assert audio.shape[0] / sr == pytest.approx(res.duration_s, abs=1e-3)
    body_s = sum((loop[1] - loop[0]) / s for s in res.speeds)
    assert body_s < res.duration_s < body_s + 3 * (4 * 60 / song.tempo_bpm / 0.5) + 1
    # The music of each pass enters on the beat the count-in leads to.
    period = 60.0 / song.tempo_bpm
    first_beat = min(b for b in song.beats if b >= loop[0] - 0.02)
    for k, s in enumerate(res.speeds):
        last_click = res.clicks_out_s[4 * k + 3]
        beat_out = res.pass_starts_s[k] + (first_beat - loop[0]) / s
        assert beat_out - last_click == pytest.approx(period / s, abs=0.002)
    # One cue per pass for the breath before line 2, sounding before the breath itself.
    breath = next(b for b in song.breaths if b.before_line == 1)
    assert len(res.breath_cues_out_s) == 3
    for k, s in enumerate(res.speeds):
        assert res.breath_cues_out_s[k] == pytest.approx(res.pass_starts_s[k] + (breath.start - loop[0]) / s - 0.3, abs=0.002)
    # Clicks are audible: loud against the silence just before them.
    mono = audio.mean(axis=1)
    i = int(res.clicks_out_s[0] * sr)
    assert np.abs(mono[i : i + int(0.03 * sr)]).max() > 0.2


@pytest.mark.parametrize("suffix", [".mp3", ".m4a"])
def test_phone_formats_decode_to_the_right_length(short_song_files, tmp_path, suffix):
    from lipcoach.media.decode import probe

    out = tmp_path / f"drill{suffix}"
    res = render_practice_track(short_song_files["mix.wav"], speed=0.8, loop=(2.0, 6.0), out_path=out, quality="fast")
    info = probe(out)
    assert info.has_audio and not info.has_video
    assert info.duration_s == pytest.approx(res.duration_s, abs=0.1)
    assert res.duration_s == pytest.approx(4.0 / 0.8, abs=0.01)


def test_bad_requests_leave_no_file(short_song_files, tmp_path):
    out = tmp_path / "x.wav"
    with pytest.raises(LipcoachError, match="outside the song"):
        render_practice_track(short_song_files["mix.wav"], speed=0.8, loop=(500.0, 510.0), out_path=out)
    with pytest.raises(LipcoachError, match="breath cues need a song map"):
        render_practice_track(short_song_files["mix.wav"], speed=0.8, breath_cues=True, out_path=out)
    with pytest.raises(LipcoachError, match="unsupported output format"):
        render_practice_track(short_song_files["mix.wav"], speed=0.8, out_path=tmp_path / "x.aac")
    assert list(tmp_path.iterdir()) == []


def test_songmap_whose_song_is_missing_is_one_clear_error(mapped_song, tmp_path):
    _, _, map_path = mapped_song
    doc = json.loads(map_path.read_text())
    doc["source"] = {"path": "/nowhere/song.wav", "name": "song.wav"}
    bad = tmp_path / "song.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(LipcoachError, match="not found"):
        render_practice_track(bad, speed=0.8, out_path=tmp_path / "o.wav")


def test_vocal_level_mutes_the_singer_or_the_band(tmp_path, monkeypatch):
    """--vocal-level: 0 leaves the band, 2 the guide vocal, 1 the song as recorded; out of range refused."""
    import soundfile as sf

    from lipcoach.media import stems
    from lipcoach.media.decode import load_audio, write_wav
    from lipcoach.practice import render_practice_track
    from lipcoach.testing.spleeter_reference import REFERENCE_DIR

    mix, sr = sf.read(REFERENCE_DIR / "mix.flac", dtype="float32", always_2d=True)
    song = tmp_path / "number.wav"
    write_wav(song, mix[: 6 * sr].T, sr)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "lipcoach"  # the user's cache folder under that XDG_CACHE_HOME
    vocal = stems.load_stem(stems.vocal_stem(song, cache=cache), sr=sr, mono=True)
    original, _ = load_audio(song, sr=sr)
    band = original[: len(vocal)] - vocal[: len(original)]

    def track(level):
        out = tmp_path / f"level{level}.wav"
        render_practice_track(song, speed=1.0, vocal_level=level, out_path=out)
        audio, _ = load_audio(out, sr=sr)
        return audio[: len(band)]

    def corr(a, b):
        return float(np.corrcoef(a, b)[0, 1])

    muted, alone, as_recorded = track(0.0), track(2.0), track(1.0)
    # (Rubber Band runs even at speed 1.0, so the tracks are close to, not equal to, their source.)
    assert corr(muted, band) > 0.9 and corr(muted, vocal) < corr(as_recorded, vocal) - 0.2
    assert corr(alone, vocal) > 0.9 and corr(alone, band) < corr(as_recorded, band) - 0.2
    with pytest.raises(LipcoachError, match="vocal level"):
        render_practice_track(song, vocal_level=2.5, out_path=tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()
