"""The flow of imports (docs/architecture.md): no room imports one above it, no module loops.

Read from the code with ``ast``, lazy imports inside functions and ``import_module("…")``
included, so an import hidden in a function body counts like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lipcoach"

#: Each room's layer: a module may import its own room or a room of a lower layer, nothing else.
#: The same table is in docs/architecture.md.
LAYERS: dict[str, int] = {
    "errors": 0,
    "fileio": 1, "progress": 1, "schema": 1, "(package)": 1,
    "formats": 2, "media": 2,
    "song": 3,
    "evaluate": 4, "figures": 4, "practice": 4, "take": 4,
    "testing": 5,
    "production": 6,
    "web": 7, "demo": 7,
    "cli_desk": 8, "cli": 9, "__main__": 10,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every ``lipcoach.…`` module ``path`` imports, however and wherever it does."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.add(node.args[0].value)
    return {m for m in found if m == "lipcoach" or m.startswith("lipcoach.")}


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(target: str) -> str | None:
    """The module of ours ``target`` names (``lipcoach.song.songmap.SongMap`` → ``lipcoach.song.songmap``)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


GRAPH = {m: {t for t in map(_resolve, _imports(p)) if t and t != m and not m.startswith(t + ".")} for m, p in MODULES.items()}


def test_every_room_has_a_layer():
    assert {_room(m) for m in MODULES} <= set(LAYERS), "add the new room to LAYERS and docs/architecture.md"


def test_no_import_runs_against_the_flow():
    wrong = sorted(f"{m} imports {t} ({_room(m)} is layer {LAYERS[_room(m)]}, {_room(t)} is {LAYERS[_room(t)]})"
                   for m, targets in GRAPH.items() for t in targets
                   if _room(t) != _room(m) and LAYERS[_room(t)] >= LAYERS[_room(m)])
    assert not wrong, "\n".join(wrong)


def _loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    loops.append(sorted(component))
    return loops


def test_no_module_imports_itself_back():
    assert _loops(GRAPH) == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_the_loop_finder_finds_loops(graph, expected):
    assert _loops(graph) == expected
