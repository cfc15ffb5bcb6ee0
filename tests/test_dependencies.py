"""What pyproject.toml declares matches what the code imports: pyyaml is a test-only (dev) dependency, docker is the
optional ``docker`` extra imported only when the Docker sandbox is asked for, accelerate stays because transformers'
Trainer requires it, and the OpenAI backend retries through tenacity."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bon_core", "flows", "db", "benchmarks")


def _names(specs: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0].lower() for spec in specs}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _imports(module: str) -> list[tuple[Path, int, bool]]:
    """(file, line, at module level?) of every import of ``module`` in bon's packages."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            top_level = {id(node) for node in tree.body}
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                if any(n == module or n.startswith(module + ".") for n in names):
                    found.append((path.relative_to(ROOT), node.lineno, id(node) in top_level))
    return found


def test_runtime_dependencies_are_what_the_code_needs():
    project = _project()
    runtime, extras = _names(project["dependencies"]), project["optional-dependencies"]
    assert "pyyaml" not in runtime and "pyyaml" in _names(extras["dev"])
    assert _imports("yaml") == []  # only tests read YAML
    assert "docker" not in runtime and _names(extras["docker"]) == {"docker"}
    assert [(str(p), top) for p, _, top in _imports("docker")] == [("bon_core/sandbox/docker_sandbox.py", False)]
    # accelerate is imported by no bon module, but transformers' Trainer refuses to exist without it
    assert _imports("accelerate") == [] and "accelerate" in runtime
    import transformers.trainer

    assert "accelerate" in transformers.trainer.Trainer.__backends
    assert "tenacity" in runtime and _imports("tenacity")


def test_docker_sandbox_without_the_docker_package_names_the_extra():
    # A fresh interpreter in which `import docker` fails, as on an install without bon[docker].
    code = (
        "import sys; sys.modules['docker'] = None\n"
        "from bon_core.sandbox import get_sandbox\n"
        "try:\n    get_sandbox('docker')\nexcept RuntimeError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.stdout.strip() == (
        "docker sandbox: the 'docker' package is not installed (pip install 'bon[docker]'), or use the default "
        "'subprocess' sandbox"
    ), out.stderr
