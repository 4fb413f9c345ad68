"""Table of checkpoints scored by both oracles: ``python rescore_table.py DIR`` where DIR holds
``NAME__residual/evaluation.json`` and ``NAME__residual_blur/evaluation.json`` (``deepswap.evaluate
... oracle=<oracle> output_dir=DIR/NAME__<oracle>``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(folder: str) -> None:
    runs = sorted({p.parent.name.split("__")[0] for p in Path(folder).glob("*__*/evaluation.json")})
    print(
        "| run | ID top-1 % (residual) | ID top-1 % (residual_blur) | truth's ID (residual / blur) "
        "| pose ° (residual / blur) | pose floor (residual / blur) |"
    )
    print("|---|---|---|---|---|---|")
    for run in runs:
        cells = {}
        for oracle in ("residual", "residual_blur"):
            path = Path(folder) / f"{run}__{oracle}" / "evaluation.json"
            if not path.exists():
                continue
            d = json.loads(path.read_text())
            lo, hi = d["intervals"]["model"]["id_top1"]
            cells[oracle] = (
                f"{d['rows']['model']['id_top1']:.1f} [{lo:.1f}, {hi:.1f}]",
                d["rows"]["ground truth (ceiling)"]["id_top1"],
                d["rows"]["model"]["pose_err"],
                d["noise_floor"]["pose_err"],
            )
        if len(cells) < 2:
            continue
        a, b = cells["residual"], cells["residual_blur"]
        print(
            f"| {run} | {a[0]} | {b[0]} | {a[1]:.1f} / {b[1]:.1f} "
            f"| {a[2]:.2f} / {b[2]:.2f} | {a[3]:.2f} / {b[3]:.2f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
