"""Mouth tracking: per-frame lip opening of every face in a take (``lipcoach.mouthtrack/1``).

The video is streamed once with PyAV (frames scaled in the decoder, rotation metadata
applied, timestamps from the container, never the whole video in memory) and MediaPipe's
legacy Face Mesh runs on each frame. The scratch sound of the take is decoded in the same
pass. Measurements are normalised by the face's size so that they do not depend on the
distance to the camera:

- ``opening``: inner-lip gap (mean of three upper/lower inner-lip landmark pairs) divided by
  the distance between the outer eye corners (3-D landmarks, so a turned head shrinks it less).
- ``width``: distance between the inner mouth corners, same unit.
- ``closed``: ``opening < CLOSED_OPENING`` (the lips touch).
- ``rounding``: 0..1, how much narrower the mouth is than this face's own wide mouth
  (95th percentile of ``width`` over the take); "oo"/"w" shapes read ~0.3–0.6.
- ``yaw_deg`` / ``pitch_deg``: head turn from the 3-D landmarks (:func:`head_pose`): yaw
  from the depth difference of the outer eye corners, pitch from that of forehead and chin.
  0 faces the camera; a word sung with the head turned far is not graded (take.grade).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import sys
import tempfile
import threading
from pathlib import Path
from typing import Optional

import numpy as np

from lipcoach import schema
from lipcoach.errors import LipcoachError
from lipcoach.fileio import write_json_atomic
from lipcoach.progress import ProgressCallback, silent

NAME = "lipcoach.mouthtrack"

# MediaPipe's C++ core (glog) and TF-Lite log to the process's stderr; glog and TensorFlow
# read these before mediapipe is imported. What they still print (absl's start-up warning,
# the XNNPACK line) is caught by :func:`native_logs_silenced`.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Longest side of the frame handed to Face Mesh, pixels. The mesh model itself works on a
#: 192×192 crop of the face, so a larger frame only costs decode time.
ANALYSIS_SIZE_PX = 640
#: Opening (inner-lip gap / eye-corner distance) under which the lips count as closed.
#: On GRID speakers a closed mouth measures 0.00–0.02 and a bilabial closure dips under 0.04.
CLOSED_OPENING = 0.04
#: Faces whose eye corners are closer than this in the *source* frame are too small to read.
MIN_EYE_DISTANCE_PX = 22.0
#: Share of frames in which a face must be found for the take to be scored.
MIN_FACE_SHARE = 0.5
#: Audio rate of the scratch sound kept for placement, Hz.
AUDIO_SR = 16000

# Face Mesh landmark indices (legacy 468-point topology).
_UPPER_INNER = (82, 13, 312)
_LOWER_INNER = (87, 14, 317)
_MOUTH_CORNERS = (78, 308)
_EYE_CORNERS = (33, 263)
_NOSE_TIP = 1
_FOREHEAD, _CHIN = 10, 152
_NEEDED = sorted(set(_UPPER_INNER + _LOWER_INNER + _MOUTH_CORNERS + _EYE_CORNERS + (_NOSE_TIP, _FOREHEAD, _CHIN)))
_NEEDED_BUFFER = np.zeros((468, 3), dtype=np.float32)


@dataclasses.dataclass
class FaceTrack:
    """One face followed through the take; arrays are aligned with :attr:`MouthTrack.t_s`.

    Attributes
    ----------
    id : int
        Stable id, 0-based, numbered left to right by the face's median position (detections
        are linked frame to frame by position continuity).
    found : np.ndarray of bool
    opening, width, rounding : np.ndarray of float
        NaN where the face was not found. Units: eye-corner distances (rounding 0..1).
    closed : np.ndarray of bool
    eye_px : float
        Median eye-corner distance in source pixels (face size on screen).
    center : tuple of float
        Median nose-tip position, fractions of the (rotated) frame width and height.
    """

    id: int
    found: np.ndarray
    opening: np.ndarray
    width: np.ndarray
    closed: np.ndarray
    rounding: np.ndarray
    eye_px: float
    center: tuple[float, float]
    yaw_deg: Optional[np.ndarray] = None  #: head turn left/right per frame, degrees (NaN = no face)
    pitch_deg: Optional[np.ndarray] = None  #: head tip up/down per frame, degrees

    @property
    def found_share(self) -> float:
        return float(np.mean(self.found)) if self.found.size else 0.0


@dataclasses.dataclass
class MouthTrack:
    """Mouth measurements of every face in a take.

    Attributes
    ----------
    t_s : np.ndarray
        Frame times in seconds from the start of the take (container timestamps).
    faces : list of FaceTrack
    width_px, height_px : int
        Displayed frame size (after rotation).
    rotation_deg : int
    fps : float
        Median frame rate measured from the timestamps, frames/s.
    source : str
    audio : np.ndarray or None
        The take's scratch sound, mono float32 at :data:`AUDIO_SR` (None if silent).
    audio_start_s : float
        Time of the first audio sample on the take's timeline, s.
    """

    t_s: np.ndarray
    faces: list[FaceTrack]
    width_px: int
    height_px: int
    rotation_deg: int
    fps: float
    source: str = ""
    audio: Optional[np.ndarray] = None
    audio_start_s: float = 0.0

    @property
    def duration_s(self) -> float:
        if self.t_s.size == 0:
            return 0.0
        step = 1.0 / self.fps if self.fps > 0 else 0.0
        return float(self.t_s[-1] + step)

    def face(self, face_id: int) -> FaceTrack:
        for f in self.faces:
            if f.id == face_id:
                return f
        ids = ", ".join(str(f.id) for f in self.faces) or "none"
        raise LipcoachError(self.source or None, f"no face {face_id} in this take (faces found: {ids})")

    def shifted(self, offset_s: float) -> "MouthTrack":
        """The same track with the picture moved later by ``offset_s`` seconds (sound unchanged)."""
        return dataclasses.replace(self, t_s=self.t_s + offset_s)

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        def arr(a, digits=4):
            return [None if not np.isfinite(v) else round(float(v), digits) for v in a]

        return {
            "schema": schema.tag(NAME),
            "source": self.source,
            "width_px": self.width_px,
            "height_px": self.height_px,
            "rotation_deg": self.rotation_deg,
            "fps": round(self.fps, 4),
            "t": [round(float(v), 5) for v in self.t_s],
            "faces": [
                {
                    "id": f.id,
                    "eye_px": round(f.eye_px, 2),
                    "center": [round(c, 4) for c in f.center],
                    "found_share": round(f.found_share, 4),
                    "found": [bool(v) for v in f.found],
                    "opening": arr(f.opening),
                    "width": arr(f.width),
                    "rounding": arr(f.rounding, 3),
                    "closed": [bool(v) for v in f.closed],
                    **({"yaw_deg": arr(f.yaw_deg, 1)} if f.yaw_deg is not None else {}),
                    **({"pitch_deg": arr(f.pitch_deg, 1)} if f.pitch_deg is not None else {}),
                }
                for f in self.faces
            ],
        }

    @classmethod
    def from_dict(cls, doc: dict, *, source: str | os.PathLike | None = None) -> "MouthTrack":
        doc = schema.validate(dict(doc), NAME, source=source)

        def arr(values):
            return np.array([np.nan if v is None else v for v in values], dtype=float)

        faces = [
            FaceTrack(
                id=f["id"], found=np.array(f["found"], dtype=bool), opening=arr(f["opening"]), width=arr(f["width"]),
                closed=np.array(f["closed"], dtype=bool), rounding=arr(f["rounding"]), eye_px=f["eye_px"],
                center=tuple(f["center"]),
                yaw_deg=arr(f["yaw_deg"]) if "yaw_deg" in f else None,
                pitch_deg=arr(f["pitch_deg"]) if "pitch_deg" in f else None,
            )
            for f in doc["faces"]
        ]
        return cls(t_s=np.array(doc["t"], dtype=float), faces=faces, width_px=doc["width_px"], height_px=doc["height_px"],
                   rotation_deg=doc["rotation_deg"], fps=doc["fps"], source=doc.get("source", ""))

    def save(self, path: str | os.PathLike) -> None:
        doc = self.to_dict()
        schema.validate(doc, NAME, source=path)
        write_json_atomic(path, doc)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MouthTrack":
        return cls.from_dict(schema.load_document(path, NAME), source=path)


# ---------------------------------------------------------------------------------------
# geometry (pure numpy)


def mouth_measures(landmarks: np.ndarray) -> tuple[float, float, float, tuple[float, float]]:
    """Opening and width of one face from its Face Mesh landmarks.

    Parameters
    ----------
    landmarks : np.ndarray, shape (468, 3)
        Landmark coordinates in pixels (x, y) and Face Mesh depth scaled like x.

    Returns
    -------
    opening, width : float
        Inner-lip gap and inner mouth width, in eye-corner distances.
    eye_px : float
        Eye-corner distance in pixels of the analysed frame.
    center : (float, float)
        Nose tip (x, y) in pixels of the analysed frame.
    """
    eye = float(np.linalg.norm(landmarks[_EYE_CORNERS[0]] - landmarks[_EYE_CORNERS[1]]))
    eye = max(eye, 1e-6)
    gaps = [np.linalg.norm(landmarks[u, :2] - landmarks[d, :2]) for u, d in zip(_UPPER_INNER, _LOWER_INNER)]
    opening = float(np.mean(gaps)) / eye
    width = float(np.linalg.norm(landmarks[_MOUTH_CORNERS[0], :2] - landmarks[_MOUTH_CORNERS[1], :2])) / eye
    nose = landmarks[_NOSE_TIP]
    return opening, width, eye, (float(nose[0]), float(nose[1]))


def head_pose(landmarks: np.ndarray) -> tuple[float, float]:
    """Head yaw and pitch, degrees, from Face Mesh landmarks (x, y in pixels, z scaled like x).

    Yaw is the angle of the outer-eye-corner line out of the image plane (positive: the
    face's left side, image right, further from the camera); pitch the same for the
    forehead–chin line (positive: chin further than forehead, head tipped back).
    A face turned to camera reads about 0 for both.
    """
    eye = landmarks[_EYE_CORNERS[1]] - landmarks[_EYE_CORNERS[0]]
    yaw = float(np.degrees(np.arctan2(eye[2], np.hypot(eye[0], eye[1]))))
    v = landmarks[_CHIN] - landmarks[_FOREHEAD]
    pitch = float(np.degrees(np.arctan2(v[2], np.hypot(v[0], v[1]))))
    return yaw, pitch


def rounding_from_width(width: np.ndarray) -> np.ndarray:
    """Lip rounding 0..1: how much narrower than the face's wide mouth (95th pct of ``width``)."""
    w = np.asarray(width, dtype=float)
    finite = w[np.isfinite(w)]
    if finite.size == 0:
        return np.full_like(w, np.nan)
    ref = float(np.percentile(finite, 95))
    # A fully rounded "oo" is about 40 % narrower than the spread mouth of the same face.
    return np.clip((ref - w) / (0.4 * max(ref, 1e-6)), 0.0, 1.0)


class _FaceAssigner:
    """Give detections stable ids by position continuity (nearest previous nose tip)."""

    def __init__(self) -> None:
        self.last: dict[int, tuple[float, float, float]] = {}  # id -> (x, y, eye_px)
        self.next_id = 0

    def assign(self, detections: list[tuple[float, float, float]]) -> list[int]:
        ids: list[int] = [-1] * len(detections)
        pairs = []
        for i, (x, y, e) in enumerate(detections):
            for fid, (px, py, pe) in self.last.items():
                pairs.append((np.hypot(x - px, y - py) / max(pe, e, 1.0), i, fid))
        used_ids: set[int] = set()
        for dist, i, fid in sorted(pairs):
            # A face moves well under two eye distances between frames; further means another face.
            if ids[i] == -1 and fid not in used_ids and dist < 2.0:
                ids[i] = fid
                used_ids.add(fid)
        for i in range(len(detections)):
            if ids[i] == -1:
                ids[i] = self.next_id
                self.next_id += 1
            self.last[ids[i]] = detections[i]
        return ids


# ---------------------------------------------------------------------------------------
# decoding


def iter_frames(path: str | os.PathLike, *, with_audio: bool = True, max_side_px: int = ANALYSIS_SIZE_PX,
                audio_sink: Optional[list] = None):
    """Stream ``(t_s, rgb)`` frames of a video, scaled in the decoder and rotated for display.

    Parameters
    ----------
    path : str or PathLike
    with_audio : bool
        Also decode the first audio stream (same pass) and append ``(start_s, samples)``
        blocks at :data:`AUDIO_SR` mono to ``audio_sink``.
    max_side_px : int
        Longest side of the yielded frames (before rotation), pixels.

    Yields
    ------
    t_s : float
        Frame time in seconds from the container's start time.
    rgb : np.ndarray, uint8, shape (h, w, 3)
    """
    import av

    from lipcoach.media.decode import _open, _rotation, _short, video_stream

    p = Path(path)
    container = _open(p)
    try:
        vs = video_stream(container)
        if vs is None:
            raise LipcoachError(p, "has no video stream: it is not a video")
        vs.thread_type = "AUTO"
        rotation = _rotation(vs)
        w0, h0 = int(vs.codec_context.width or vs.width or 0), int(vs.codec_context.height or vs.height or 0)
        scale = min(1.0, max_side_px / max(w0, h0, 1))
        size = (max(2, int(round(w0 * scale / 2)) * 2), max(2, int(round(h0 * scale / 2)) * 2))
        start_s = float(container.start_time or 0) / 1e6
        streams = [vs]
        a_stream = None
        resampler = None
        if with_audio and container.streams.audio:
            a_stream = container.streams.audio[0]
            a_stream.thread_type = "AUTO"
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_SR)
            streams.append(a_stream)
        k_rot = -(rotation // 90) % 4  # display rotation is clockwise; np.rot90 turns counter-clockwise
        last_t = None
        step = 1.0 / float(vs.average_rate) if vs.average_rate else 0.04
        n_ok = 0
        try:
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if packet.stream is a_stream:
                        if audio_sink is not None and frame.time is not None:
                            for out in resampler.resample(frame):
                                audio_sink.append((float(frame.time) - start_s, out.to_ndarray()[0]))
                        continue
                    t = frame.time
                    t = (last_t + step) if t is None else float(t) - start_s
                    if last_t is not None and t <= last_t:
                        # Duplicate or out-of-order timestamp (broken muxer): keep time moving.
                        t = last_t + 1e-3
                    last_t = t
                    img = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                    if k_rot:
                        img = np.ascontiguousarray(np.rot90(img, k_rot))
                    n_ok += 1
                    yield t, img
        except LipcoachError:
            raise
        except Exception as exc:  # a truncated or corrupt file: keep what decoded, as players do
            if n_ok == 0:
                raise LipcoachError(p, f"video cannot be decoded ({_short(exc)})") from None
        if n_ok == 0:
            raise LipcoachError(p, "video stream holds no frames")
    finally:
        container.close()


def _threaded(gen, maxsize: int = 8):
    """Run a generator in a thread with a small bounded queue (decode overlaps Face Mesh)."""
    q: queue.Queue = queue.Queue(maxsize=maxsize)
    stop = threading.Event()
    sentinel = object()

    def worker():
        try:
            for item in gen:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(sentinel)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)

    th = threading.Thread(target=worker, daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is sentinel:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        gen_close = getattr(gen, "close", None)
        th.join(timeout=2.0)
        if gen_close is not None and not th.is_alive():
            gen_close()


def sample_frames(path: str | os.PathLike, times_s: list[float], *, max_side_px: int = ANALYSIS_SIZE_PX) -> list[np.ndarray]:
    """RGB frames (rotated for display) shown at the given take times, found by seeking.

    A seek decodes from the key frame before the time asked for; when the next time (times in
    increasing order) lies no further ahead than the longest such decode seen so far, decoding
    simply goes on instead (a take with key frames seconds apart, or only one, is not decoded
    from its start again for every sample). The frames are the same either way.
    """
    import av

    from lipcoach.media.decode import _rotation, video_stream

    out: list[np.ndarray] = []
    try:
        container = av.open(os.fspath(path))
    except Exception:
        return out
    with container:
        vs = video_stream(container)
        if vs is None:
            return out
        start = float(container.start_time or 0) / 1e6
        k_rot = -(_rotation(vs) // 90) % 4
        w0, h0 = vs.codec_context.width or 2, vs.codec_context.height or 2
        scale = min(1.0, max_side_px / max(w0, h0))
        size = (max(2, int(round(w0 * scale / 2)) * 2), max(2, int(round(h0 * scale / 2)) * 2))
        frames = None  # the decoder, positioned just after the frame last sampled (at last_t)
        last_t: Optional[float] = None
        longest_seek_s = 0.0  # longest decode from a key frame to a sampled time so far, s
        for t in times_s:
            try:
                target = t + start
                seek = (frames is None or last_t is None or not last_t + 1e-3 < target
                        or target - last_t > longest_seek_s)
                if seek:
                    container.seek(int(max(0.0, target - 0.5) / vs.time_base), stream=vs, backward=True)
                    frames = container.decode(vs)
                key_t = None  # time of the first frame decoded after the seek (its key frame)
                for frame in frames:
                    if seek and key_t is None and frame.time is not None:
                        key_t = float(frame.time)
                    if frame.time is None or frame.time + 1e-3 >= target:
                        img = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                        out.append(np.ascontiguousarray(np.rot90(img, k_rot)) if k_rot else img)
                        last_t = None if frame.time is None else float(frame.time)
                        if key_t is not None:
                            longest_seek_s = max(longest_seek_s, target - key_t)
                        break
                else:
                    frames = None  # past the end
            except Exception:  # a frame we cannot reach is simply not sampled
                frames = None
                continue
    return out


_silence_lock = threading.Lock()
_silence_state: dict = {"depth": 0}
#: Frames tracked after the first face before native logs reach stderr again.
_QUIET_FRAMES = 10


@contextlib.contextmanager
def native_logs_silenced():
    """Keep native libraries' log lines (MediaPipe, TF-Lite, absl) off the user's terminal.

    They write straight to file descriptor 2, below Python. While any such block is open
    (blocks may overlap across threads), fd 2 points at a scratch file and ``sys.stderr``
    (our messages, progress bars, tracebacks) is re-opened on the real stderr, so nothing
    of ours is hidden. With ``LIPCOACH_DEBUG`` set, the caught lines are printed afterwards.
    """
    with _silence_lock:
        state = _silence_state
        if state["depth"] == 0:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError, OSError):
                pass
            try:
                saved_fd = os.dup(2)
            except OSError:  # no fd 2 at all (a daemon): nothing to protect
                saved_fd = None
            if saved_fd is not None:
                sink = tempfile.TemporaryFile()
                os.dup2(sink.fileno(), 2)
                python_stderr = sys.stderr
                try:
                    sys.stderr = open(os.dup(saved_fd), "w", buffering=1, errors="backslashreplace",
                                      encoding=getattr(python_stderr, "encoding", None) or "utf-8")
                except OSError:
                    pass
                state.update(saved_fd=saved_fd, sink=sink, python_stderr=python_stderr)
        state["depth"] += 1
    try:
        yield
    finally:
        with _silence_lock:
            state["depth"] -= 1
            if state["depth"] == 0 and state.get("saved_fd") is not None:
                python_stderr = state.pop("python_stderr")
                if sys.stderr is not python_stderr:
                    sys.stderr.close()
                sys.stderr = python_stderr
                os.dup2(state["saved_fd"], 2)
                os.close(state.pop("saved_fd"))
                sink = state.pop("sink")
                if os.environ.get("LIPCOACH_DEBUG"):
                    sink.seek(0)
                    python_stderr.write(sink.read().decode("utf-8", "replace"))
                sink.close()


def count_faces(path: str | os.PathLike, *, duration_s: float, n_samples: int = 6, limit: int = 4) -> int:
    """Most faces seen on any of ``n_samples`` frames spread over the take (at least 1)."""
    times = list(np.linspace(0.05, 0.95, n_samples) * max(duration_s, 0.1))
    frames = sample_frames(path, times)
    best = 1
    with native_logs_silenced():
        import mediapipe as mp

        with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=limit, refine_landmarks=False) as mesh:
            for img in frames:
                found = mesh.process(img).multi_face_landmarks or []
                best = max(best, len(found))
    return best


