"""The live-coaching WebSocket: who may open it, frames in, answers and clear errors out."""

from __future__ import annotations

import json
import struct

import pytest

from lipcoach.testing import faces as F


def jpeg(rgb) -> bytes:
    import cv2

    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def songmap(short_song):
    from lipcoach.production.sample_studio import truth_songmap

    return truth_songmap(short_song, source_path="song.wav")


def test_the_studio_socket_refuses_other_sites_and_answers_frames(client, songmap):
    from starlette.websockets import WebSocketDisconnect

    url = f"ws://127.0.0.1/api/songs/{client.song_id}/live"
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect(url, headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()
    mouth = F.lip_sync_mouth(songmap)
    with client.websocket_connect(url, headers={"origin": "http://127.0.0.1"}) as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_text(json.dumps({"type": "pass", "speed": 1.0}))
        ws.send_bytes(struct.pack("<Id", 7, 5.0) + jpeg(F.face_frame(mouth(5.0), size=(320, 240), face_scale=0.42)))
        out = ws.receive_json()
        assert out["type"] == "frame" and out["id"] == 7 and out["face"] is True and out["opening"] > 0
        ws.send_bytes(struct.pack("<Id", 8, 5.04) + b"junk")
        assert ws.receive_json() == {"type": "error", "error": "a camera frame is not a JPEG picture"}
        ws.send_text("{")
        assert ws.receive_json()["error"] == "a live message is not JSON"
        for k in range(1, 30):  # a little over a second of the song
            t = 5.0 + k * 0.04 * 0.8
            ws.send_bytes(struct.pack("<Id", 100 + k, t) + jpeg(F.face_frame(mouth(t), size=(320, 240), face_scale=0.42)))
            assert ws.receive_json()["id"] == 100 + k
        ws.send_text(json.dumps({"type": "end"}))
        assert ws.receive_json()["type"] == "summary"
        ws.send_text(json.dumps({"type": "keep"}))
        kept = ws.receive_json()
        assert kept["type"] == "kept" and kept["job"]["kind"] == "score"
    take = client.get(f"/api/takes/{kept['take_id']}").json()
    assert take["song_start_s"] == pytest.approx(5.0, abs=1e-6) and take["speed"] == 1.0
