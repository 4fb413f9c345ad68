"""Provenance helpers shared by evaluation, export and reports: file digests and the code's git state."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def sha256(path: str | Path) -> str:
    """SHA-256 of a file, or of a folder's files in sorted order (an export folder)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def git_state() -> dict:
    """``{"git_sha", "git_dirty"}`` of the deepswap checkout (None when not a git checkout)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
        return {
            "git_sha": sha.strip() or None,
            "git_dirty": bool(dirty.stdout.strip()) if sha.strip() else None,
        }
    except OSError:
        return {"git_sha": None, "git_dirty": None}
