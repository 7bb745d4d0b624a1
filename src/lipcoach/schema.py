"""Versioned JSON documents: the contracts between lipcoach's stages and other tools.

Every document carries ``"schema": "<name>/<version>"`` (as OpenTimelineIO's
``OTIO_SCHEMA``). :func:`load_document` reads a file, upgrades older versions with small
functions registered by the modules that own each document (:func:`register_upgrade`, run
when that module is imported: this module imports none of them), validates it against the JSON Schema shipped beside this module and
returns plain dicts; typed wrappers live with each stage (e.g. :mod:`lipcoach.song.songmap`).
"""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from lipcoach.errors import LipcoachError

#: upgraders[(name, from_version)] turns a version-N document into version N+1.
_UPGRADERS: dict[tuple[str, int], Callable[[dict], dict]] = {}
#: The version this code writes, per schema name.
CURRENT: dict[str, int] = {"lipcoach.songmap": 2, "lipcoach.mouthtrack": 1, "lipcoach.takereport": 2}


def register_upgrade(name: str, from_version: int):
    """Decorator: register a function that upgrades ``name/from_version`` by one version."""

    def wrap(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        _UPGRADERS[(name, from_version)] = fn
        return fn

    return wrap


@functools.lru_cache(maxsize=None)
def json_schema(name: str) -> dict:
    """The JSON Schema (draft 2020-12) for a document name such as ``lipcoach.songmap``."""
    short = name.split(".", 1)[1]
    text = resources.files("lipcoach").joinpath("schemas", f"{short}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def tag(name: str) -> str:
    """The schema tag this code writes, e.g. ``"lipcoach.songmap/2"``."""
    return f"{name}/{CURRENT[name]}"


def validate(doc: Any, name: str, *, source: str | os.PathLike | None = None) -> dict:
    """Upgrade ``doc`` to the current version of ``name`` and validate it.

    Raises
    ------
    LipcoachError
        One line naming ``source`` and the first problem found.
    """
    import jsonschema

    if not isinstance(doc, dict) or not isinstance(doc.get("schema"), str) or "/" not in doc["schema"]:
        raise LipcoachError(source, f"not a {name} document (no 'schema' field)")
    found, _, version_text = doc["schema"].partition("/")
    if found != name:
        raise LipcoachError(source, f"is a {found} document, expected {name}")
    try:
        version = int(version_text)
    except ValueError:
        raise LipcoachError(source, f"unreadable schema version {version_text!r}") from None
    if version > CURRENT[name]:
        raise LipcoachError(source, f"{name}/{version} is newer than this lipcoach reads ({tag(name)}); upgrade lipcoach")
    while version < CURRENT[name]:
        upgrade = _UPGRADERS.get((name, version))
        if upgrade is None:
            # The owner's module registers its upgraders on import (e.g. lipcoach.song.songmap).
            raise LipcoachError(source, f"no upgrade from {name}/{version} is loaded")
        doc = upgrade(doc)
        version += 1
        doc["schema"] = f"{name}/{version}"
    validator = jsonschema.Draft202012Validator(json_schema(name))
    error = next(iter(sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise LipcoachError(source, f"invalid {name}: at {where}: {error.message[:160]}")
    return doc


def load_document(path: str | os.PathLike, name: str) -> dict:
    """Read, upgrade and validate a JSON document from ``path``."""
    p = Path(path)
    if not p.exists():
        raise LipcoachError(p, "no such file")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LipcoachError(p, f"not valid JSON ({exc.__class__.__name__}: {str(exc)[:80]})") from None
    return validate(doc, name, source=p)
