"""The studio under abuse: memory for huge request bodies, and concurrent map edits.

Starts the real studio (uvicorn, in its own process) over a fresh data folder holding the
synthetic demo number, then

- posts 300 MB bodies to ``/renders`` and ``/songmap``, once with the size declared
  (Content-Length) and once streamed (chunked), and records the answer and how much the
  server's peak resident memory (``VmHWM``) grew;
- sends 20 map edits at the same moment and counts the accepted ones, the versions made and
  the edits lost (an accepted edit missing from the version its answer names).

Prints one JSON document; ``--json PATH`` also writes it. ``--server-src`` runs the server
from another source tree (the studio before this hardening, say) for a peer in the same run.

    python benchmarks/studio_hardening.py --json /tmp/studio_hardening.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BODY_BYTES = 300 * 2**20
SERVER = """
import sys, uvicorn
from lipcoach.web.app import create_app
uvicorn.run(create_app(sys.argv[1], start_jobs=False), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def make_studio(folder: Path) -> int:
    """A catalogue holding the synthetic demo number and a map of it from its exact truth."""
    from lipcoach.production.catalogue import Catalogue

    try:
        from lipcoach.production.catalogue import add_song_files
    except ImportError:  # a server source from before add_song_files moved to the catalogue
        from lipcoach.production.demo import add_song_files
    from lipcoach.testing.synthetic_song import make_song
    from lipcoach.testing.clips import songmap_from_words

    song = make_song(seed=7)
    files = song.write(folder / "song")
    cat = Catalogue(folder / "data")
    with cat.session() as s:
        song_id = add_song_files(cat, s, title="Paper Boats", performer="", mix=files["mix.wav"], stem=files["vocals.wav"], lyrics=files["lyrics.txt"])
        starts = [min(w.start for w in song.words if w.line == li) for li in range(len(song.line_texts))]
        m = songmap_from_words(song.vocals, sr=song.sr, words=[(w.start, w.end, w.text) for w in song.words], line_breaks_s=starts[1:])
        m.duration = song.duration
        cat.add_map_version(s, song_id, m, origin="import")
        s.commit()
    cat.engine.dispose()
    return song_id


def reset_peak_rss(pid: int) -> None:
    """Start a new peak: the kernel resets VmHWM to the current RSS (``clear_refs`` 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def post_huge(port: int, path: str, *, declared: bool) -> str:
    """Send a 300 MB body (as fast as the server takes it); return the status line it answers."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Lipcoach: 1\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {BODY_BYTES}\r\n\r\n" if declared else "Transfer-Encoding: chunked\r\n\r\n"
    chunk = b" " * 2**20
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head.encode())
        sock.settimeout(10)
        try:
            for _ in range(BODY_BYTES // len(chunk)):
                sock.sendall(chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if not declared:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed the connection early
        try:
            return sock.recv(200).decode("latin-1").split("\r\n")[0]
        except OSError as exc:
            return f"no answer ({exc})"


def concurrent_edits(url: str, song_id: int, n: int = 20) -> dict:
    import httpx

    doc = httpx.get(f"{url}/api/songs/{song_id}/songmap").json()
    w = doc["words"][0]
    starts = [round(max(0.0, w["start_s"] - 0.2) + 0.005 * k, 4) for k in range(n)]
    answers: list = [None] * n
    barrier = threading.Barrier(n)

    def edit(k: int) -> None:
        barrier.wait()
        answers[k] = httpx.post(f"{url}/api/songs/{song_id}/songmap", headers={"X-Lipcoach": "1"}, timeout=120,
                                json={"words": [{"index": 0, "start_s": starts[k], "end_s": w["end_s"]}]})

    threads = [threading.Thread(target=edit, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [(k, a.json()["version"]) for k, a in enumerate(answers) if a.status_code == 200]
    lost = 0
    for k, version in accepted:
        saved = httpx.get(f"{url}/api/songs/{song_id}/songmap?version={version}").json()
        lost += abs(saved["words"][0]["start_s"] - starts[k]) > 1e-4
    info = httpx.get(f"{url}/api/songs/{song_id}").json()
    return {"edits": n, "accepted": len(accepted), "statuses": sorted({a.status_code for a in answers}),
            "versions_made": len(info["map_versions"]) - 1, "distinct_versions": len({v for _k, v in accepted}), "lost": lost}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=Path)
    ap.add_argument("--server-src", type=Path, default=REPO / "src",
                    help="source tree the server runs from (an older checkout's src/ measures the peer)")
    ap.add_argument("--make-studio", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_studio:
        print(make_studio(args.make_studio))
        return
    tmp = Path(tempfile.mkdtemp(prefix="lipcoach-hardening-"))
    env = {**os.environ, "PYTHONPATH": str(args.server_src.resolve())}
    # The catalogue is made by the server's own code, so a peer runs on the catalogue it knows.
    made = subprocess.run([sys.executable, __file__, "--make-studio", str(tmp)], env=env, check=True, capture_output=True, text=True)
    song_id = int(made.stdout.strip().splitlines()[-1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp / "data"), str(port)], env=env)
    try:
        import httpx

        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(f"{url}/api/numbers", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        httpx.get(f"{url}/api/songs/{song_id}/practice")  # warm up: imports, peaks
        result = {"server_src": str(args.server_src), "body_bytes": BODY_BYTES, "huge_bodies": [], "load_average_1min": os.getloadavg()[0]}
        for path in (f"/api/songs/{song_id}/renders", f"/api/songs/{song_id}/songmap"):
            for declared in (True, False):
                reset_peak_rss(server.pid)
                before = peak_rss_mb(server.pid)
                status = post_huge(port, path, declared=declared)
                result["huge_bodies"].append({"path": path.replace(str(song_id), "{id}"), "declared_length": declared, "answer": status,
                                              "peak_rss_growth_mb": round(peak_rss_mb(server.pid) - before, 1)})
        result["concurrent_edits"] = concurrent_edits(url, song_id)
    finally:
        server.terminate()
        server.wait(10)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
