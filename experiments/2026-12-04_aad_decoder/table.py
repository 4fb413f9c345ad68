"""Print the closing-table figures of runs/*.json (one main-job run each), with 95% paired bootstrap
intervals over the 200 test pairs: python experiments/2026-12-04_aad_decoder/table.py [runs/*.json]"""

import glob
import json
import os
import sys


def fmt(t):
    return f"{t[0]:+.4f} [{t[1]:+.4f}, {t[2]:+.4f}]"


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    paths = sys.argv[1:] or sorted(glob.glob(os.path.join(here, "runs", "*.json")))
    print(
        "| run | ID top-1 % | ID cos | pose ° | face L1 - target | face L1 - average | whole L1 - target "
        "| outside L1 | streak ratio |"
    )
    print("|---|---:|---:|---:|---|---|---|---:|---:|")
    for p in paths:
        d = json.load(open(p))
        m = d["rows"]["model"]
        dt, da = d["differences"]["model"]["output = target"], d["differences"]["model"]["average identity"]
        name = os.path.splitext(os.path.basename(p))[0]
        if name == "heldout_eval":
            name = os.path.basename(os.path.dirname(p))
        streak = d.get("streaks")
        streak = f"{streak:.2f}" if isinstance(streak, (int, float)) else str(streak)
        print(
            f"| {name} | {m['id_top1']:.1f} | {m['id_cos_gallery']:.3f} | {m['pose_err']:.2f} "
            f"| {fmt(dt['gt_l1_face'])} | {fmt(da['gt_l1_face'])} | {fmt(dt['gt_l1'])} "
            f"| {m['gt_l1_outside']:.4f} | {streak} |"
        )


if __name__ == "__main__":
    main()
