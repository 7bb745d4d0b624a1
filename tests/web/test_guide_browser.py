"""The guide mouth beside the lyrics: animator mouth shapes from the map, ahead of each sound, at any speed."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from studio_fixtures import LiveServer, free_port

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("LIPCOACH_SCREENSHOTS") or Path(tempfile.gettempdir()) / "lipcoach-screenshots")

pytestmark = [pytest.mark.browser]
if not CHROMIUM.exists():
    pytest.skip("Chromium not installed at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api", reason="pip playwright not installed")


@pytest.fixture(scope="module")
def page(studio_template, tmp_path_factory):
    from lipcoach.web.app import create_app

    src, song_id = studio_template
    data = tmp_path_factory.mktemp("guide") / "data"
    shutil.copytree(src, data)
    with LiveServer(create_app(data), free_port()) as server, playwright_sync.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("guide_profile")), executable_path=str(CHROMIUM), headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            viewport={"width": 1280, "height": 900})
        pg = ctx.new_page()
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        pg.goto(f"{server.url}/practice?song={song_id}")
        pg.wait_for_selector('body[data-ready="1"]', timeout=15000)
        yield pg
        assert not errors, errors
        ctx.close()


def shape_at(page, t: float, speed: float = 1.0) -> str:
    return page.evaluate(f"lcGuide.shapeAt({t}, {speed}).name")


def phoneme(short_song, symbol: str):
    from lipcoach.production.sample_studio import truth_songmap

    sm = truth_songmap(short_song, source_path="x")
    return next(p for w in sm.words for p in w.phonemes if p.symbol == symbol)


def test_closed_lips_on_p_and_the_vowel_shape_a_frame_ahead(page, short_song):
    from lipcoach.production.sample_studio import truth_songmap

    sm = truth_songmap(short_song, source_path="x")
    paper = sm.words[0]
    p0, vowel = paper.phonemes[0], paper.phonemes[1]
    assert p0.symbol == "P"
    assert shape_at(page, (p0.start + p0.end) / 2 - 0.04) == "A"  # lips shut for the p
    expected = page.evaluate(f"lcGuide.PHONE_SHAPE['{vowel.symbol}']")
    assert expected in "CDEF"
    # the vowel's shape is on screen ~one film frame (50 ms as heard) before the vowel sounds...
    assert shape_at(page, vowel.start - 0.03) == expected
    assert shape_at(page, vowel.start - 0.08) == "A"
    # ...and at half speed those 50 ms as heard are 25 ms of the song
    assert shape_at(page, vowel.start - 0.04, 0.5) == "A"
    assert shape_at(page, vowel.start - 0.02, 0.5) == expected
    # rest between the lines
    assert shape_at(page, (sm.lines[0].end + sm.lines[1].start) / 2) == "X"


def test_f_v_and_rounded_shapes_and_in_betweens(page):
    keys = page.evaluate("lcGuide.keys()")
    shapes = {k["shape"] for k in keys}
    assert {"A", "B", "X"} <= shapes and len(shapes) >= 5
    # an in-between: halfway through a transition the mouth is between two shapes
    k = next(i for i in range(1, len(keys)) if keys[i]["shape"] == "A" and keys[i - 1]["shape"] != "A")
    t = keys[k]["t"] - 0.03 + 0.035  # consonant lead 30 ms, transition 70 ms: halfway
    mid = page.evaluate(f"lcGuide.shapeAt({t}, 1)")
    assert 0.2 < mid["k"] < 0.8


def test_the_mouth_follows_playback_and_exaggerate_opens_it_wider(page, short_song):
    from lipcoach.production.sample_studio import truth_songmap

    sm = truth_songmap(short_song, source_path="x")
    wide = next(p for w in sm.words for p in w.phonemes if page.evaluate(f"lcGuide.PHONE_SHAPE['{p.symbol}']") in "CD")
    page.evaluate(f"lcPractice.seek({wide.start + 0.06})")
    deadline = time.monotonic() + 5
    while page.evaluate("document.getElementById('guideMouth').dataset.shape") not in ("C", "D"):
        assert time.monotonic() < deadline
        page.wait_for_timeout(50)
    page.fill("#exaggerate", "100")
    page.dispatch_event("#exaggerate", "input")
    page.wait_for_timeout(100)
    plain = page.evaluate("lcGuide.current().open")
    page.fill("#exaggerate", "160")
    page.dispatch_event("#exaggerate", "input")
    page.wait_for_timeout(100)
    assert page.evaluate("lcGuide.current().open") > 1.4 * plain
    assert "%" in page.locator("#exaggerateLabel").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#guideMouth").screenshot(path=str(SHOTS / "guide-mouth-open.png"))
    closed = phoneme(short_song, "P")
    page.evaluate(f"lcPractice.seek({closed.start + 0.03})")
    page.wait_for_timeout(150)
    page.locator("#guideMouth").screenshot(path=str(SHOTS / "guide-mouth-closed.png"))
    page.screenshot(path=str(SHOTS / "practice-guide-mouth.png"), full_page=True)
