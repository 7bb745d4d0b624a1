"""Practice studio speed: Rubber Band HQ render of a 4-min song at 75 %, page ready time.

Usage: ``python benchmarks/practice_speed.py [--skip-page] [--modes high,balanced,high-serial]``

Prints the figures recorded in docs/benchmarks.md ("## Practice"). The render uses the first
240 s of a real song from ../shared/data (stereo, its own 44.1 kHz); the page is the practice
page of the demo number (synthetic, 8 lines) served by the real app, opened in Debian's
Chromium through Playwright.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, REPO  # noqa: E402

SONG = DATA / "songs_en" / "morin_on_the_run" / "audio.ogg"
MODES = {
    "high": dict(quality="high", n_jobs=None),
    "high-serial": dict(quality="high", n_jobs=1),
    "balanced": dict(quality="balanced", n_jobs=None),
}


def _cpu_s() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench_render(modes: list[str]) -> list[tuple[str, float, float, float]]:
    from lipcoach.media.decode import load_audio
    from lipcoach.media.stretch import time_stretch
    from lipcoach.practice import write_audio

    t0 = time.perf_counter()
    audio, sr = load_audio(SONG, sr=44100, mono=False)
    audio = audio[:, : 240 * sr]
    decode_s = time.perf_counter() - t0
    print(f"decode 240 s stereo: {decode_s:.2f} s")
    rows = []
    for mode in modes:
        load = os.getloadavg()[0]
        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        out = time_stretch(audio, sr=sr, speed=0.75, **MODES[mode])
        wall = time.perf_counter() - t0
        cpu = _cpu_s() - cpu0
        with tempfile.TemporaryDirectory() as tmp:
            t1 = time.perf_counter()
            write_audio(Path(tmp) / "r.wav", out, sr=sr)
            write_s = time.perf_counter() - t1
        rows.append((mode, wall, write_s, load))
        # CPU seconds do not depend on what else the shared machine runs; on an idle machine the
        # wall time of a split render is about CPU / pieces.
        print(f"{mode:12s} stretch {wall:6.1f} s wall, {cpu:6.1f} s CPU (this process + workers)  + wav write {write_s:.2f} s"
              f"  (1-min load average before: {load:.1f})", flush=True)
    return rows


def bench_page(n_loads: int = 5) -> list[float]:
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright

    from lipcoach.production.sample_studio import make_studio
    from lipcoach.testing.synthetic_song import make_song
    from lipcoach.web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="lipcoach-bench-"))
    try:
        song = make_song(seed=7)
        files = song.write(tmp / "song")
        song_id = make_studio(tmp / "data", song, files, title="Paper Boats (demo number)")
        app = create_app(tmp / "data")
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=8791, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        times = []
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                str(tmp / "profile"), executable_path="/usr/bin/chromium", headless=True,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = ctx.new_page()
            for k in range(n_loads + 1):
                page.goto(f"http://127.0.0.1:8791/practice?song={song_id}")
                page.wait_for_selector('body[data-ready="1"]', timeout=20000)
                ready = page.evaluate("window.lcPractice.readyMs")
                if k:  # the first load also fills the peaks cache and warms the server
                    times.append(ready)
            # the screenshot of the demo number in docs/screenshots/
            page.set_viewport_size({"width": 1280, "height": 900})
            page.evaluate("lcPractice.seek(21.0)")
            page.evaluate("lcPractice.loopLine(2)")
            page.wait_for_timeout(400)
            (REPO / "docs" / "screenshots").mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(REPO / "docs" / "screenshots" / "practice-demo.png"), full_page=True)
            ctx.close()
        server.should_exit = True
        thread.join(5)
        print(f"practice page ready (ms from navigation start), {n_loads} loads of the {song.duration:.0f} s demo number: "
              f"median {statistics.median(times):.0f}, max {max(times):.0f}")
        return times
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-page", action="store_true")
    ap.add_argument("--modes", default="high,balanced,high-serial")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    if not SONG.exists():
        print(f"skip render: {SONG} not found")
    else:
        bench_render(args.modes.split(","))
    if not args.skip_page:
        bench_page()


if __name__ == "__main__":
    main()
