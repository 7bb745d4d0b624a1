"""Slowing music down with its pitch kept, plus the clicks and ticks of a practice track.

Time stretching is Rubber Band through :func:`pedalboard.time_stretch`, whose
``stretch_factor`` is a *speed*: 0.5 plays twice as long. Audio is float32, shape ``(n,)`` or
``(channels, n)``; sample rates in Hz; times in seconds.

Rubber Band's high-quality ("finer", R3) engine costs about 8 CPU-seconds per minute of
44.1 kHz stereo at 0.75 on these machines (docs/benchmarks.md) and holds the GIL, so long
inputs are cut into a few pieces (at quiet moments, overlapping) and stretched in separate
processes, then aligned and joined with short crossfades inside the overlaps.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.progress import ProgressCallback, silent

#: Slowest and fastest speeds we stretch to (fractions of the original tempo).
MIN_SPEED = 0.25
MAX_SPEED = 2.0

#: Quality presets: keyword arguments of :func:`pedalboard.time_stretch`.
#: "high" = R3 engine, default window (best for mixed music and voice);
#: "balanced" = R3 engine, short window (2–3× less CPU, slightly grainier sustained notes);
#: "fast" = R2 engine (about 3× less CPU, phasier).
#: Formant preservation only matters when the pitch is shifted; we never shift, and turning it
#: off gave bit-identical output for 13 % less CPU (3.2 vs 3.7 CPU-s on 30 s of stereo music).
QUALITY = {
    "high": dict(high_quality=True, preserve_formants=False),
    "balanced": dict(high_quality=True, use_long_fft_window=False, preserve_formants=False),
    "fast": dict(high_quality=False, preserve_formants=False),
}

#: Input seconds each parallel piece shares with its neighbour; the crossfade sits inside it.
_OVERLAP_S = 1.0
#: Crossfade length at a seam, seconds of output.
_SEAM_FADE_S = 0.04
#: Inputs shorter than this many seconds are never split.
_MIN_SPLIT_S = 20.0


def check_speed(speed: float, quality: str = "high") -> float:
    """``speed`` as a float inside MIN_SPEED..MAX_SPEED and ``quality`` a key of QUALITY, or one clear error."""
    speed = float(speed)
    if not math.isfinite(speed) or not (MIN_SPEED <= speed <= MAX_SPEED):
        raise LipcoachError(None, f"speed {speed:g} is outside {MIN_SPEED:g}..{MAX_SPEED:g}")
    if quality not in QUALITY:
        raise LipcoachError(None, f"unknown stretch quality {quality!r} (choose {', '.join(QUALITY)})")
    return speed


def _stretch_piece(audio: np.ndarray, sr: int, speed: float, quality: str) -> np.ndarray:
    import pedalboard

    return pedalboard.time_stretch(np.ascontiguousarray(audio, dtype=np.float32), float(sr), speed, **QUALITY[quality])


def _quiet_cut(mono: np.ndarray, *, sr: int, around: int, search_s: float = 2.0) -> int:
    """The sample index of the quietest 50 ms window within ``search_s`` of ``around``."""
    hop = max(1, int(0.05 * sr))
    lo = max(0, around - int(search_s * sr))
    hi = min(len(mono) - hop, around + int(search_s * sr))
    if hi <= lo:
        return around
    n = (hi - lo) // hop
    frames = mono[lo : lo + n * hop].reshape(n, hop)
    return lo + int(np.argmin((frames**2).mean(axis=1))) * hop + hop // 2


def time_stretch(
    audio: np.ndarray,
    *,
    sr: int,
    speed: float,
    quality: str = "high",
    n_jobs: Optional[int] = None,
    report: Optional[ProgressCallback] = None,
) -> np.ndarray:
    """Change the tempo of ``audio`` by ``speed`` with its pitch kept (Rubber Band).

    Parameters
    ----------
    audio : np.ndarray, float32, shape (n,) or (channels, n)
    sr : int
        Sample rate in Hz.
    speed : float
        Playback speed relative to the original, ``0.25..2.0``; ``0.75`` lasts 4/3 as long.
    quality : {"high", "balanced", "fast"}
        See :data:`QUALITY`.
    n_jobs : int or None
        Processes to use for long inputs (None: up to 4, bounded by the CPU count;
        1: stretch in this process).
    report : ProgressCallback, optional

    Returns
    -------
    np.ndarray, float32, same channel layout, ``round(n / speed)`` samples
    """
    speed = check_speed(speed, quality)
    report = report or silent
    x = np.asarray(audio, dtype=np.float32)
    mono_in = x.ndim == 1
    x2 = x[None, :] if mono_in else x
    n = x2.shape[1]
    n_out = int(round(n / speed))
    if n == 0:
        return np.zeros_like(x)
    if speed == 1.0:
        report(1.0, "stretch")
        return x.copy()
    if n_jobs is None:
        n_jobs = max(1, min(4, os.cpu_count() or 1))
    n_pieces = 1 if n < _MIN_SPLIT_S * sr else max(1, min(n_jobs, int(n // (_MIN_SPLIT_S * sr / 2))))
    report(0.0, "stretch")
    if n_pieces == 1:
        out = _stretch_piece(x2, sr, speed, quality)
    else:
        out = _stretch_parallel(x2, sr=sr, speed=speed, quality=quality, n_pieces=n_pieces, report=report)
    out = _fit_length(out, n_out)
    report(1.0, "stretch")
    return out[0] if mono_in else out


def _stretch_parallel(x: np.ndarray, *, sr: int, speed: float, quality: str, n_pieces: int, report) -> np.ndarray:
    n = x.shape[1]
    mono = x.mean(axis=0)
    cuts = [0] + [_quiet_cut(mono, sr=sr, around=int(n * k / n_pieces)) for k in range(1, n_pieces)] + [n]
    ov = int(_OVERLAP_S * sr)
    spans = [(max(0, cuts[k] - ov), min(n, cuts[k + 1] + ov)) for k in range(n_pieces)]
    pieces = _run_workers([x[:, a:b] for a, b in spans], sr=sr, speed=speed, quality=quality, report=report)
    fade = max(1, int(_SEAM_FADE_S * sr))
    n_out = int(round(n / speed))
    out = np.zeros((x.shape[0], n_out + fade), dtype=np.float32)
    shift = 0  # output samples by which the current piece sits away from its nominal place
    prev, prev_off, pos = None, 0, 0  # pos: where the previous piece's own share ended
    for k, ((a, _b), piece) in enumerate(zip(spans, pieces)):
        # Rubber Band places its output within ~15 ms of input_time / speed, not exactly, and
        # two pieces that start at different places drift differently: align each piece to
        # the previous one by cross-correlation inside their overlap before the crossfade.
        off = int(round(a / speed)) + shift  # output index of the piece's first sample
        if prev is not None:
            off += _lag(prev, piece, seam=pos, off_prev=prev_off, off_new=off, sr=sr)
            shift = off - int(round(a / speed))
        # Both sides of a seam fade around the same output sample `pos`.
        seg_lo = pos - fade // 2 if k > 0 else 0
        hi = int(round(cuts[k + 1] / speed)) + shift
        seg_hi = hi + fade - fade // 2 if k < n_pieces - 1 else hi
        seg_hi = min(seg_hi, out.shape[1])
        seg = piece[:, max(0, seg_lo - off) : max(0, seg_hi - off)]
        seg_lo = max(0, seg_lo)
        seg_hi = seg_lo + seg.shape[1]
        w = np.ones(seg.shape[1], dtype=np.float32)
        if k > 0:
            w[:fade] = np.linspace(0.0, 1.0, fade, dtype=np.float32)[: len(w[:fade])]
        if k < n_pieces - 1:
            w[-fade:] = np.linspace(1.0, 0.0, fade, dtype=np.float32)[-len(w[-fade:]) :]
        out[:, seg_lo:seg_hi] += seg * w
        prev, prev_off, pos = piece, off, hi
    return out[:, :n_out]


def _lag(prev: np.ndarray, new: np.ndarray, *, seam: int, off_prev: int, off_new: int, sr: int, max_lag_s: float = 0.04) -> int:
    """Output samples to move ``new`` so it lines up with ``prev`` around output index ``seam``."""
    half = int(0.25 * sr)
    m = int(max_lag_s * sr)
    a0 = seam - half - off_prev
    b0 = seam - half - off_new
    if a0 < 0 or b0 - m < 0 or a0 + 2 * half > prev.shape[1] or b0 + 2 * half + m > new.shape[1]:
        return 0
    ref = prev[:, a0 : a0 + 2 * half].mean(axis=0)
    probe = new[:, b0 - m : b0 + 2 * half + m].mean(axis=0)
    if float(np.abs(ref).max()) < 1e-4:
        return 0
    from scipy.signal import correlate

    cc = correlate(probe, ref, mode="valid", method="fft")  # index j <-> new shifted by j - m
    return -(int(np.argmax(cc)) - m)


def _run_workers(pieces: list[np.ndarray], *, sr: int, speed: float, quality: str, report) -> list[np.ndarray]:
    """Stretch each piece in its own ``python -m lipcoach.media.stretch`` process.

    Plain subprocesses rather than multiprocessing: spawn re-runs the caller's main script
    (breaking scripts without a ``__main__`` guard) and fork from the threaded web server can
    deadlock the child.
    """
    with tempfile.TemporaryDirectory(prefix="lipcoach-stretch-") as tmp:
        procs = []
        for k, piece in enumerate(pieces):
            src, dst = Path(tmp) / f"in{k}.npy", Path(tmp) / f"out{k}.npy"
            np.save(src, np.ascontiguousarray(piece, dtype=np.float32))
            cmd = [sys.executable, "-m", "lipcoach.media.stretch", str(src), str(dst), str(sr), repr(speed), quality]
            procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), dst))
        out = []
        try:
            for k, (proc, dst) in enumerate(procs):
                _, err = proc.communicate()
                if proc.returncode != 0:
                    raise RuntimeError(f"stretch worker failed: {err.decode(errors='replace').strip()[-300:]}")
                out.append(np.load(dst))
                report((k + 1) / len(procs) * 0.95, "stretch")
        finally:
            for proc, _ in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return out


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    if y.shape[1] >= n:
        return y[:, :n]
    return np.pad(y, ((0, 0), (0, n - y.shape[1])))


# -- clicks and cues ---------------------------------------------------------------------


def click(*, sr: int, accent: bool = False, duration_s: float = 0.035) -> np.ndarray:
    """One metronome click: a short decaying tone (2 kHz accented, 1.2 kHz otherwise).

    Returns
    -------
    np.ndarray, float32, shape (round(duration_s * sr),), peak 1.0
    """
    t = np.arange(int(round(duration_s * sr)), dtype=np.float32) / sr
    freq_hz = 2000.0 if accent else 1200.0
    env = np.exp(-t / (duration_s / 5.0))
    return (np.sin(2 * np.pi * freq_hz * t) * env).astype(np.float32)


def breath_tick(*, sr: int, duration_s: float = 0.02) -> np.ndarray:
    """A soft, dull tick (band-limited noise burst) that reads as "breathe here", not as a beat.

    Returns
    -------
    np.ndarray, float32, peak 1.0
    """
    rng = np.random.default_rng(7)  # the same tick every time
    n = int(round(duration_s * sr))
    noise = rng.standard_normal(n + 8).astype(np.float32)
    # A 9-tap moving average removes the hiss; what remains is a soft "tk".
    soft = np.convolve(noise, np.ones(9, dtype=np.float32) / 9.0, mode="valid")[:n]
    env = np.hanning(2 * n)[n:].astype(np.float32) ** 2
    tick = soft * env
    return (tick / max(1e-9, float(np.abs(tick).max()))).astype(np.float32)


def mix_at(track: np.ndarray, sound: np.ndarray, times_s: Sequence[float], *, sr: int, gain_db: float = 0.0) -> np.ndarray:
    """Add ``sound`` into ``track`` (in place) starting at each time in ``times_s``.

    Parameters
    ----------
    track : np.ndarray, shape (n,) or (channels, n)
    sound : np.ndarray, shape (m,)
    times_s : sequence of float
        Start times in seconds from the start of ``track``; parts beyond its end are cut.
    sr : int
    gain_db : float
        Level of ``sound`` relative to its own peak, dB.

    Returns
    -------
    np.ndarray, the same ``track``
    """
    g = np.float32(10.0 ** (gain_db / 20.0))
    n = track.shape[-1]
    for t in times_s:
        i = int(round(t * sr))
        if i >= n or i + len(sound) <= 0:
            continue
        a, b = max(0, i), min(n, i + len(sound))
        track[..., a:b] += g * sound[a - i : b - i]
    return track


def fade_edges(audio: np.ndarray, *, sr: int, fade_s: float = 0.01) -> np.ndarray:
    """Short linear fade-in and fade-out so a cut loop does not click; returns a new array."""
    y = np.array(audio, dtype=np.float32, copy=True)
    n = min(int(fade_s * sr), y.shape[-1] // 2)
    if n > 0:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        y[..., :n] *= ramp
        y[..., -n:] *= ramp[::-1]
    return y


if __name__ == "__main__":  # worker entry used by _run_workers
    _src, _dst, _sr, _speed, _quality = sys.argv[1:6]
    np.save(_dst, _stretch_piece(np.load(_src), int(_sr), float(_speed), _quality))


def stretch_and_shift(audio: np.ndarray, *, sr: int, speed: float, semitones: float = 0.0, quality: str = "high") -> np.ndarray:
    """Change tempo by ``speed`` and pitch by ``semitones`` in one Rubber Band pass (short inputs).

    Used to bring a section of another song to a number's tempo and key. Formants are kept
    when the pitch moves, so a shifted voice does not turn into a chipmunk.

    Parameters
    ----------
    audio : np.ndarray, float32, shape (n,) or (channels, n)
    sr : int
        Sample rate in Hz.
    speed : float
        Playback speed relative to the original, ``0.25..2.0``.
    semitones : float
        Pitch shift, semitones (positive = up).

    Returns
    -------
    np.ndarray, float32, same channel layout, ``round(n / speed)`` samples
    """
    import pedalboard

    speed = check_speed(speed, quality)
    x = np.asarray(audio, dtype=np.float32)
    if speed == 1.0 and semitones == 0.0:
        return x.copy()
    x2 = x[None, :] if x.ndim == 1 else x
    options = dict(QUALITY[quality], preserve_formants=semitones != 0.0)
    out = pedalboard.time_stretch(np.ascontiguousarray(x2), float(sr), speed, pitch_shift_in_semitones=float(semitones), **options)
    out = _fit_length(out, int(round(x2.shape[1] / speed)))
    return out[0] if x.ndim == 1 else out
