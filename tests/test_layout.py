"""The layout keeps its promises (issue 16): no import cycle between the project's modules, no
module outside the store issuing SQL on the gateway's tables, no source file past about 300
lines (data, tests and benchmark scripts aside)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.settings import ROOT

PACKAGES = ("bot", "actions", "components", "core", "tools", "rasa_ext")
MAX_LINES = 340
# Long on purpose: benchmarks, the NLU evaluation and the data validator's many checks,
# each read top to bottom.
LONG_OK = {"scripts/bench_load.py", "scripts/bench_login.py", "scripts/eval_nlu.py", "scripts/validate_data.py"}
# Who may talk SQL: the store, its migrations, and Rasa's tracker store (Rasa's own table).
SQL_OK = ("bot/store/", "bot/migrations/", "bot/migrate.py", "rasa_ext/tracker_store.py",
          "rasa_ext/tracker_store.py")


def _sources() -> list[Path]:
    files = [p for pkg in PACKAGES if (ROOT / pkg).exists() for p in (ROOT / pkg).rglob("*.py")]
    return sorted(p for p in files if "migrations/versions" not in str(p))


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules this file imports at run time (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def test_no_import_cycle() -> None:
    sources = _sources()
    modules = {_module(p) for p in sources}
    graph = {_module(p): _imports(p, modules) - {_module(p)} for p in sources}
    # A package's __init__ importing its own submodules is how packages work: not a cycle.
    for mod, deps in graph.items():
        graph[mod] = {d for d in deps if not (d.startswith(mod + ".") or mod.startswith(d + ".")
                                              and d in graph and _is_package(d))}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep] if dep in stack else [node, dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
    assert cycles == []


def _is_package(module: str) -> bool:
    return (ROOT / module.replace(".", "/") / "__init__.py").exists()


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sql_outside_the_store(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    if rel.startswith(SQL_OK):
        return
    text = path.read_text(encoding="utf-8")
    assert ".engine.begin()" not in text and ".engine.connect()" not in text, rel
    assert "import sqlalchemy" not in text, rel


def test_no_source_file_is_too_long() -> None:
    files = _sources() + sorted((ROOT / "scripts").glob("*.py"))
    long = {str(p.relative_to(ROOT)): n for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert {k: v for k, v in long.items() if k not in LONG_OK} == {}
