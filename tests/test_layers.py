"""The store's boundary stays closed: ``db`` imports neither ``flows`` nor ``benchmarks``, the ``db`` modules import
each other without a cycle (``db.engine`` never loads ``db.migrate``), and the command line imports ``benchmarks``
only inside ``bon bench``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level?) of every absolute import in ``path``, function-level ones included."""
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            found += [(name, id(node) in top_level) for name in names]
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_db_imports_no_orchestration():
    wrong = [
        (str(path.relative_to(ROOT)), name)
        for path in (ROOT / "db").rglob("*.py")
        for name, _ in _imports(path)
        if name.split(".")[0] in ("flows", "benchmarks")
    ]
    assert wrong == []


def test_db_modules_import_each_other_without_a_cycle():
    modules = {_module(path): path for path in (ROOT / "db").glob("*.py")}
    graph = {m: {n for n, _ in _imports(path) if n in modules and n != m} for m, path in modules.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])

    assert [m for m in graph if reaches(m, m, {m})] == []
    out = subprocess.run(
        [sys.executable, "-c", "import sys, db.engine; print('db.migrate' in sys.modules)"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert out.stdout.strip() == "False", out.stderr


def test_the_command_line_imports_benchmarks_only_inside_bon_bench():
    at_import = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "flows" / "cli").rglob("*.py")
        for name, top in _imports(path)
        if top and name.split(".")[0] == "benchmarks"
    ]
    assert at_import == []


def test_flows_reach_stored_rows_only_through_db_functions():
    # ORM row classes stay inside db/: flows read through db.reads and write through db.repository.
    wrong = [
        (str(path.relative_to(ROOT)), name)
        for path in (ROOT / "flows").rglob("*.py")
        for name, _ in _imports(path)
        if name == "db.models" or name.startswith("db.models.")
    ]
    assert wrong == []