#: Longest take lipcoach tracks, s: a take of a number runs a few minutes, a continuous roll of
#: a scene rarely over 20; longer is a wrong file (a whole shoot day, a 2-hour recording left
#: running) that would hold a core for as long as it plays. Raise it with ``score --max-take-minutes``.
MAX_TAKE_DURATION_S = 30 * 60.0


def check_take_file(path: str | os.PathLike, *, max_duration_s: Optional[float] = MAX_TAKE_DURATION_S):
    """Probe a take and say plainly when it is not a video or too long; returns its :class:`MediaInfo`.

    The length is the container's, read before any frame is decoded.

    Raises
    ------
    LipcoachError
        Naming the take: missing, empty, not a media file at all, a still image, or sound
        without pictures.
    """
    import av

    from lipcoach.media.decode import check_duration, probe

    p = Path(path)
    try:
        info = probe(p)
    except LipcoachError as exc:
        if exc.problem.startswith("cannot be read"):
            raise LipcoachError(p, "is not a video (FFmpeg cannot read it as any audio or video format)") from None
        raise
    if info.has_video:
        check_duration(info, max_duration_s, what="the take", raise_with="lipcoach score --max-take-minutes raises it")
        return info
    try:
        with av.open(str(p)) as container:
            pictures = bool(container.streams.video)
    except Exception:
        pictures = False
    if pictures:
        raise LipcoachError(p, "is a still image, not a video; the take must be a video of the performance")
    if info.has_audio:
        raise LipcoachError(p, "is an audio file, not a video; the take must be a video of the performance")
    raise LipcoachError(p, "is not a video (it holds no pictures)")


