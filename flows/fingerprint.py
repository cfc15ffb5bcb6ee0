"""Content hashes that identify a local model directory, so a stored scorer leads back to exact weights."""

from __future__ import annotations

import hashlib
from pathlib import Path


def directory_fingerprint(path: str | Path) -> str:
    """SHA-256 over the relative names and bytes of every file under ``path`` (sorted)."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
