"""The package's module graph: no import circles, imports at the top, and a light import."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "hand_gesture_recognition"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
#: Loaded by training, export or drawing only; never by importing a module of the package.
HEAVY = (
    "tensorflow", "keras", "mediapipe", "cv2", "sklearn", "matplotlib", "seaborn", "ray",
    "onnxruntime",
)  # fmt: skip
#: cli.py imports each command's module when that command runs: ``hand-gesture --help``
#: and every other command start without loading the rest (``cluster`` needs an extra).
DEFERRED_OK = {"cli"}


def _imports(module: str) -> list[tuple[str, bool]]:
    """The package modules ``module`` imports, each with whether the import is nested."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                targets = [node.module] if node.module else [a.name for a in node.names]
            elif node.module and node.module.startswith("hand_gesture_recognition"):
                rest = node.module.removeprefix("hand_gesture_recognition").lstrip(".")
                targets = [rest] if rest else [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [
                a.name.split(".")[1]
                for a in node.names
                if a.name.startswith("hand_gesture_recognition.")
            ]
        for target in targets:
            name = target.split(".")[0]
            if name in MODULES:
                found.append((name, id(node) not in top_level))
    return found


def _graph(include_nested: bool = True) -> dict[str, set[str]]:
    return {m: {t for t, nested in _imports(m) if include_nested or not nested} for m in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in MODULES:
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_is_read_from_the_sources():
    graph = _graph()
    # Known edges, so that a parser that finds nothing cannot pass the tests below.
    assert {"preprocessing", "features"} <= graph["sequences"]
    assert "preprocessing" in graph["realtime"] and "preprocessing" in graph["augment"]
    assert "train" in graph["cli"]


def test_no_import_circles_even_through_imports_inside_functions():
    assert _cycle(_graph()) is None


def test_the_cycle_finder_finds_a_circle():
    graph = {m: set() for m in MODULES}
    graph["augment"] = {"sequences"}
    graph["sequences"] = {"augment"}
    assert _cycle(graph) in (
        ["augment", "sequences", "augment"],
        ["sequences", "augment", "sequences"],
    )


def test_modules_import_each_other_at_the_top():
    nested = sorted({m for m in MODULES for _, inner in _imports(m) if inner} - DEFERRED_OK)
    assert nested == []


def test_every_module_imports_without_the_heavy_libraries():
    code = (
        "import importlib, json, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module('hand_gesture_recognition.' + name)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
