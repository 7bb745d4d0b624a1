#!/usr/bin/env python
"""Does the ONNX port give the original Spleeter's stems? Vocal stems compared sample by sample.

Material: the committed reference clip (``tests/media/data/spleeter_2stems``: the original
Spleeter's stem, made once by ``make spleeter``) and, when the original Spleeter environment
(``.spleeter-venv``) and ../shared/data are there, the first ``--seconds`` of real songs
separated by both now. For each: signal-to-difference ratio of the port's vocal stem against
the original's (dB; higher = closer) and the largest sample difference.

Usage: python benchmarks/spleeter_port.py [--songs dsp_i_18,confession_quesabe] [--seconds 60]
       [--json benchmarks/results/spleeter_port.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import english_songs, jamendo_songs  # noqa: E402

from lipcoach.media import spleeter_net  # noqa: E402
from lipcoach.testing.spleeter_reference import REFERENCE_DIR, _RUN_SPLEETER, spleeter_python  # noqa: E402

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "spleeter_port.json"


def compare(reference: np.ndarray, port: np.ndarray) -> dict:
    diff = port - reference
    return {
        "snr_db": round(float(10 * np.log10(np.sum(reference**2) / max(np.sum(diff**2), 1e-30))), 2),
        "max_abs_diff": float(np.abs(diff).max()),
        "reference_rms": float(np.sqrt(np.mean(reference**2))),
    }


def original_spleeter(mix: np.ndarray, python: Path) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="lipcoach-spleeter-port-") as tmp:
        src, dst = Path(tmp) / "mix.npy", Path(tmp) / "vocals.npy"
        np.save(src, mix)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        subprocess.run([str(python), "-c", _RUN_SPLEETER, str(src), str(dst)], check=True, env=env, cwd=tmp, capture_output=True)
        return np.load(dst)


def main(argv=None) -> int:
    import soundfile as sf

    from lipcoach.media.decode import load_audio

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", default="dsp_i_18,confession_quesabe")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    result = {"command": "python benchmarks/spleeter_port.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "items": {}}
    mix, _ = sf.read(REFERENCE_DIR / "mix.flac", dtype="float32", always_2d=True)
    ref, _ = sf.read(REFERENCE_DIR / "vocals.flac", dtype="float32", always_2d=True)
    result["items"]["reference clip (committed, 14 s)"] = compare(ref.T, spleeter_net.separate_vocals(mix.T))
    python = spleeter_python()
    songs = {s["name"]: s for s in english_songs() + jamendo_songs()}
    if python is None:
        result["note"] = "no .spleeter-venv (make spleeter): real songs not compared"
    for name in [n for n in args.songs.split(",") if n]:
        if python is None or name not in songs:
            continue
        audio, _ = load_audio(songs[name]["audio"], sr=spleeter_net.SAMPLE_RATE, mono=False)
        clip = np.ascontiguousarray(audio[:, : int(args.seconds * spleeter_net.SAMPLE_RATE)])
        result["items"][f"{name} (first {args.seconds:g} s)"] = compare(original_spleeter(clip, python), spleeter_net.separate_vocals(clip))
    for name, row in result["items"].items():
        print(f"{name}: {row['snr_db']:.1f} dB, largest difference {row['max_abs_diff']:.2e}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
