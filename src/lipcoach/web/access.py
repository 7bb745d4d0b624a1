"""Who may talk to the studio: loopback without a token, anyone else with it.

Shared by the HTTP middleware (:mod:`lipcoach.web.app`) and the live-coaching WebSocket
(:mod:`lipcoach.web.routes.live`), which a middleware does not see.
"""

from __future__ import annotations

import ipaddress

#: The cookie that carries the studio's token once a page was opened with ``?token=``.
TOKEN_COOKIE = "lipcoach_token"
_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    """True for a name or address of this machine's loopback interface."""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """A Host header without its port: ``"127.0.0.1:8765"`` → ``"127.0.0.1"``; ``"[::1]:8765"`` → ``"::1"``."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header
