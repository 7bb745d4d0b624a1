"""The fake-camera material of the live-coaching tests: y4m clips and their frame stamps."""

from __future__ import annotations

import numpy as np

from lipcoach.testing import faces as F


def test_a_y4m_clip_holds_every_frame_and_its_stamp_reads_back(tmp_path):
    frames = [F.stamp_index(F.face_frame((0.3, 0.0), size=(320, 240), face_scale=0.42), k) for k in (0, 5, 1023)]
    path = tmp_path / "c.y4m"
    assert F.write_y4m(path, frames, fps=30) == 3
    raw = path.read_bytes()
    header, _, body = raw.partition(b"\n")
    assert header == b"YUV4MPEG2 W320 H240 F30:1 Ip A1:1 C420jpeg"
    frame_bytes = 320 * 240 * 3 // 2
    assert len(body) == 3 * (len(b"FRAME\n") + frame_bytes)
    # the stamp survives the conversion to YUV: read the luma plane of each frame back
    for i, k in enumerate((0, 5, 1023)):
        start = i * (6 + frame_bytes) + 6
        luma = np.frombuffer(body[start:start + 320 * 240], np.uint8).reshape(240, 320)
        read = sum(1 << bit for bit in range(F.INDEX_BITS) if luma[6, bit * F.INDEX_BLOCK_PX + 6] > 128)
        assert read == k


def test_the_drawn_performer_is_late_by_the_shift(short_song):
    from lipcoach.production.sample_studio import truth_songmap

    sm = truth_songmap(short_song, source_path="x")
    on, late = F.lip_sync_mouth(sm), F.lip_sync_mouth(sm, shift_s=0.2)
    for t in np.arange(5.0, 8.0, 0.1):
        assert late(t + 0.2) == on(t)
