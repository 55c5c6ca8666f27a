"""The package's import graph: no cycles, and the core never imports upward.

Every ``import`` statement counts — at module level, inside a function, or under
``if TYPE_CHECKING:`` — read from the source with ``ast``, so a cycle cannot hide behind a
lazy import. Run it alone with ``pytest tests/test_layers.py``; on a failure it prints the
cycle or the offending import with its file and line.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

PACKAGE = "activemirror_jupyter"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# What the core (the three tiers) must never import: the Jupyter layers above it.
JUPYTER_ONLY = ("IPython", "ipywidgets", "pandas", "tornado", "jupyter_server", "traitlets")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py") if "labextension" not in p.parts}


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """``(imported name, line)`` for every import in the file, resolved to absolute names;
    ``from pkg import sub`` counts as importing the submodule when ``sub`` is one."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in known else target, node.lineno))
    return found


def graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], int]]:
    mods = modules()
    known = set(mods)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    lines: dict[tuple[str, str], int] = {}
    for name, path in mods.items():
        for target, line in imports_of(name, path, known):
            if target in known and target != name:
                edges[name].add(target)
                lines.setdefault((name, target), line)
    return edges, lines


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    edges, lines = graph()
    cycle = find_cycle(edges)
    if cycle:
        steps = [
            f"  {a} -> {b}  ({modules()[a].relative_to(ROOT.parent)}:{lines[(a, b)]})"
            for a, b in itertools.pairwise(cycle)
        ]
        raise AssertionError("import cycle:\n" + "\n".join(steps))


def test_the_core_never_imports_upward() -> None:
    mods = modules()
    known = set(mods)
    core = f"{PACKAGE}.core"
    wrong = []
    for name, path in mods.items():
        if not name.startswith(core):
            continue
        for target, line in imports_of(name, path, known):
            upward = target.startswith(PACKAGE) and not target.startswith(core)
            jupyter = target.split(".")[0] in JUPYTER_ONLY
            if upward or jupyter:
                wrong.append(f"  {path.relative_to(ROOT.parent)}:{line} imports {target}")
    assert not wrong, "the core imports a layer above it:\n" + "\n".join(wrong)


def test_the_checker_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    """The checker itself: a function-level import that closes a loop is a cycle."""
    a = "def f():\n    from . import b\n"
    b = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n"
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for file, text in {"__init__.py": "", "a.py": a, "b.py": b}.items():
        (pkg / file).write_text(text)
    known = {"pkg", "pkg.a", "pkg.b"}
    edges = {
        name: {t for t, _ in imports_of(name, pkg / f"{name[4:] or '__init__'}.py", known)} & known
        for name in ("pkg.a", "pkg.b")
    }
    assert find_cycle(edges) in (["pkg.a", "pkg.b", "pkg.a"], ["pkg.b", "pkg.a", "pkg.b"])


#: The house's sizes (STYLE.md): a module past this is split by what it holds.
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def test_no_module_or_function_outgrows_the_house() -> None:
    too_big = []
    for name, path in modules().items():
        source = path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            too_big.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_big.append(f"{name}.{node.name}: {length} lines")
    assert not too_big, "over the house's sizes: " + ", ".join(too_big)
