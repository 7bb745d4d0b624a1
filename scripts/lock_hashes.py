#!/usr/bin/env python3
"""Add every file's SHA-256 to a pinned requirements file, so `pip install --require-hashes` can check it.

usage: scripts/lock_hashes.py requirements.in.lock > requirements.lock

Input: one ``name==version`` per line (comments and blank lines kept). Output: the same pins,
each followed by ``--hash=sha256:…`` for every file PyPI publishes for that version that
CPython 3.11 can install (the sdist, pure-Python wheels, and cp311/abi3 wheels of every
platform), read from PyPI's simple JSON API. Run it whenever a pin changes; `make` installs
with ``--require-hashes``, so a changed upload, or a pin without hashes, fails the set-up loudly.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request

INDEX = "https://pypi.org/simple/{name}/"
ACCEPT = "application/vnd.pypi.simple.v1+json"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*\\?\s*$")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installable_on_cp311(filename: str, version: str) -> bool:
    """True for the sdist and for wheels CPython 3.11 can take (any platform)."""
    if not filename.endswith(".whl"):
        return filename.endswith((".tar.gz", ".zip"))
    python_tags = filename[:-4].split("-")[-3]
    abi_tags = filename[:-4].split("-")[-2]
    pythons = python_tags.split(".")
    return any(p in ("py3", "py2.py3", "cp311") or p == "py311" for p in pythons) or (
        "abi3" in abi_tags and any(p.startswith("cp3") and int(p[3:] or 0) <= 11 for p in pythons))


def file_hashes(name: str, version: str) -> list[str]:
    request = urllib.request.Request(INDEX.format(name=normalize(name)), headers={"Accept": ACCEPT})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    wanted = []
    for entry in files:
        filename = entry["filename"]
        parts = filename[:-4].split("-") if filename.endswith(".whl") else None
        file_version = parts[1] if parts else filename.rsplit("-", 1)[-1].removesuffix(".tar.gz").removesuffix(".zip")
        if file_version == version and not entry.get("yanked") and installable_on_cp311(filename, version):
            wanted.append(entry["hashes"]["sha256"])
    if not wanted:
        raise SystemExit(f"{name}=={version}: PyPI lists no installable file")
    return sorted(set(wanted))


def main(path: str) -> None:
    for line in open(path, encoding="utf-8").read().splitlines():
        match = PIN.match(line)
        if not match:
            if "--hash" not in line and not line.strip().startswith("--hash"):
                print(line)
            continue
        name, version = match.groups()
        hashes = file_hashes(name, version)
        print(" \\\n".join([f"{name}=={version}"] + [f"    --hash=sha256:{h}" for h in hashes]))


if __name__ == "__main__":
    main(sys.argv[1])
