"""One progress mechanism for every command: a bar on a terminal, one line per step off it."""

from __future__ import annotations

import io

import pytest

from lipcoach.progress import PlainLines, progress_bar, resolved_mode, set_mode, subrange


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_lines_write_one_line_per_step_and_a_heartbeat_in_long_steps():
    out, clock = io.StringIO(), FakeClock()
    report = PlainLines("Building x", out, every_s=10.0, clock=clock)
    report(0.0, "decoding")
    for k in range(1, 50):  # a step reporting often writes no more lines...
        clock.t = k * 0.1
        report(0.01 * k, "decoding")
    clock.t = 4.9
    report(0.5, "section 1: Paper Boats")
    clock.t = 16.0
    report(0.6, "section 1: Paper Boats")  # ...until it has run on for 10 s
    report(0.4, "section 2: Hold Your Breath")  # a fraction never goes back
    report.finish()
    lines = out.getvalue().splitlines()
    assert lines == ["[  0%   0:00] Building x: decoding",
                     "[ 50%   0:04] Building x: section 1: Paper Boats",
                     "[ 60%   0:16] Building x: section 1: Paper Boats",
                     "[ 60%   0:16] Building x: section 2: Hold Your Breath",
                     "[100%   0:16] Building x: done"]


def test_off_a_terminal_auto_means_plain_lines(monkeypatch):
    monkeypatch.delenv("LIPCOACH_PROGRESS", raising=False)
    set_mode("auto")
    out = io.StringIO()  # not a terminal
    assert resolved_mode(out) == "plain"
    with progress_bar("Importing s.yaml", stream=out) as report:
        subrange(report, 0.0, 0.5)(1.0, "checked")
        report(0.75, "song a")
    assert out.getvalue().splitlines() == ["[ 50%   0:00] Importing s.yaml: checked", "[ 75%   0:00] Importing s.yaml: song a",
                                           "[100%   0:00] Importing s.yaml: done"]


def test_the_mode_can_be_chosen(monkeypatch):
    monkeypatch.setenv("LIPCOACH_PROGRESS", "none")
    set_mode("auto")
    out = io.StringIO()
    with progress_bar("x", stream=out) as report:
        report(0.5, "half")
    assert out.getvalue() == ""
    monkeypatch.delenv("LIPCOACH_PROGRESS")
    try:
        set_mode("plain")
        assert resolved_mode(io.StringIO()) == "plain"
        with pytest.raises(Exception, match="choose one of auto, bar, plain, none"):
            set_mode("loud")
    finally:
        set_mode("auto")


def test_a_failed_step_stays_the_last_line():
    out = io.StringIO()
    with pytest.raises(RuntimeError):
        with progress_bar("Scoring t.mp4", mode="plain", stream=out) as report:
            report(0.3, "placing the take")
            raise RuntimeError("boom")
    assert out.getvalue().splitlines()[-1].endswith("Scoring t.mp4: placing the take")
