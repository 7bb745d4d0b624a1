"""The song-map picture: right file type, the coach's marks present, long songs on several rows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.figures.songmap_plot import ROW_S, plot_songmap
from tests.song.handmade_maps import small_songmap


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _svg_texts(path) -> str:
    return " ".join(re.findall(r">([^<>]+)</text>", path.read_text(encoding="utf-8")))


def test_svg_shows_words_breath_levels_and_entrance_offsets(tmp_path):
    songmap = small_songmap()
    out = plot_songmap(songmap, tmp_path / "map.svg")
    texts = _svg_texts(out)
    for word in songmap.words:
        assert word.text in texts
    assert "breath -18 dB" in texts and "catch -31 dB" in texts
    # Each entrance named by its slot in the bar, with the push or lay-back against it.
    assert "beat 1, 70 ms early" in texts and "beat 1, 120 ms late" in texts and "on 1" in texts
    assert "verse" in texts and "chorus" in texts


def test_png_and_pdf_by_suffix_with_audio_behind(tmp_path):
    songmap = small_songmap()
    sr = 8000
    audio = (0.1 * np.sin(2 * np.pi * 220 * np.arange(int(songmap.duration * sr)) / sr)).astype(np.float32)
    png = plot_songmap(songmap, tmp_path / "map.png", audio=np.vstack([audio, audio]), sr=sr)
    width, height = _png_size(png)
    assert width >= 1500 and height >= 300
    pdf = plot_songmap(songmap, tmp_path / "map.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.pdf", "map.png"]  # no temporaries


def test_long_song_is_laid_out_on_rows_so_words_stay_readable(tmp_path):
    songmap = small_songmap(duration_s=95.0)
    _, one_row = _png_size(plot_songmap(songmap, tmp_path / "short.png", end_s=ROW_S))
    _, five_rows = _png_size(plot_songmap(songmap, tmp_path / "long.png"))
    assert five_rows > 4 * one_row * 0.8


def test_time_window_keeps_only_what_is_inside(tmp_path):
    songmap = small_songmap()
    texts = _svg_texts(plot_songmap(songmap, tmp_path / "window.svg", start_s=9.5, end_s=13.0))
    assert "morning" in texts and "beat 1, 120 ms late" in texts
    assert "Paper" not in texts and "70 ms early" not in texts


def test_unaligned_lines_still_draw(tmp_path):
    songmap = small_songmap()
    songmap.lines[1].aligned = False
    for word in songmap.words_of_line(1):
        word.confidence = 0.05
    texts = _svg_texts(plot_songmap(songmap, tmp_path / "map.svg"))
    assert "never" in texts


def test_bad_requests_are_clear_errors_and_write_nothing(tmp_path):
    songmap = small_songmap()
    with pytest.raises(LipcoachError, match="png, .pdf, .svg|.pdf, .png, .svg"):
        plot_songmap(songmap, tmp_path / "map.gif")
    with pytest.raises(LipcoachError, match="sample rate"):
        plot_songmap(songmap, tmp_path / "map.png", audio=np.zeros(100, np.float32))
    with pytest.raises(LipcoachError, match="nothing to plot"):
        plot_songmap(songmap, tmp_path / "map.png", start_s=20.0, end_s=10.0)
    assert list(tmp_path.iterdir()) == []