def _measure_face(face_landmarks, w: int, h: int, *, src_scale: float) -> tuple[tuple, tuple]:
    """One face of one frame: its detection ``(cx, cy, eye)`` in frame pixels for the face
    assigner, and its measures ``(opening, width, eye_px_src, cx, cy, yaw_deg, pitch_deg)``
    (eye distance in source pixels, centre as a share of the frame)."""
    # Only the dozen landmarks we measure are copied out of the protobuf (468 is slow).
    lm = _NEEDED_BUFFER.copy()
    pts = face_landmarks.landmark
    for i in _NEEDED:
        q = pts[i]
        lm[i] = (q.x * w, q.y * h, q.z * w)
    opening, width, eye, (cx, cy) = mouth_measures(lm)
    return (cx, cy, eye), (opening, width, eye * src_scale, cx / w, cy / h, *head_pose(lm))


def _face_tracks(rows: list, n: int) -> list[FaceTrack]:
    """The per-detection rows ``(frame index, face id, opening, width, eye_px_src, cx, cy, yaw, pitch)`` as one
    :class:`FaceTrack` per face over ``n`` frames: brief false detections dropped, ids left to right."""
    faces_out: list[FaceTrack] = []
    data = np.array(rows, dtype=float).reshape(-1, 9)
    for fid in sorted(set(int(r[1]) for r in rows)):
        sel = data[data[:, 1] == fid]
        idx = sel[:, 0].astype(int)
        found = np.zeros(n, dtype=bool)
        found[idx] = True
        opening = np.full(n, np.nan)
        width = np.full(n, np.nan)
        opening[idx] = sel[:, 2]
        width[idx] = sel[:, 3]
        yaw = np.full(n, np.nan)
        pitch = np.full(n, np.nan)
        yaw[idx] = sel[:, 7]
        pitch[idx] = sel[:, 8]
        faces_out.append(FaceTrack(
            id=fid, found=found, opening=opening, width=width,
            closed=np.where(found, np.nan_to_num(opening, nan=1.0) < CLOSED_OPENING, False),
            rounding=rounding_from_width(width), eye_px=float(np.median(sel[:, 4])),
            center=(float(np.median(sel[:, 5])), float(np.median(sel[:, 6]))), yaw_deg=yaw, pitch_deg=pitch,
        ))
    # Brief false detections (a poster, a reflection) are not faces of the take.
    faces_out = [f for f in faces_out if f.found.sum() >= max(3, 0.05 * n)] or faces_out
    # Final ids run left to right on screen, so "--face 0" is the leftmost face.
    faces_out.sort(key=lambda f: f.center[0])
    for new_id, f in enumerate(faces_out):
        f.id = new_id
    return faces_out


