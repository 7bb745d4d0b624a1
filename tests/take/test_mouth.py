"""Mouth tracking on small generated videos: timestamps, rotation, bad input."""

import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.take.mouth import MouthTrack, check_faces, track_mouth

from lipcoach.testing import faces as synth


def test_opening_follows_the_drawn_mouth_with_container_timestamps_and_rotation(tmp_path, monkeypatch):
    import lipcoach.media.decode as decode

    path = tmp_path / "phone.mp4"
    mouth = lambda t: 0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * t)  # noqa: E731
    # A phone stores portrait video turned on its side plus a rotation flag; PyAV cannot
    # write the flag, so the flag is supplied the way probe() would read it.
    times = synth.write_take(path, duration_s=2.0, mouths=[mouth], size=(240, 320), face_scale=0.55,
                             rotate_pixels=90, vfr_jitter=0.3, fps=30.0)
    monkeypatch.setattr(decode, "_rotation", lambda stream: 90)
    track = track_mouth(path)
    assert (track.width_px, track.height_px) == (240, 320)  # upright again
    # Variable frame rate: container times (from the container's start), not i / fps.
    assert np.allclose(track.t_s, np.asarray(times) - times[0], atol=0.002)
    face = track.faces[0]
    assert face.found_share > 0.9
    ok = np.isfinite(face.opening)
    r = np.corrcoef(face.opening[ok], [mouth(t) for t in track.t_s[ok]])[0, 1]
    assert r > 0.9
    assert face.closed[np.argmin(face.opening)] or face.opening.min() < 0.06
    # The track round-trips through its JSON document.
    track.save(tmp_path / "m.json")
    again = MouthTrack.load(tmp_path / "m.json")
    assert np.allclose(again.t_s, track.t_s) and np.allclose(again.faces[0].opening[ok], face.opening[ok], atol=1e-4)


def test_no_face_says_in_what_share_of_frames(tmp_path):
    path = tmp_path / "wall.mp4"
    synth.write_take(path, duration_s=1.0, mouths=[], size=(160, 120))
    track = track_mouth(path)
    with pytest.raises(LipcoachError, match="no face found in any of its 25 frames"):
        check_faces(track)


def test_an_audio_file_is_not_a_take(tmp_path):
    from lipcoach.media.decode import write_wav

    wav = tmp_path / "song.wav"
    write_wav(wav, np.zeros(8000, np.float32), 16000)
    with pytest.raises(LipcoachError, match="is an audio file, not a video"):
        track_mouth(wav)


def test_head_pose_reads_a_turned_and_a_tipped_head_from_3d_landmarks():
    from lipcoach.take.mouth import head_pose

    lm = np.zeros((468, 3))
    lm[33], lm[263] = (-45.0, 0.0, 0.0), (45.0, 0.0, 0.0)  # outer eye corners
    lm[10], lm[152] = (0.0, -80.0, 0.0), (0.0, 90.0, 0.0)  # forehead, chin
    yaw, pitch = head_pose(lm)
    assert abs(yaw) < 1 and abs(pitch) < 1

    def turned(deg_yaw, deg_pitch):
        a, b = np.radians(deg_yaw), np.radians(deg_pitch)
        ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
        return lm @ (rx @ ry).T

    yaw, pitch = head_pose(turned(55.0, 0.0))
    assert abs(abs(yaw) - 55.0) < 2 and abs(pitch) < 2
    yaw, pitch = head_pose(turned(0.0, 40.0))
    assert abs(yaw) < 2 and abs(abs(pitch) - 40.0) < 2
