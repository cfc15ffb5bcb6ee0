"""The PRM package's seams: its modules import each other without a cycle, every scorer is a ``Scorer`` sharing one
``score_candidates``, and ``io`` keeps the bookkeeping of a training run's checkpoint folder."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from bon_core.prm import PRM, PublishedPRM, Scorer
from bon_core.prm.evaluation import PositionLengthBaseline
from bon_core.prm.io import FINGERPRINT_FILE, checkpoint_step, resumable_checkpoint, start_checkpoints
from bon_core.stepdata.record import LabelledSolution
from bon_core.types import Candidate, Problem, Step

PACKAGE = Path(__file__).resolve().parent.parent / "bon_core" / "prm"


def _module(path: Path) -> str:
    return "bon_core.prm" if path.name == "__init__.py" else f"bon_core.prm.{path.stem}"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_at_import_time(path: Path) -> set[str]:
    """Every module (and ``module.name``) that importing ``path`` imports: module-level statements, including those
    under ``if``/``try``, but not ``if TYPE_CHECKING:`` (never run) nor function bodies (run once all have loaded)."""
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and not _is_type_checking(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(ast.parse(path.read_text()).body)
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = {_module(path): path for path in PACKAGE.glob("*.py")}
    return {m: (_imports_at_import_time(path) & set(modules)) - {m} for m, path in modules.items()}


def _modules_on_a_cycle(graph: dict[str, set[str]]) -> list[str]:
    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    return sorted(m for m in graph if reaches(m, m, {m}))


def test_the_cycle_finder_finds_a_cycle():
    assert _modules_on_a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c"]
    assert _modules_on_a_cycle({"a": {"b"}, "b": set()}) == []


def test_prm_modules_import_each_other_without_a_cycle():
    graph = _import_graph()
    assert graph["bon_core.prm"] == set()  # the package imports its names on first use
    assert graph["bon_core.prm.config"] == {"bon_core.prm.encoding"}  # no torch: the CLI reads these configs
    assert {"bon_core.prm.published", "bon_core.prm.scorer"} <= graph["bon_core.prm.io"]  # io loads both kinds
    assert "bon_core.prm.io" not in graph["bon_core.prm.scorer"]  # PRM.save_pretrained imports io when called
    assert _modules_on_a_cycle(graph) == []


def test_every_scorer_is_a_scorer():
    for cls in (PRM, PublishedPRM, PositionLengthBaseline):
        assert issubclass(cls, Scorer), cls
    assert not issubclass(LabelledSolution, Scorer)


def test_score_candidates_is_score_on_the_candidates_steps():
    records = [
        LabelledSolution("p", ("a", "bb", "ccc"), (1.0, 1.0, 0.0), 2, None, "t"),
        LabelledSolution("p", ("a", "bb"), (1.0, 1.0), -1, None, "t"),
    ]
    baseline = PositionLengthBaseline().fit(records)
    problem = Problem(task="arith", source_id="p1", question="1+2*3", reference="7")
    steps = (Step(0, "2*3=6", 0, 5), Step(1, "1+6=7", 6, 11))
    candidate = Candidate(problem_id="p1", sample_index=2, text="2*3=6\n1+6=7", steps=steps)
    (result,) = baseline.score_candidates([problem], [candidate])
    assert (result.problem_id, result.sample_index) == ("p1", 2)
    assert list(result.scores) == baseline.score(["1+2*3"], [["2*3=6", "1+6=7"]])[0]


def test_training_checkpoints_resume_only_under_their_fingerprint(tmp_path):
    assert (checkpoint_step("out/checkpoint-40/"), checkpoint_step("out/checkpoint-x"), checkpoint_step(None)) == (
        40,
        None,
        None,
    )
    (tmp_path / "checkpoint-5").mkdir()  # another training's: removed when this one starts
    start_checkpoints(str(tmp_path), "abc")
    assert not (tmp_path / "checkpoint-5").exists()
    assert json.loads((tmp_path / FINGERPRINT_FILE).read_text()) == {"fingerprint": "abc"}
    for step, state in ((10, "{}"), (20, "{}"), (30, '{"cut')):  # 30: its trainer state is half written
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    assert resumable_checkpoint(str(tmp_path), "abc") == tmp_path / "checkpoint-20"
    assert resumable_checkpoint(str(tmp_path), "other") is None
    assert resumable_checkpoint(str(tmp_path / "missing"), "abc") is None
