"""Breath shown by the body: do the shoulders rise on each breath of the song map?

An actor taught the breath-work of a number shows an inhalation with the shoulders and upper
chest as well as the mouth. MediaPipe Pose (the full model shipped in the mediapipe 0.10.21
wheel; the lite and heavy models are downloaded at run time, so they are not used) finds the
shoulders (landmarks 11 and 12). To keep scoring fast, Pose runs only around the breaths:
for each breath the take is sought to :data:`BEFORE_S` before it and decoded up to
:data:`AFTER_S` after it, at most :data:`RATE_HZ` frames per second, frames scaled to
:data:`SIZE_PX` on their long side.

Rise = (shoulder height before the breath − highest shoulder position during it) / shoulder
width (image y grows downwards). A breath is ``shown`` by the body when the rise reaches
:data:`RISE_SHARE` of the shoulder width; ``None`` when the shoulders are not seen.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from lipcoach.progress import ProgressCallback, silent

#: Seconds of the take read before a breath (the resting shoulder height) and after its start.
BEFORE_S = 0.5
AFTER_S = 0.25
#: Most Pose frames per second around a breath.
RATE_HZ = 8.0
#: Long side of the frames handed to Pose, pixels (the model works on a 256×256 crop).
SIZE_PX = 320
#: Shoulder rise, in shoulder widths, that shows a breath (≈ 1 cm on an adult's 40 cm shoulders).
RISE_SHARE = 0.025
#: Windows closer than this (s) are decoded in one forward pass instead of seeking.
SEEK_GAP_S = 3.0
#: Pose visibility under which a shoulder is not seen.
MIN_VISIBILITY = 0.5
_SHOULDERS = (11, 12)


def rise_share(t_s: np.ndarray, shoulder_y: np.ndarray, shoulder_width: np.ndarray, *, start_s: float,
               end_s: float) -> Optional[float]:
    """How far the shoulders rose on one breath, in shoulder widths (None when not seen).

    Parameters
    ----------
    t_s : np.ndarray
        Frame times, s (any timeline, the same as ``start_s`` / ``end_s``).
    shoulder_y : np.ndarray
        Mean height of the two shoulders per frame, pixels, y downwards; NaN = not seen.
    shoulder_width : np.ndarray
        Distance between the shoulders per frame, pixels.
    start_s, end_s : float
        The breath, s.
    """
    ok = np.isfinite(shoulder_y) & np.isfinite(shoulder_width)
    before = ok & (t_s < start_s) & (t_s >= start_s - BEFORE_S)
    during = ok & (t_s >= start_s) & (t_s <= end_s + AFTER_S)
    if before.sum() < 1 or during.sum() < 1:
        return None
    width = float(np.median(shoulder_width[ok]))
    if width <= 0:
        return None
    rest = float(np.median(shoulder_y[before]))
    top = float(np.min(shoulder_y[during]))
    return (rest - top) / width


def breath_windows(breaths, *, song_start_s: float, take_span_s: tuple[float, float]) -> list[Optional[tuple[float, float]]]:
    """Take-time windows (s) to read for each breath; None for breaths outside the take."""
    out: list[Optional[tuple[float, float]]] = []
    for b in breaths:
        if b.start < take_span_s[0] or b.end > take_span_s[1]:
            out.append(None)
            continue
        out.append((max(0.0, b.start - song_start_s - BEFORE_S), b.end - song_start_s + AFTER_S))
    return out


def new_pose():
    """A MediaPipe Pose graph as :func:`shoulder_rise` uses it, already run once on a blank frame.

    The first frame a TF-Lite model sees pays its start-up (tens of ms); a scorer that makes
    the graph while other work runs does not wait for it later. A blank frame shows no body,
    so the graph starts the take by looking for one, exactly as a fresh graph does.
    Close it (``.close()``) when done.
    """
    from lipcoach.take.mouth import native_logs_silenced

    with native_logs_silenced():
        import mediapipe as mp

        pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                      enable_segmentation=False, min_detection_confidence=0.5)
        pose.process(np.zeros((SIZE_PX * 9 // 16, SIZE_PX, 3), dtype=np.uint8))
    return pose


def shoulder_rise(take_path: str | os.PathLike, breaths: Sequence, *, song_start_s: float,
                  take_span_s: tuple[float, float], report: Optional[ProgressCallback] = None,
                  pose=None) -> list[Optional[str]]:
    """Per breath of the song map: ``"shown"`` / ``"not_shown"`` by the shoulders, or None; see :func:`_shoulder_rise`.

    MediaPipe Pose's native log lines are kept off the user's terminal, as the face tracker's are.
    ``pose``: a graph from :func:`new_pose` to use (the caller closes it); default a new one.
    """
    from lipcoach.take.mouth import native_logs_silenced

    with native_logs_silenced():
        return _shoulder_rise(take_path, breaths, song_start_s=song_start_s, take_span_s=take_span_s, report=report,
                              pose=pose)


def _shoulder_rise(take_path: str | os.PathLike, breaths: Sequence, *, song_start_s: float,
                   take_span_s: tuple[float, float], report: Optional[ProgressCallback] = None,
                   pose=None) -> list[Optional[str]]:
    """Per breath of the song map: ``"shown"`` / ``"not_shown"`` by the shoulders, or None (not seen, not in the take).

    The windows are decoded in a second thread (:func:`_window_frames`) while Pose runs on the
    frames already decoded: Pose releases the interpreter while it infers, so the two overlap.

    Parameters
    ----------
    take_path : path
        The take video.
    breaths : sequence of Breath
        ``SongMap.breaths`` (song time).
    song_start_s : float
        Song time at take time 0, s.
    take_span_s : (float, float)
        Song times the take covers, s.
    """
    from lipcoach.take.mouth import _threaded

    report = report or silent
    windows = breath_windows(breaths, song_start_s=song_start_s, take_span_s=take_span_s)
    out: list[Optional[str]] = [None] * len(windows)
    todo = [i for i, w in enumerate(windows) if w is not None]
    if not todo:
        return out
    own_pose = pose is None
    if own_pose:
        import mediapipe as mp

        pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                      enable_segmentation=False, min_detection_confidence=0.5)
    try:
        ts: list[float] = []
        ys: list[float] = []
        ws: list[float] = []
        lost = False
        n_done = 0
        for kind, i, t, img in _threaded(_window_frames(take_path, windows, todo)):
            if kind == "frame":
                if lost:
                    continue
                try:
                    y, w = _shoulders(pose.process(img), img.shape)
                except Exception:  # a frame Pose cannot read loses its window, as an unreachable one does
                    lost = True
                    continue
                ts.append(t)
                ys.append(y)
                ws.append(w)
                continue
            if kind == "done" and not lost:
                b = breaths[i]
                r = rise_share(np.array(ts), np.array(ys, dtype=float), np.array(ws, dtype=float),
                               start_s=b.start - song_start_s, end_s=b.end - song_start_s)
                out[i] = None if r is None else ("shown" if r >= RISE_SHARE else "not_shown")
                n_done += 1
                report(n_done / len(todo), "looking at the shoulders on each breath")
            ts, ys, ws, lost = [], [], [], False
    finally:
        if own_pose:
            pose.close()
    return out


def _window_frames(take_path: str | os.PathLike, windows: list, todo: list[int]):
    """Decode the Pose frames of each breath window: ``("frame", i, t_s, rgb)`` for each frame of window ``i``
    (at most :data:`RATE_HZ` per second, long side :data:`SIZE_PX`), then ``("done", i, None, None)``, or
    ``("lost", i, None, None)`` when the window cannot be reached. An unreadable take yields nothing.
    """
    import av

    from lipcoach.media.decode import _rotation, video_stream

    try:
        container = av.open(os.fspath(take_path))
    except Exception:  # an unreadable take was already reported by the mouth tracker
        return
    with container:
        vs = video_stream(container)
        if vs is None:
            return
        vs.thread_type = "AUTO"
        start = float(container.start_time or 0) / 1e6
        k_rot = -(_rotation(vs) // 90) % 4
        w0, h0 = vs.codec_context.width or 2, vs.codec_context.height or 2
        scale = min(1.0, SIZE_PX / max(w0, h0))
        size = (max(2, int(round(w0 * scale / 2)) * 2), max(2, int(round(h0 * scale / 2)) * 2))
        frames = None
        last_t = None
        for i in todo:
            lo, hi = windows[i]
            next_t = lo
            try:
                # Breaths a few seconds apart are read in one forward pass; a seek costs a
                # decode from the previous key frame.
                if frames is None or last_t is None or lo < last_t or lo - last_t > SEEK_GAP_S:
                    container.seek(int(max(0.0, lo + start - 0.3) / vs.time_base), stream=vs, backward=True)
                    frames = container.decode(vs)
                for frame in frames:
                    if frame.time is None:
                        continue
                    t = float(frame.time) - start
                    last_t = t
                    if t > hi:
                        break
                    if t + 1e-3 < next_t:
                        continue
                    next_t = t + 1.0 / RATE_HZ
                    img = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                    if k_rot:
                        img = np.ascontiguousarray(np.rot90(img, k_rot))
                    yield ("frame", i, t, img)
            except Exception:  # a window we cannot reach is simply not judged (its frames are dropped)
                frames = None
                yield ("lost", i, None, None)
                continue
            yield ("done", i, None, None)


def _shoulders(result, shape) -> tuple[float, float]:
    """Mean shoulder height and shoulder width, pixels (NaN when a shoulder is not seen)."""
    lms = getattr(result, "pose_landmarks", None)
    if lms is None:
        return float("nan"), float("nan")
    h, w = shape[:2]
    pts = [lms.landmark[k] for k in _SHOULDERS]
    if min(p.visibility for p in pts) < MIN_VISIBILITY:
        return float("nan"), float("nan")
    xy = np.array([(p.x * w, p.y * h) for p in pts])
    return float(xy[:, 1].mean()), float(np.linalg.norm(xy[0] - xy[1]))
