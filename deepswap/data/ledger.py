"""The resumable record of ``deepswap.prepare``: one JSON line per finished input file.

``output/.done.jsonl`` gets ``{"source", "crops": [metadata rows], "failures": [rows], "faces",
"frames"}`` once the file's crops are on disk (each written by temp file + rename), in a single
``os.write`` to an ``O_APPEND`` descriptor: a killed run leaves whole lines, and a torn last line is cut
off when the ledger is opened again. The next run skips a file whose last line is there, unless that
line holds an ``"error"`` failure or one of its crops is missing: then the file is done again.

:meth:`Ledger.compile` writes the tables users read, sorted by source and so identical whatever
the order files finished in, each by temp file + rename: ``metadata.jsonl`` (one row per crop) and
``failures.csv`` (``FAILURE_COLUMNS``).
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path

LEDGER, METADATA, FAILURES = ".done.jsonl", "metadata.jsonl", "failures.csv"
FAILURE_COLUMNS = ("source", "identity", "frame", "face", "reason", "detail")


class Ledger:
    """``Ledger(output)``: ``done()`` -> finished sources, ``append(result)``, ``compile()`` -> totals."""

    def __init__(self, output: str | Path):
        self.root = Path(output)
        self.path = self.root / LEDGER
        self._fd: int | None = None

    def _lines(self):
        """-> (source, offset, length, finished) for each whole line, in file order."""
        if not self.path.is_file():
            return
        with open(self.path, "rb") as f:
            offset = 0
            for line in f:
                if line.endswith(b"\n"):
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        entry = None
                    if isinstance(entry, dict) and "source" in entry:
                        yield entry["source"], offset, len(line), self._finished(entry)
                offset += len(line)

    def _finished(self, entry: dict) -> bool:
        if any(f["reason"] == "error" for f in entry.get("failures", [])):
            return False
        return all((self.root / row["crop"]).is_file() for row in entry.get("crops", []))

    def _index(self) -> dict[str, tuple[int, int, bool]]:
        return {source: (offset, length, ok) for source, offset, length, ok in self._lines()}

    def done(self) -> set[str]:
        """Sources finished by earlier runs (their last line is whole, error-free, crops on disk)."""
        return {source for source, (_, _, ok) in self._index().items() if ok}

    def open(self) -> Ledger:
        """Open for appending, cutting off a torn last line left by a killed run."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.path.is_file():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                with open(self.path, "r+b") as f:
                    f.truncate(data.rfind(b"\n") + 1)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def append(self, result) -> None:
        """Record one :class:`~deepswap.data.extract.FileResult` (one line, one write)."""
        data = (json.dumps(asdict(result), separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Ledger:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def compile(self) -> dict:
        """Write ``metadata.jsonl`` and ``failures.csv`` from the last line of every source ->
        totals ``{"files", "frames", "faces", "crops", "failures": Counter(reason)}``."""
        totals = {"files": 0, "frames": 0, "faces": 0, "crops": 0, "failures": Counter()}
        meta_tmp, fail_tmp = self.root / f".{METADATA}.tmp", self.root / f".{FAILURES}.tmp"
        with (
            open(self.path if self.path.is_file() else os.devnull, "rb") as src,
            open(meta_tmp, "w") as meta,
            open(fail_tmp, "w", newline="") as fail,
        ):
            writer = csv.DictWriter(fail, FAILURE_COLUMNS)
            writer.writeheader()
            for _, (offset, length, _) in sorted(self._index().items()):
                src.seek(offset)
                entry = json.loads(src.read(length))
                totals["files"] += 1
                totals["frames"] += entry["frames"]
                totals["faces"] += entry["faces"]
                totals["crops"] += len(entry["crops"])
                for row in entry["crops"]:
                    meta.write(json.dumps(row) + "\n")
                for row in entry["failures"]:
                    totals["failures"][row["reason"]] += 1
                    writer.writerow({k: "" if row.get(k) is None else row[k] for k in FAILURE_COLUMNS})
        os.replace(meta_tmp, self.root / METADATA)
        os.replace(fail_tmp, self.root / FAILURES)
        return totals


def read_metadata_rows(output: str | Path) -> list[dict]:
    """The rows of ``output/metadata.jsonl`` (one per crop)."""
    with open(Path(output) / METADATA) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_failures(output: str | Path) -> list[dict]:
    """The rows of ``output/failures.csv`` (strings; empty frame / face: not applicable)."""
    with open(Path(output) / FAILURES, newline="") as f:
        return list(csv.DictReader(f))
