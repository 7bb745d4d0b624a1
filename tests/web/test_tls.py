"""``lipcoach serve --https``: a self-signed certificate made here, and the studio answering over TLS with its token."""

from __future__ import annotations

import ssl
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest

from studio_fixtures import free_port
from lipcoach.web.app import create_app, prepare
from lipcoach.web.tls import ensure_certificate


def test_the_certificate_is_made_once_and_names_this_machine(tmp_path):
    pytest.importorskip("ssl")
    cert, key = ensure_certificate(tmp_path / "tls", "0.0.0.0")
    assert cert.exists() and key.exists() and (key.stat().st_mode & 0o077) == 0  # the key is the owner's alone
    text = cert.read_text()
    assert text.startswith("-----BEGIN CERTIFICATE-----")
    info = ssl._ssl._test_decode_cert(str(cert))
    alt = {v for _k, v in info["subjectAltName"]}
    assert {"localhost", "127.0.0.1"} <= alt
    before = cert.read_bytes()
    again, _ = ensure_certificate(tmp_path / "tls", "0.0.0.0")
    assert again.read_bytes() == before  # a phone that accepted it is not asked again


def test_https_url_carries_the_token_and_the_studio_answers_over_tls(tmp_path):
    import httpx
    import uvicorn

    app, url = prepare(tmp_path / "data", "0.0.0.0", 9443, https=True)
    assert url.startswith("https://") and parse_qs(urlparse(url).query)["token"][0] == app.state.token
    cert, key = ensure_certificate(tmp_path / "data" / "tls", "127.0.0.1")
    token = "t0ken-for-the-test-000000000"
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(tmp_path / "data2", token=token), host="127.0.0.1", port=port,
                                           log_level="warning", ssl_certfile=str(cert), ssl_keyfile=str(key)))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        ctx = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=ctx) as c:
            assert c.get(f"https://127.0.0.1:{port}/api/numbers").status_code == 401
            r = c.get(f"https://127.0.0.1:{port}/practice?token={token}")
            assert r.status_code == 200 and "live.js" in r.text
    finally:
        server.should_exit = True
        th.join(10)
