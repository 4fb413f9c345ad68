"""Output paths checked before any work: ``cannot write X: <why>`` instead of a raw OSError later."""

from __future__ import annotations

import os
from pathlib import Path

from deepswap.errors import OutputError


def _creatable(path: Path) -> Path:
    """The nearest existing folder above ``path`` (where it would be created); OutputError if none can be."""
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: no permission to write in {parent}")
    return parent


def output_folder(path: str | Path, option: str) -> Path:
    """``path`` as a folder that exists and is writable, or can be created."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise OutputError(f"cannot write {option} {p}: it is a file, and {option} must be a folder")
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write {option} {p}: no permission to write in it")
        return p
    _creatable(p)
    return p


def output_file(path: str | Path, option: str, suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` as a file that can be written (its folder exists or can be created)."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise OutputError(f"cannot write {option} {p}: it is a folder, and {option} must be a file")
    if suffixes and p.suffix.lower() not in suffixes:
        raise OutputError(f"cannot write {option} {p}: it must end in {' or '.join(suffixes)}")
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputError(f"cannot write {option} {p}: no permission to overwrite it")
    _creatable(p)
    return p