def _joined_audio(audio_blocks: list) -> tuple[Optional[np.ndarray], float]:
    """The scratch sound's ``(start_s, samples)`` blocks as one mono array (None without sound) and its start, s."""
    audio = None
    audio_start_s = 0.0
    if audio_blocks:
        audio_start_s = audio_blocks[0][0]
        audio = np.concatenate([b for _, b in audio_blocks]).astype(np.float32, copy=False)
    return audio, audio_start_s


def track_mouth(
    path: str | os.PathLike,
    *,
    max_faces: Optional[int] = None,
    with_audio: bool = True,
    report: Optional[ProgressCallback] = None,
    max_duration_s: Optional[float] = MAX_TAKE_DURATION_S,
) -> MouthTrack:
    """Track the mouth of every face in a video take.

    Parameters
    ----------
    path : str or PathLike
        Any video FFmpeg reads (mp4, mov, mkv, webm, avi, mpg), constant or variable frame rate.
    max_faces : int, optional
        Most faces followed at once. Default: as many as a few sampled frames show (up to 4).
        Face Mesh runs its face detector on every frame while it follows fewer faces than
        this, so a tight count is ~30 % faster.
    with_audio : bool
        Also keep the take's scratch sound (mono, :data:`AUDIO_SR` Hz) for placement.
    report : ProgressCallback, optional
    max_duration_s : float, optional
        Refuse a longer take (s): by its container's length before tracking, and while
        decoding when the container under-reports it. None: no limit.

    Returns
    -------
    MouthTrack

    Raises
    ------
    LipcoachError
        No video stream, undecodable file, no face in enough frames, or a face too small.
    """
    # Longer than the rest: the Face Mesh graph, its silenced native logs and the decoding
    # thread are opened and closed around the one frame loop, in one place; the per-face
    # measures and the tracks made of them are steps of their own (_measure_face, _face_tracks).
    report = report or silent
    p = Path(path)
    info = check_take_file(p, max_duration_s=max_duration_s)
    expected_s = max(info.duration_s, 1e-3)
    if max_faces is None:
        max_faces = count_faces(p, duration_s=info.duration_s)
    src_long_side = max(info.width, info.height, 1)

    audio_blocks: list = []
    times: list[float] = []
    # per detection: (frame index, face id, opening, width, eye_px_src, cx, cy)
    rows: list[tuple[int, int, float, float, float, float, float]] = []
    assigner = _FaceAssigner()
    disp_w = disp_h = 0
    # The graph loads its landmark model (and logs, from its own threads) once a first face
    # is found: native logs stay silenced until a few frames after that.
    quiet = contextlib.ExitStack()
    quiet.enter_context(native_logs_silenced())
    quiet_until = None
    try:
        import mediapipe as mp

        mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=max_faces, refine_landmarks=False,
                                               min_detection_confidence=0.5, min_tracking_confidence=0.5)
    except BaseException:
        quiet.close()
        raise
    try:
        frames = _threaded(iter_frames(p, with_audio=with_audio, audio_sink=audio_blocks))
        for idx, (t, img) in enumerate(frames):
            if max_duration_s and t > max_duration_s:  # the container under-stated its length
                raise LipcoachError(p, f"the take runs past the {max_duration_s / 60:.0f} min limit "
                                       "(lipcoach score --max-take-minutes raises it)")
            times.append(t)
            h, w = img.shape[:2]
            disp_w, disp_h = w, h
            src_scale = src_long_side / max(w, h)
            result = mesh.process(img)
            faces = result.multi_face_landmarks or []
            if quiet_until is None and faces:
                quiet_until = idx + _QUIET_FRAMES
            if quiet_until is not None and idx >= quiet_until:
                quiet.close()
            dets, measures = [], []
            for fl in faces:
                det, measure = _measure_face(fl, w, h, src_scale=src_scale)
                dets.append(det)
                measures.append(measure)
            for fid, m in zip(assigner.assign(dets), measures):
                rows.append((idx, fid, *m))
            if idx % 25 == 0:
                report(min(0.99, t / expected_s), "tracking the mouth")
    finally:
        try:
            mesh.close()
        finally:
            quiet.close()

    t_s = np.asarray(times, dtype=float)
    n = t_s.size
    fps = float(1.0 / np.median(np.diff(t_s))) if n > 1 else float(info.fps or 25.0)
    faces_out = _face_tracks(rows, n)
    audio, audio_start_s = _joined_audio(audio_blocks)
    report(1.0, "tracking the mouth")
    return MouthTrack(t_s=t_s, faces=faces_out, width_px=disp_w, height_px=disp_h, rotation_deg=info.rotation_deg,
                      fps=fps, source=os.fspath(p), audio=audio, audio_start_s=audio_start_s)


def check_faces(track: MouthTrack) -> None:
    """Raise :class:`LipcoachError` when no face is usable: none found, too rarely, or too small."""
    n = track.t_s.size
    if not track.faces:
        raise LipcoachError(track.source or None, f"no face found in any of its {n} frames")
    best = max(track.faces, key=lambda f: f.found_share)
    if best.found_share < MIN_FACE_SHARE:
        raise LipcoachError(track.source or None,
                            f"a face was found in only {100 * best.found_share:.0f} % of frames "
                            f"(need {100 * MIN_FACE_SHARE:.0f} %); keep the face in shot, lit and turned to camera")
    if max(f.eye_px for f in track.faces) < MIN_EYE_DISTANCE_PX:
        raise LipcoachError(track.source or None,
                            f"the face is too small to read the lips (eyes {best.eye_px:.0f} px apart, need "
                            f"{MIN_EYE_DISTANCE_PX:.0f}); film closer")
