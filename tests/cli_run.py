"""Running ``lipcoach`` in-process for the bad-input suites, and what a folder holds before and after."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lipcoach.cli import main


def run(argv, capsys) -> tuple[int, str]:
    """Run ``lipcoach argv`` in-process; return (exit code, stderr)."""
    capsys.readouterr()
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    return code, capsys.readouterr().err


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) → SHA-256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def said_lines(err: str) -> list[str]:
    """What a command said on stderr, without its progress lines (off a terminal a long command
    writes a line per step before it may fail; its error is one line of its own)."""
    from lipcoach.progress import PLAIN_LINE

    return [ln for ln in err.strip().splitlines() if ln.strip() and not PLAIN_LINE.match(ln)]
