"""Live coaching: the mouth judged word by word while the song plays, with the take report's own rules.

The practice page sends webcam frames (JPEG) stamped in song time; a :class:`LivePass` tracks the
mouth (MediaPipe Face Mesh, measured as :mod:`lipcoach.take.mouth` measures a take) and, as soon as
a word's timing window has been seen, judges it with the functions the full take report uses:

- timing: :func:`lipcoach.take.score.line_estimate` then :func:`lipcoach.take.score.word_offset_ms`
  (the line's offset so far, then the word over its middle ± 0.6 s near it);
- moved / m-b-p closure / "open more": :func:`lipcoach.take.grade.grade_words` with the face's
  scale so far (:func:`lipcoach.take.grade.face_scale`);
- the breath before a line: :func:`lipcoach.take.grade.grade_breaths`.

At the end of the pass :meth:`LivePass.summary` scores the frames seen with
:func:`lipcoach.take.score.score_take` (the full report, no other rule), and
:meth:`LivePass.save_video` writes them, untouched (MJPEG in QuickTime), as a take the studio
can keep and score again.

Slowed practice: like a take recorded at a speed (:func:`lipcoach.production.jobs.score_job`), a
pass is judged on the map scaled to the time the actor heard (:func:`lipcoach.song.edit.time_scaled`),
so the mouth's lead before a sound keeps its real duration. Every cue gives its offset both
ways: ``ms_played`` (as heard) and ``ms_song`` (ms of the song: ``ms_played × speed``); at 75 %
speed "late 40 ms" of the song is 53 ms as played.
"""

from __future__ import annotations

import dataclasses
import os
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np

from lipcoach.errors import LipcoachError
from lipcoach.song.edit import time_scaled
from lipcoach.song.songmap import SongMap
from lipcoach.take import grade as G
from lipcoach.take import score as SC
from lipcoach.take import sync as S
from lipcoach.take.mouth import (CLOSED_OPENING, FaceTrack, MouthTrack, _NEEDED, head_pose, mouth_measures,
                                 native_logs_silenced, rounding_from_width)

#: A word is judged once frames reach this far past the end of its timing window, s (as played):
#: the mouth signal's resting baseline and the lag search need a little of what follows.
JUDGE_MARGIN_S = 0.4
#: The pass's running offset (the centre of each line's search) is read over at most this much of
#: the latest frames, s; a pass longer than this is judged on its latest part.
RUNNING_SPAN_S = 10.0
#: Frames larger than this are refused (a 640×480 JPEG is 30–60 KB), bytes.
MAX_FRAME_BYTES = 2 * 1024 * 1024
#: Frames further apart than this (s of song) start a new pass: a seek or a loop's restart.
JUMP_S = 2.0
#: A frame stamped this much (s of song) before the one before it starts a new pass too; less is the
#: jitter of a browser's clocks, read as a repeated time stamp.
JUMP_BACK_S = 0.2


def timing_label(error_ms: Optional[float]) -> Optional[str]:
    """"on" within one frame (:data:`lipcoach.take.grade.ON_TIME_MS`), else "early" / "late"; None unmeasured."""
    if error_ms is None or not np.isfinite(error_ms):
        return None
    if abs(error_ms) <= G.ON_TIME_MS:
        return "on"
    return "early" if error_ms < 0 else "late"


class FaceReader:
    """Face Mesh over single frames of a live camera (one face, tracking from frame to frame)."""

    def __init__(self) -> None:
        with native_logs_silenced():
            import mediapipe as mp

            self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False,
                                                         min_detection_confidence=0.5, min_tracking_confidence=0.5)
            # The graph loads its landmark model on the first face: warm it on a blank frame.
            self._mesh.process(np.zeros((96, 96, 3), np.uint8))

    def read(self, rgb: np.ndarray) -> Optional[tuple[float, float, float, float, float]]:
        """``(opening, width, eye_px, yaw_deg, pitch_deg)`` of the face in an RGB frame, or None."""
        h, w = rgb.shape[:2]
        found = self._mesh.process(rgb).multi_face_landmarks
        if not found:
            return None
        lm = np.zeros((468, 3), dtype=np.float32)
        pts = found[0].landmark
        for i in _NEEDED:
            q = pts[i]
            lm[i] = (q.x * w, q.y * h, q.z * w)
        opening, width, eye, _ = mouth_measures(lm)
        yaw, pitch = head_pose(lm)
        return opening, width, eye, yaw, pitch

    def close(self) -> None:
        self._mesh.close()


