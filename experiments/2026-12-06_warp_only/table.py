"""One line per run (heldout_eval.json): ID top-1, ID cos, pose, face / whole GT L1 minus output = target
and face L1 minus the average identity, with the 95% paired bootstrap intervals of the closing table.

    python experiments/2026-12-06_warp_only/table.py experiments/2026-12-06_warp_only/runs/*.json
"""

import json
import sys
from pathlib import Path


def diff(d: dict, ref: str, metric: str) -> str:
    v, lo, hi = d["differences"]["model"][ref][metric]
    star = "*" if lo > 0 or hi < 0 else ""
    return f"{v:+.4f} [{lo:+.4f}, {hi:+.4f}]{star}"


print("| run | ID top-1 % | ID cos | pose ° | face L1 - target | face L1 - average | whole L1 - target |")
print("|---|---:|---:|---:|---|---|---|")
for path in sys.argv[1:]:
    d = json.loads(Path(path).read_text())
    m = d["rows"]["model"]
    print(
        f"| {Path(path).stem} | {m['id_top1']:.1f} | {m['id_cos_gallery']:.3f} | {m['pose_err']:.2f} | "
        f"{diff(d, 'output = target', 'gt_l1_face')} | {diff(d, 'average identity', 'gt_l1_face')} | "
        f"{diff(d, 'output = target', 'gt_l1')} |"
    )
