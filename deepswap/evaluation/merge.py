"""Merge the protocol results of several runs (a seed sweep) into mean and spread per output and metric.

Each run folder holds ``heldout_eval.json`` (``deepswap.train``'s closing table) or ``evaluation.json``
(``deepswap.evaluate``). Across runs, every mean gets its standard deviation and a 95% Student-t
interval over runs (the seeds are the sampling unit here, not the pairs); the paired differences of the
model to each baseline are merged the same way, so "significant over seeds" means the t-interval of
the per-seed differences excludes 0.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

RESULT_FILES = ("heldout_eval.json", "evaluation.json")
# two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (beyond: normal)
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042]  # fmt: skip


class MergeError(ValueError):
    """The folders given cannot be merged (the message says which and why)."""


def _result_in(folder: Path) -> Path | None:
    return next((folder / f for f in RESULT_FILES if (folder / f).is_file()), None)


def find_results(paths: list[str | Path]) -> list[Path]:
    """The result file of each run folder (or the files themselves); a folder without one stands for
    the run folders inside it (a Hydra multirun folder)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            found.append(p)
        elif (own := _result_in(p)) is not None:
            found.append(own)
        else:
            found += [r for q in sorted(p.glob("*")) if q.is_dir() and (r := _result_in(q)) is not None]
    if not found:
        raise MergeError(f"no {' or '.join(RESULT_FILES)} under {', '.join(map(str, paths))}")
    return found


def t975(df: float) -> float:
    """Two-sided 95% quantile of Student's t, ``df`` degrees of freedom rounded down (1.96 beyond 30)."""
    k = int(df)
    return _T975[max(k, 1) - 1] if k <= len(_T975) else 1.96


def seed_stats(values: list[float]) -> dict[str, float]:
    """Mean, sd and 95% Student-t interval (lo, hi) over runs, and n (nan spread for one run)."""
    return _stats(values)


def _stats(values: list[float]) -> dict[str, float]:
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else float("nan")
    t = _T975[n - 2] if 1 < n <= len(_T975) + 1 else 1.96
    half = t * sd / math.sqrt(n) if n > 1 else float("nan")
    return {"mean": mean, "sd": sd, "lo": mean - half, "hi": mean + half, "n": n}


def merge_runs(paths: list[str | Path]) -> dict:
    """-> ``{"runs": [files], "rows": {output: {metric: stats}}, "differences": {model: {baseline:
    {metric: stats}}}}`` where ``stats`` = mean, sd, 95% t-interval (lo, hi) and n over runs."""
    files = find_results(paths)
    loaded = [json.loads(f.read_text()) for f in files]
    rows: dict = {}
    for data in loaded:
        for out, metrics in data["rows"].items():
            for k, v in metrics.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    rows.setdefault(out, {}).setdefault(k, []).append(float(v))
    diffs: dict = {}
    for data in loaded:
        for model, bases in data.get("differences", {}).items():
            for base, metrics in bases.items():
                for k, (d, _, _) in metrics.items():
                    diffs.setdefault(model, {}).setdefault(base, {}).setdefault(k, []).append(float(d))
    return {
        "runs": [str(f) for f in files],
        "rows": {o: {k: _stats(v) for k, v in m.items()} for o, m in rows.items()},
        "differences": {
            m: {b: {k: _stats(v) for k, v in ks.items()} for b, ks in bs.items()} for m, bs in diffs.items()
        },
    }


def format_merged(merged: dict, metrics: tuple[str, ...]) -> str:
    """Markdown: ``mean ± sd [lo, hi]`` per output and metric, then the model's differences."""
    from deepswap.evaluation.report import COLUMNS

    shown = [m for m in metrics if any(m in r for r in merged["rows"].values())]
    n = max((s["n"] for r in merged["rows"].values() for s in r.values()), default=0)
    lines = [f"{len(merged['runs'])} runs; mean ± sd over runs [95% t-interval], n = {n}", ""]
    lines.append("| output | " + " | ".join(COLUMNS[m][0] for m in shown) + " |")
    lines.append("| --- |" + " ---: |" * len(shown))

    def cell(m, s):
        f = COLUMNS[m][1]
        return f"{f.format(s['mean'])} ± {f.format(s['sd'])} [{f.format(s['lo'])}, {f.format(s['hi'])}]"

    for out, r in merged["rows"].items():
        lines.append(f"| {out} | " + " | ".join(cell(m, r[m]) if m in r else "-" for m in shown) + " |")
    for model, bases in merged["differences"].items():
        for base, r in bases.items():
            sig = [COLUMNS[m][0] + ("*" if r[m]["lo"] > 0 or r[m]["hi"] < 0 else "") for m in shown if m in r]
            lines.append("")
            lines.append(
                f"{model} - {base} (* = t-interval over runs excludes 0): "
                + ", ".join(f"{s} {cell(m, r[m])}" for s, m in zip(sig, [m for m in shown if m in r]))
            )
    return "\n".join(lines)
