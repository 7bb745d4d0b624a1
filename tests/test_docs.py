"""The docs match the code: schema versions, commands and options, and the runnable examples.

- Every schema tag the docs name (``lipcoach.songmap/2``...) is the version the code writes.
- Every ``lipcoach`` command in a ``sh`` block of README.md and docs/*.md exists, with the
  options it shows.
- ``sh`` blocks marked ``<!-- runnable ... -->`` are run, in order, in an empty folder: each
  command must succeed, its outputs (``-o``, ``--out``, ``--data``) must exist, and every path
  a command says it wrote (``track:  /…/x.wav``) must exist. Blocks marked ``runnable slow``
  run only with ``LIPCOACH_SLOW_TESTS=1``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?:^<!--\s*(runnable[^>]*?)\s*-->\s*\n)?^```sh\n(.*?)^```", re.M | re.S)


def sh_blocks(path: Path) -> list[tuple[str, list[str]]]:
    """(marker, commands) of every ``sh`` block of ``path``; marker is "", "runnable" or "runnable slow"."""
    out = []
    for m in _BLOCK.finditer(path.read_text(encoding="utf-8")):
        marker = (m.group(1) or "").split(":")[0].strip()
        text = m.group(2).replace("\\\n", " ")
        commands = [re.sub(r"\s+#\s.*$", "", ln).strip() for ln in text.splitlines()]
        out.append((marker, [c for c in commands if c]))
    return out


def lipcoach_commands() -> list[tuple[str, str]]:
    return [(f"{p.relative_to(REPO)}", c) for p in DOCS for _, cmds in sh_blocks(p) for c in cmds if c.startswith("lipcoach ")]


def test_the_docs_show_commands_at_all():
    assert len(lipcoach_commands()) >= 10
    assert any(marker == "runnable" for p in DOCS for marker, _ in sh_blocks(p))


@pytest.mark.parametrize("where,command", lipcoach_commands())
def test_every_documented_command_and_option_exists(where, command):
    import typer

    from lipcoach.cli import app

    group = typer.main.get_command(app)
    words = [w for w in re.split(r"[\s\[\]|]+", command) if w][1:]
    cmd, known = group, {o for p in group.params for o in p.opts}
    # typer bundles its own click: a group is known by its commands, not by click.Group.
    while words and hasattr(cmd, "commands") and not words[0].startswith("-"):
        name = words.pop(0)
        assert name in cmd.commands, f"{where}: `{command}`: no command {name!r}"
        cmd = cmd.commands[name]
        known |= {o for p in cmd.params for o in p.opts + p.secondary_opts} | {"--help"}
    if hasattr(cmd, "commands"):  # global options before the command
        while words and words[0].startswith("-"):
            assert words.pop(0) in known, f"{where}: `{command}`"
            words.pop(0)
        return test_every_documented_command_and_option_exists(where, "lipcoach " + " ".join(words))
    for word in words:
        if word.startswith("-") and not re.fullmatch(r"-[\d.]+", word):
            assert word.split("=")[0] in known, f"{where}: `{command}`: {cmd.name} has no option {word}"


def test_every_schema_tag_in_the_docs_is_the_version_the_code_writes():
    from lipcoach import schema
    from lipcoach.production import season

    current = {**{name: version for name, version in schema.CURRENT.items()}, season.NAME: season.VERSION}
    found = 0
    for path in DOCS:
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            for name, version in re.findall(r"(lipcoach\.[a-z]+)/(\d+)", line):
                found += 1
                assert name in current, f"{path.name}:{k + 1}: unknown schema {name}"
                if int(version) != current[name]:
                    assert re.search(r"older|upgrad|version-\d reader", line), \
                        f"{path.name}:{k + 1}: {name}/{version}, but the code writes {name}/{current[name]}"
    assert found >= 8


def _outputs(args: list[str]) -> list[str]:
    return [args[k + 1] for k, a in enumerate(args[:-1]) if a in ("-o", "--output", "--out", "--data")]


def _said_paths(stderr: str) -> list[str]:
    """Paths a command says it wrote: the last word of lines like ``track:  /…/x.wav`` or
    ``  season.yaml    demo-season/season.yaml``."""
    out = []
    for line in stderr.splitlines():
        m = re.match(r"^\s*[\w./ -]+?(?::\s+|\s{2,})(\S+)\s*$", line)
        if m and "/" in m.group(1) and not line.startswith("["):
            out.append(m.group(1))
    return out


def runnable_blocks():
    blocks = [(path, marker, cmds) for path in DOCS for marker, cmds in sh_blocks(path) if marker.startswith("runnable")]
    return [pytest.param(cmds, id=f"{path.name}-{k}", marks=[pytest.mark.skipif(
        marker == "runnable slow" and not os.environ.get("LIPCOACH_SLOW_TESTS"),
        reason="takes minutes; LIPCOACH_SLOW_TESTS=1 runs it")] if marker == "runnable slow" else [])
        for k, (path, marker, cmds) in enumerate(blocks)]


@pytest.mark.parametrize("commands", runnable_blocks())
def test_the_runnable_examples_run_and_make_the_files_they_name(commands, tmp_path):
    env = dict(os.environ, LIPCOACH_PROGRESS="plain", PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    for command in commands:
        args = shlex.split(command)
        assert args[0] == "lipcoach", command
        result = subprocess.run([sys.executable, "-m", "lipcoach", *args[1:]], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, f"`{command}` failed:\n{result.stderr[-2000:]}"
        for name in _outputs(args):
            assert (tmp_path / name).exists(), f"`{command}`: {name} was not made"
        said = _said_paths(result.stderr)
        for name in said:
            assert (tmp_path / name).exists(), f"`{command}` says it wrote {name}, which does not exist"
        if args[1:3] == ["number", "build"]:  # it says where the track and the map went
            assert {ln.split(":")[0] for ln in result.stderr.splitlines()} >= {"track", "song map"}, result.stderr