def decode_jpeg(data: bytes) -> np.ndarray:
    """RGB pixels of a JPEG frame; :class:`LipcoachError` when it is not one."""
    import cv2

    if len(data) > MAX_FRAME_BYTES:
        raise LipcoachError(None, f"a camera frame of {len(data) // 1024} KB is over the {MAX_FRAME_BYTES // 1024} KB limit")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None:
        raise LipcoachError(None, "a camera frame is not a JPEG picture")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@dataclasses.dataclass
class _Frames:
    """The measurements of a pass so far, one entry per frame (take time = played time since the first frame)."""

    t_s: list = dataclasses.field(default_factory=list)
    opening: list = dataclasses.field(default_factory=list)
    width: list = dataclasses.field(default_factory=list)
    eye_px: list = dataclasses.field(default_factory=list)
    yaw: list = dataclasses.field(default_factory=list)
    pitch: list = dataclasses.field(default_factory=list)
    size: tuple = (0, 0)


class LivePass:
    """One pass of the song (or of a loop) at one speed, judged as it goes.

    Parameters
    ----------
    songmap : SongMap
        The song's map (song time).
    speed : float
        Playback speed of the pass (0.25–1).
    reader : FaceReader, optional
        Shared by the passes of one camera session (Face Mesh tracks across them).
    video_path : path, optional
        Where the pass's frames are written as they come (MJPEG in QuickTime), for :meth:`save_video`.
    config : SyncConfig
    """

    def __init__(self, songmap: SongMap, *, speed: float = 1.0, reader: Optional[FaceReader] = None,
                 video_path: Optional[str | os.PathLike] = None, config: S.SyncConfig = S.DEFAULT_CONFIG,
                 signals: Optional[SC.SongSignals] = None):
        if not 0.25 <= speed <= 1.0:
            raise LipcoachError(None, f"speed must be between 0.25 and 1, not {speed}")
        self.speed = float(speed)
        self.song_map = songmap
        self.map = time_scaled(songmap, self.speed)  # the time the actor heard
        self.config = config
        self.sig = signals or SC.song_signals(self.map, config=config)
        self.reader = reader
        self.frames = _Frames()
        self.start_played_s: Optional[float] = None  #: played time (scaled map) of the first frame
        self.judged_words: set[int] = set()
        self.judged_breaths: set[int] = set()
        self.cues: list[dict] = []
        self.video_path = Path(video_path) if video_path else None
        self._writer = None
        self._last_song_s: Optional[float] = None
        self._line_center: dict[int, float] = {}  # per line: the pass's running offset when it was first judged, ms

    # -- frames ------------------------------------------------------------------------------
    def add_jpeg(self, song_time_s: float, jpeg: bytes) -> dict:
        """Track one camera frame (JPEG) shown at ``song_time_s``; returns :meth:`add_measure`'s answer."""
        rgb = decode_jpeg(jpeg)
        if self.reader is None:
            self.reader = FaceReader()
        m = self.reader.read(rgb)
        self.frames.size = (rgb.shape[1], rgb.shape[0])
        out = self.add_measure(song_time_s, m)
        if self.video_path is not None:
            self._write(song_time_s, jpeg, rgb.shape[1], rgb.shape[0])
        return out

    def add_measure(self, song_time_s: float, measure: Optional[tuple]) -> dict:
        """Add one frame's mouth measurement (``(opening, width, eye_px, yaw, pitch)`` or None: no face).

        Returns
        -------
        dict
            ``{"t_s": song time, "face": bool, "opening": …, "closed": …, "cues": [new cues]}``.
        """
        if not np.isfinite(song_time_s):
            raise LipcoachError(None, "a camera frame's song time is not a number")
        played = song_time_s / self.speed
        if self.start_played_s is None:
            self.start_played_s = played
        t = played - self.start_played_s
        f = self.frames
        if f.t_s and t <= f.t_s[-1]:
            t = f.t_s[-1] + 1e-3  # a repeated time stamp: keep time moving, as the take reader does
        nan = float("nan")
        opening, width, eye, yaw, pitch = measure if measure is not None else (nan, nan, nan, nan, nan)
        f.t_s.append(t)
        f.opening.append(opening)
        f.width.append(width)
        f.eye_px.append(eye)
        f.yaw.append(yaw)
        f.pitch.append(pitch)
        self._last_song_s = max(song_time_s, self._last_song_s or song_time_s)
        new = self._judge_due(played)
        self.cues.extend(new)
        return {"t_s": round(song_time_s, 4), "face": measure is not None,
                "opening": None if measure is None else round(float(opening), 4),
                "closed": None if measure is None else bool(opening < CLOSED_OPENING), "cues": new}

    # -- the track of the pass -----------------------------------------------------------------
    def track(self) -> MouthTrack:
        """The frames so far as a :class:`MouthTrack` (take time 0 = the first frame)."""
        f = self.frames
        t_s = np.asarray(f.t_s, dtype=float)
        opening = np.asarray(f.opening, dtype=float)
        width = np.asarray(f.width, dtype=float)
        found = np.isfinite(opening)
        eye = np.asarray(f.eye_px, dtype=float)
        face = FaceTrack(id=0, found=found, opening=opening, width=width,
                         closed=np.where(found, np.nan_to_num(opening, nan=1.0) < CLOSED_OPENING, False),
                         rounding=rounding_from_width(width),
                         eye_px=float(np.nanmedian(eye)) if found.any() else 0.0, center=(0.5, 0.5),
                         yaw_deg=np.asarray(f.yaw, dtype=float), pitch_deg=np.asarray(f.pitch, dtype=float))
        fps = float(1.0 / np.median(np.diff(t_s))) if t_s.size > 1 else 25.0
        return MouthTrack(t_s=t_s, faces=[face] if found.any() else [], width_px=f.size[0], height_px=f.size[1],
                          rotation_deg=0, fps=fps, source="live pass")

    @property
    def song_start_s(self) -> Optional[float]:
        """Song time (s, not scaled) of the pass's first frame: the take's ``song_start_s``."""
        return None if self.start_played_s is None else self.start_played_s * self.speed

    # -- judging as it goes ----------------------------------------------------------------------
    def _judge_due(self, played_s: float) -> list[dict]:
        """Cues for the words and breaths whose windows the frames now cover."""
        start = self.start_played_s
        due_words = [i for i, w in enumerate(self.map.words) if i not in self.judged_words and w.start >= start
                     and 0.5 * (w.start + w.end) + SC.WORD_WINDOW_S + SC.WORD_LAG_MS / 1000.0 + JUDGE_MARGIN_S <= played_s]
        due_breaths = [i for i, b in enumerate(self.map.breaths) if i not in self.judged_breaths and b.start >= start
                       and b.end + 0.05 + SC.LINE_LAG_MS / 1000.0 + JUDGE_MARGIN_S <= played_s]
        # A word that began before the pass did (the loop cut into it) is never judged.
        self.judged_words.update(i for i, w in enumerate(self.map.words) if w.start < start)
        self.judged_breaths.update(i for i, b in enumerate(self.map.breaths) if b.start < start)
        if not due_words and not due_breaths:
            return []
        self.judged_words.update(due_words)
        self.judged_breaths.update(due_breaths)
        track = self.track()
        if not track.faces:
            return [{"kind": "word", "word": i, "text": self.map.words[i].text, "line": self.map.words[i].line,
                     "hidden": True} for i in due_words]
        fc = track.faces[0]
        mouth, valid = S.mouth_signal(track.t_s, fc.opening, start_s=-start, n=self.sig.vocal.size)
        scale = G.face_scale(fc.opening)
        visible = G.face_visible(fc)
        span = (start + float(track.t_s[0]), start + track.duration_s)
        lines = {self.map.words[i].line for i in due_words} | {self.map.breaths[i].before_line for i in due_breaths
                                                                if self.map.breaths[i].before_line is not None}
        line_off = [None] * len(self.map.lines)
        for li in lines:
            if li not in self._line_center:
                # Read once per line, when its first word or breath is judged (the costliest search).
                self._line_center[li] = self._running_offset(mouth, valid, played_s)
            line_off[li] = SC.line_estimate(mouth, valid, self.sig, self.map.lines[li], center_ms=self._line_center[li],
                                            config=self.config).offset_ms
        cues = []
        for i in due_words:
            w = self.map.words[i]
            err = SC.word_offset_ms(mouth, valid, self.sig, w, center_ms=line_off[w.line], config=self.config)
            offsets = [None] * len(self.map.words)
            offsets[i] = err
            graded = G.grade_words(self.map, t_s=track.t_s, opening=fc.opening, song_start_s=start,
                                   line_offsets_ms=line_off, word_offsets_ms=offsets, vocal_grid=self.sig.level,
                                   grid_rate_hz=self.sig.rate_hz, take_span_s=(w.start, w.end), scale=scale,
                                   visible=visible)
            g = next((x for x in graded if x.index == i), None)
            if g is None:
                continue
            cues.append(self._word_cue(g))
        if due_breaths:
            breaths = G.grade_breaths(self.map, t_s=track.t_s, opening=fc.opening, song_start_s=start,
                                      line_offsets_ms=line_off, take_span_s=span, scale=scale, visible=visible)
            for bi in due_breaths:
                b = self.map.breaths[bi]
                bg = next((x for x in breaths if abs(x.start_s - round(b.start, 3)) < 1e-6), None)
                if bg is None:
                    continue
                cues.append({"kind": "breath", "breath": bi, "line": b.before_line, "audible": b.audible,
                             "shown": bg.shown, "face": bg.face,
                             "start_s": round(b.start * self.speed, 3)})
        return cues

    def _running_offset(self, mouth: np.ndarray, valid: np.ndarray, played_s: float) -> float:
        """The pass's offset so far (ms, as played) over its latest :data:`RUNNING_SPAN_S`, the centre lines are read around."""
        lo = max(self.start_played_s, played_s - RUNNING_SPAN_S)
        est = SC.window_estimate(mouth, valid, self.sig, lo, played_s, max_lag_ms=self.config.max_lag_ms,
                                 center_ms=0.0, config=self.config)
        return float(est.offset_ms)

    def _word_cue(self, g: G.WordGrade) -> dict:
        err = g.timing_error_ms if g.hit and not g.hidden else None
        return {"kind": "word", "word": g.index, "text": g.text, "line": g.line, "hidden": g.hidden, "hit": g.hit,
                "timing": timing_label(err),
                "ms_played": None if err is None else round(err, 1),
                "ms_song": None if err is None else round(err * self.speed, 1),
                "closure": None if g.closure_ok is None else ("ok" if g.closure_ok else "missed"),
                "open_more": bool(g.hit and g.open_ratio is not None and g.open_ratio < G.OPEN_OK_RATIO),
                "open_ratio": None if g.open_ratio is None else round(g.open_ratio, 2)}

    # -- end of the pass ---------------------------------------------------------------------------
    def summary(self) -> dict:
        """The pass scored in full: :func:`lipcoach.take.score.score_take` on its frames (the take report's rules).

        Returns
        -------
        dict
            ``{"frames", "seconds_played", "speed", "song_start_s", "cues": {counts}, "report": takereport doc}``;
            ``report`` is None and ``error`` says why when the pass cannot be scored (no face, too short).
        """
        out = {"frames": len(self.frames.t_s), "speed": self.speed, "song_start_s": self.song_start_s,
               "seconds_played": round(self.frames.t_s[-1], 2) if self.frames.t_s else 0.0,
               "cues": self.counts(), "report": None}
        if len(self.frames.t_s) < 10:
            out["error"] = "the pass was too short to score"
            return out
        try:
            rep = SC.score_take(Path("live pass"), self.map, track=self.track(), song_start_s=self.start_played_s,
                                body=False, config=self.config)
        except LipcoachError as exc:
            out["error"] = exc.problem
            return out
        out["report"] = rep.doc
        return out

    def counts(self) -> dict:
        """How many words were on / early / late / missed, closures missed, "open more", breaths not shown."""
        words = [c for c in self.cues if c["kind"] == "word" and not c.get("hidden")]
        return {"words": len(words), "on": sum(c.get("timing") == "on" for c in words),
                "early": sum(c.get("timing") == "early" for c in words),
                "late": sum(c.get("timing") == "late" for c in words),
                "missed": sum(not c.get("hit") for c in words),
                "closures_missed": sum(c.get("closure") == "missed" for c in words),
                "open_more": sum(bool(c.get("open_more")) for c in words),
                "breaths_not_shown": sum(c["kind"] == "breath" and c["audible"] and c["shown"] is False for c in self.cues)}

    # -- keeping the pass as a take ------------------------------------------------------------------
    def _write(self, song_time_s: float, jpeg: bytes, width: int, height: int) -> None:
        import av

        if self._writer is None:
            container = av.open(str(self.video_path), "w", format="mov")
            stream = container.add_stream("mjpeg", rate=30)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuvj420p"
            stream.time_base = Fraction(1, 1000)
            self._writer = (container, stream)
        container, stream = self._writer
        packet = av.Packet(jpeg)
        packet.stream = stream
        packet.time_base = Fraction(1, 1000)
        packet.pts = packet.dts = int(round(self.frames.t_s[-1] * 1000))
        container.mux(packet)

    def close_video(self) -> Optional[Path]:
        """Finish the pass's video file (None when no frame was written)."""
        if self._writer is None:
            return None
        container, _stream = self._writer
        self._writer = None
        container.close()
        return self.video_path

    def discard(self) -> None:
        self.close_video()
        if self.video_path is not None:
            self.video_path.unlink(missing_ok=True)


def new_pass_needed(current: Optional[LivePass], song_time_s: float) -> bool:
    """Whether a frame at ``song_time_s`` belongs to a new pass (none yet, or time jumped: a seek, a loop)."""
    if current is None or current._last_song_s is None:
        return current is None
    return song_time_s < current._last_song_s - JUMP_BACK_S or song_time_s > current._last_song_s + JUMP_S
