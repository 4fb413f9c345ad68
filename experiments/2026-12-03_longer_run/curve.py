"""GT L1, ID retrieval and pose error of one main-job run against kimg (issue 10, section 3).

    python experiments/2026-12-03_longer_run/curve.py RUN_DIR [--out DIR] [--every 4]

Scores every ``RUN_DIR/checkpoints/kimgXXXXX.XXX.ckpt`` (kept one per ``val_every_kimg``) with the
evaluation protocol, ``python -m deepswap.evaluate`` on the 200 test identities (seed 0, the evaluation
oracle, 95% bootstrap intervals over pairs), so each point equals the run's closing table had training
stopped there. Writes ``curve.json`` (every point's rows, intervals and paired differences), prints a
table and plots ``curve.png``: face GT L1 (as the paired difference to output = target), ID top-1
and pose error against kimg, each with its interval, and the trivial rows (output = target, average
identity; the ground truth's own ID top-1 and the oracle's pose floor on the target) as lines.
Re-running skips checkpoints already scored.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

METRICS = [
    ("gt_l1_face", "face GT L1 - output = target, paired (lower is better)"),
    ("id_top1", "ID top-1 % (higher is better)"),
    ("pose_err", "pose error, degrees (lower is better)"),
]


def score(ckpt: Path, out: Path) -> dict:
    """The protocol's evaluation.json for one checkpoint (cached in ``out``)."""
    if not (out / "evaluation.json").is_file():
        cmd = [
            sys.executable,
            "-m",
            "deepswap.evaluate",
            f"checkpoint={ckpt}",
            f"output_dir={out}",
            "save_images=false",
            "device=cpu",
        ]
        subprocess.run(cmd, check=True, env={**os.environ, "WANDB_MODE": "disabled"})
    return json.loads((out / "evaluation.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--every", type=float, default=0.0, help="only checkpoints at multiples of this kimg")
    args = ap.parse_args()
    ckpts = sorted(args.run.glob("checkpoints/kimg*.ckpt"))
    if not ckpts:
        sys.exit(
            f"error: no checkpoints/kimg*.ckpt in {args.run} (train with callbacks.checkpoint.every_kimg > 0)"
        )
    points = []
    for ckpt in ckpts:
        kimg = float(re.search(r"kimg([0-9.]+)\.ckpt", ckpt.name).group(1))
        if args.every and abs(kimg / args.every - round(kimg / args.every)) > 1e-6:
            continue
        ev = score(ckpt, args.out / "scores" / ckpt.stem)
        points.append(
            {"kimg": kimg, "rows": ev["rows"], "intervals": ev["intervals"], "differences": ev["differences"]}
        )
    (args.out / "curve.json").write_text(json.dumps(points, indent=1))
    ref = points[0]["rows"]
    print(f"{'kimg':>6} {'face L1 [95%]':>24} {'- target [95%]':>28} {'ID top-1 % [95%]':>22} {'pose °':>7}")
    for p in points:
        r, i, d = p["rows"]["model"], p["intervals"]["model"], p["differences"]["model"]["output = target"]
        lo, hi = i["gt_l1_face"]
        dm, dlo, dhi = d["gt_l1_face"]
        tlo, thi = i["id_top1"]
        print(
            f"{p['kimg']:6.1f} {r['gt_l1_face']:.4f} [{lo:.4f}, {hi:.4f}] {dm:+.4f} [{dlo:+.4f}, {dhi:+.4f}]"
            f" {r['id_top1']:5.1f} [{tlo:4.1f}, {thi:4.1f}] {r['pose_err']:7.2f}"
        )
    print(
        f"references: output = target face L1 {ref['output = target']['gt_l1_face']:.4f}, "
        f"pose {ref['output = target']['pose_err']:.2f}; "
        f"average identity {ref['average identity']['gt_l1_face']:.4f}; "
        f"ground truth ID top-1 {ref['ground truth (ceiling)']['id_top1']:.1f}%"
    )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    ks = [p["kimg"] for p in points]
    for ax, (m, label) in zip(axes, METRICS):
        if m == "gt_l1_face":  # the paired difference: its interval is 10x tighter than the mean's
            ys, lo, hi = zip(*(p["differences"]["model"]["output = target"][m] for p in points))
        else:
            ys = [p["rows"]["model"][m] for p in points]
            lo = [p["intervals"]["model"][m][0] for p in points]
            hi = [p["intervals"]["model"][m][1] for p in points]
        ax.fill_between(ks, lo, hi, alpha=0.25, color="C0")
        ax.plot(ks, ys, "o-", color="C0", label="model (EMA)")
        lines = {
            "gt_l1_face": [("output = target", "C1"), ("average identity", "C2")],
            "id_top1": [("ground truth (ceiling)", "C3")],
            "pose_err": [("output = target", "C1")],
        }[m]
        for row, color in lines:
            name = "oracle's floor (target)" if m == "pose_err" else row
            shift = ref["output = target"][m] if m == "gt_l1_face" else 0.0
            ax.axhline(ref[row][m] - shift, ls="--", color=color, label=name)
        if m == "id_top1":
            ax.axhline(
                ref["ground truth (ceiling)"][m] / 2, ls=":", color="C3", label="bar: half the truth's"
            )
        if m == "pose_err":
            ax.axhline(1.5 * ref["output = target"][m], ls=":", color="C1", label="bar: 1.5x the floor")
        ax.set_xlabel("kimg")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle(f"{args.run.name}: 200 test identities, 95% bootstrap intervals over pairs", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out / "curve.png", dpi=110)
    print(f"wrote {args.out / 'curve.json'} and {args.out / 'curve.png'}")


if __name__ == "__main__":
    main()
