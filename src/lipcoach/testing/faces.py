"""Synthetic talking-face takes: a drawn face whose mouth opens with a known envelope (tests, benchmarks, demos).

MediaPipe's Face Mesh finds this drawn face (checked in test_mouth.py), so the whole path
(decode → mesh → sync → grades) runs on a video whose truth is exact.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from lipcoach.media.encode import mux_audio

SR = 16000


def draw_face(img: np.ndarray, cx: int, cy: int, open_frac: float, *, scale: float = 1.0,
              round_frac: float = 0.0) -> None:
    """Draw a frontal face centred at (cx, cy) whose mouth is ``open_frac`` (0 closed .. 1 wide) open
    and ``round_frac`` rounded (1: "oo", 30 % narrower; 0: neutral; −1: spread "ee", 15 % wider)."""
    import cv2

    s = scale
    cv2.ellipse(img, (cx, cy), (int(120 * s), int(160 * s)), 0, 0, 360, (205, 170, 150), -1)
    for dx in (-50, 50):
        ex = cx + int(dx * s)
        cv2.ellipse(img, (ex, cy - int(40 * s)), (int(22 * s), int(12 * s)), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(img, (ex, cy - int(40 * s)), int(8 * s), (60, 40, 30), -1)
        cv2.line(img, (ex - int(25 * s), cy - int(70 * s)), (ex + int(25 * s), cy - int(72 * s)), (80, 50, 40), max(1, int(5 * s)))
    cv2.line(img, (cx, cy - int(30 * s)), (cx - int(10 * s), cy + int(25 * s)), (170, 130, 115), max(1, int(3 * s)))
    o = float(np.clip(open_frac, 0.0, 1.0))
    r = float(np.clip(round_frac, -1.0, 1.0))
    narrow = 1.0 - (0.3 * r if r > 0 else 0.15 * r)
    cv2.ellipse(img, (cx, cy + int(70 * s)), (int(45 * narrow * s), int((4 + 30 * o) * s)), 0, 0, 360, (150, 60, 70), -1)
    cv2.ellipse(img, (cx, cy + int(70 * s)), (int(38 * narrow * s), max(1, int((1 + 26 * o) * s))), 0, 0, 360,
                (40, 20, 25), -1)


def write_take(path: Path, *, duration_s: float, mouths: Sequence[Callable[[float], float]], fps: float = 25.0,
               audio: Optional[np.ndarray] = None, size: tuple[int, int] = (480, 480), vfr_jitter: float = 0.0,
               rotate_pixels: int = 0, face_scale: float = 1.0, seed: int = 0) -> list[float]:
    """Encode an H.264 mp4 with one drawn face per entry of ``mouths`` (each maps take time s → opening 0..1,
    or ``(opening, rounding)`` (see :func:`draw_face`), or None while that face is turned away).

    Parameters
    ----------
    vfr_jitter : float
        Frame times are ``i / fps`` plus a uniform jitter of ± this share of a frame (variable frame rate).
    rotate_pixels : int
        Store the picture turned counter-clockwise by this many degrees (as a phone does before
        writing its rotation flag).

    Returns
    -------
    list of float
        The frame times written, s.
    """
    import av
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size
    out = av.open(str(path), "w")
    vs = out.add_stream("libx264", rate=int(round(fps)))
    k = (rotate_pixels // 90) % 4
    vs.width, vs.height = (h, w) if k % 2 else (w, h)
    vs.pix_fmt = "yuv420p"
    vs.time_base = Fraction(1, 1000)
    vs.codec_context.time_base = Fraction(1, 1000)
    vs.options = {"preset": "ultrafast", "crf": "23"}
    a_stream = out.add_stream("aac", rate=SR, layout="mono") if audio is not None else None
    times = []
    n = int(duration_s * fps)
    last_ms = -1
    for i in range(n):
        t = i / fps + (rng.uniform(-vfr_jitter, vfr_jitter) / fps if vfr_jitter else 0.0)
        t_ms = max(last_ms + 1, int(round(max(t, 0.0) * 1000)))
        last_ms = t_ms
        t = t_ms / 1000.0
        img = np.full((h, w, 3), (70, 90, 120), np.uint8)
        for j, mouth in enumerate(mouths):
            cx = int(w * (j + 1) / (len(mouths) + 1))
            opening = mouth(t)
            if opening is not None:  # None: the face is turned away (not drawn)
                opening, rounding = opening if isinstance(opening, tuple) else (opening, 0.0)
                draw_face(img, cx, h // 2, opening, scale=face_scale, round_frac=rounding)
        img = cv2.GaussianBlur(img, (5, 5), 0)
        if k:
            img = np.ascontiguousarray(np.rot90(img, k))
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = t_ms
        frame.time_base = Fraction(1, 1000)
        for pkt in vs.encode(frame):
            out.mux(pkt)
        times.append(t)
    for pkt in vs.encode():
        out.mux(pkt)
    if a_stream is not None:
        mux_audio(out, a_stream, audio, sr=SR)
    out.close()
    return times


def envelope_from_level(level: np.ndarray, *, rate_hz: float, shift_s: float = 0.0, start_s: float = 0.0):
    """Mouth opening function of take time from a 0..1 vocal level (song time), picture late by ``shift_s``."""

    def mouth(t: float) -> float:
        i = (t + start_s - shift_s) * rate_hz
        if i < 0 or i >= level.size - 1:
            return 0.0
        return float(level[int(i)])

    return mouth


#: How a drawn performer shapes each viseme class: (share of the vocal-driven opening, rounding
#: as :func:`draw_face` takes it). Lips shut on m/b/p, nearly on f/v; "oo"/"w" rounded and
#: less open, "ee" spread, "ah" widest.
VISEME_SHAPES = {"closed": (0.0, 0.0), "lip_teeth": (0.15, 0.0), "rounded": (0.6, 1.0), "spread": (0.7, -1.0),
                 "mid": (0.9, -0.3), "open": (1.2, 0.0), "teeth": (0.5, -0.2), "back": (0.8, 0.0)}


def shaped_envelope(follow: Callable[[float], float], phonemes, *, start_s: float = 0.0, shift_s: float = 0.0):
    """A mouth (take time s → ``(opening, rounding)``) that opens with ``follow`` and takes each sound's shape.

    Parameters
    ----------
    follow : callable
        Opening 0..1 of take time (:func:`envelope_from_level`).
    phonemes : iterable of (start_s, end_s, viseme)
        The song's sounds, song time, s.
    start_s, shift_s : float
        Song time of take time 0, s; the picture is late by ``shift_s``.
    """
    ph = sorted(phonemes)
    starts = np.array([p[0] for p in ph])

    def mouth(t: float):
        song_t = t + start_s - shift_s
        k = int(np.searchsorted(starts, song_t, side="right")) - 1
        viseme = ph[k][2] if k >= 0 and song_t < ph[k][1] else "rest"
        opening, rounding = VISEME_SHAPES.get(viseme, (1.0, 0.0))
        return follow(t) * opening, rounding

    return mouth


def articulated_mouth(phonemes, *, start_s: float = 0.0, shift_s: float = 0.0, lead_s: float = 0.03,
                      rest_gap_s: float = 0.12):
    """A mouth (take time s → ``(opening 0..1, rounding)``) driven by the lyrics' sounds alone.

    Independent of everything the sync estimator measures the mouth against: it never looks at
    the vocal's level, and its shapes are the drawn performer's (:data:`VISEME_SHAPES`), not
    sync's tables. The jaw moves smoothly (linearly) from one sound's shape, reached at the
    sound's middle, to the next; between words more than ``rest_gap_s`` apart it rests shut.
    It moves ``lead_s`` ahead of the sound (a physical lead chosen here, not the shipped config's).

    Parameters
    ----------
    phonemes : iterable of (start_s, end_s, viseme)
        The song's sounds, song time, s.
    start_s, shift_s : float
        Song time of take time 0, s; the picture is late by ``shift_s``.
    """
    knots_t, knots_o, knots_r = [], [], []
    prev_end = None
    for a, b, viseme in sorted(phonemes):
        if prev_end is None or a - prev_end > rest_gap_s:
            if prev_end is not None:
                knots_t.append(prev_end + 0.5 * rest_gap_s)
                knots_o.append(0.0)
                knots_r.append(0.0)
            knots_t.append(a - 0.5 * rest_gap_s)
            knots_o.append(0.0)
            knots_r.append(0.0)
        opening, rounding = VISEME_SHAPES.get(viseme, (0.8, 0.0))
        knots_t.append(0.5 * (a + b))
        knots_o.append(opening / 1.2)
        knots_r.append(rounding)
        prev_end = b
    kt, ko, kr = np.array(knots_t), np.array(knots_o), np.array(knots_r)

    def mouth(t: float):
        song_t = t + start_s - shift_s + lead_s
        return float(np.interp(song_t, kt, ko, left=0.0, right=0.0)), float(np.interp(song_t, kt, kr, left=0.0, right=0.0))

    return mouth
def lip_sync_mouth(songmap, *, shift_s: float = 0.0, gain: float = 1.4):
    """A drawn performer lip-syncing ``songmap``: song time s → ``(opening, rounding)``, late by ``shift_s``.

    The mouth opens with the map's vocal level and takes each sound's shape (:data:`VISEME_SHAPES`).
    """
    from lipcoach.take import sync as S

    level = S.vocal_level(np.asarray(songmap.loudness.values), rate_hz=songmap.loudness.rate,
                          reference_db=songmap.loudness.reference_db, duration_s=songmap.duration)
    follow = envelope_from_level(level, rate_hz=S.GRID_RATE_HZ, shift_s=shift_s)
    shaped = shaped_envelope(follow, [(p.start, p.end, p.viseme) for w in songmap.words for p in w.phonemes],
                             shift_s=shift_s)

    def mouth(song_t: float):
        opening, rounding = shaped(song_t)
        return gain * opening, rounding

    return mouth


def face_frame(mouth_shape, *, size: tuple[int, int] = (640, 480), face_scale: float = 0.8) -> np.ndarray:
    """One RGB frame of the drawn face with ``mouth_shape`` = ``(opening, rounding)`` (blurred like a camera)."""
    import cv2

    w, h = size
    img = np.full((h, w, 3), (70, 90, 120), np.uint8)
    opening, rounding = mouth_shape
    draw_face(img, w // 2, h // 2, opening, scale=face_scale, round_frac=rounding)
    return cv2.GaussianBlur(img, (5, 5), 0)


def write_y4m(path: Path, frames, *, fps: int = 25) -> int:
    """Write RGB frames (an iterable of equal-size uint8 arrays) as a YUV4MPEG2 clip, Chromium's fake camera format.

    Returns the number of frames written.
    """
    import cv2

    n = 0
    with open(path, "wb") as out:
        for rgb in frames:
            h, w = rgb.shape[:2]
            if n == 0:
                out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
            n += 1
    return n


#: Frame-index stamp of :func:`stamp_index`: this many bits, as square blocks of this many pixels.
INDEX_BITS, INDEX_BLOCK_PX = 10, 12


def stamp_index(img: np.ndarray, index: int) -> np.ndarray:
    """Write ``index`` into the top-left corner as :data:`INDEX_BITS` black/white blocks (bit 0 first).

    A browser test reads it back from the frame the page sends, so it knows which clip frame was
    stamped with which song time (a fake camera starts its clip whenever the capture opens).
    """
    b = INDEX_BLOCK_PX
    for bit in range(INDEX_BITS):
        img[0:b, bit * b:(bit + 1) * b] = 255 if (index >> bit) & 1 else 0
    return img


def lip_sync_clip(songmap, *, start_s: float, end_s: float, shift_s: float = 0.0, fps: int = 25,
                  size: tuple[int, int] = (320, 240), face_scale: float = 0.42):
    """Frames of the drawn performer lip-syncing ``songmap`` from song time ``start_s`` to ``end_s``, late by ``shift_s``.

    Frame ``k`` shows song time ``start_s + k / fps`` (as the performer sings it) and carries ``k`` in
    its corner (:func:`stamp_index`).
    """
    mouth = lip_sync_mouth(songmap, shift_s=shift_s)
    for k in range(int(round((end_s - start_s) * fps))):
        yield stamp_index(face_frame(mouth(start_s + k / fps), size=size, face_scale=face_scale), k)
