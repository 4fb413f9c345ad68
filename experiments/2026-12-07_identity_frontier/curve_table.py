"""Rows of ``deepswap.evaluate`` outputs against kimg:
``python curve_table.py DIR [DIR ...] [--plot out.png]``, where each DIR holds ``kimgNN/evaluation.json``
or ``kimgNN.json`` (one per checkpoint); the DIRs' rows are merged (a longer run resumed into another
folder)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cell(d: dict, base: str, metric: str) -> str:
    mean, lo, hi = d["differences"]["model"][base][metric]
    star = "*" if lo > 0 or hi < 0 else ""
    return f"{mean:+.4f} [{lo:+.4f}, {hi:+.4f}]{star}"


def load(folder: str) -> list[tuple[int, dict]]:
    paths = list(Path(folder).glob("kimg*/evaluation.json")) + list(Path(folder).glob("kimg*.json"))
    kimg = [int((p.parent.name if p.name == "evaluation.json" else p.stem)[4:]) for p in paths]
    return sorted((k, json.loads(p.read_text())) for k, p in zip(kimg, paths))


def interval_plot(ax, x: list, triples: list, **style) -> None:
    """``(mean, low, high)`` per x as points with error bars."""
    mean = [t[0] for t in triples]
    err = [[t[0] - t[1] for t in triples], [t[2] - t[0] for t in triples]]
    ax.errorbar(x, mean, yerr=err, marker="o", capsize=3, **style)


def plot(runs: list[tuple[int, dict]], out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kimg = [k for k, _ in runs]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    for base, colour in (("output = target", "C0"), ("average identity", "C1")):
        d = [r["differences"]["model"][base]["gt_l1_face"] for _, r in runs]
        interval_plot(ax[0], kimg, d, color=colour, label=f"model - {base}")
    ax[0].axhline(0, color="k", lw=0.8)
    ax[0].set(title="face GT L1, paired difference [95%]", xlabel="kimg")
    ax[0].legend(fontsize=8)
    ids = [(r["rows"]["model"]["id_top1"], *r["intervals"]["model"]["id_top1"]) for _, r in runs]
    interval_plot(ax[1], kimg, ids)
    bar = runs[0][1]["rows"]["ground truth (ceiling)"]["id_top1"] / 2
    ax[1].axhline(bar, color="r", ls="--", label=f"bar: half the truth's ({bar:.1f}%)")
    ax[1].set(title="ID top-1 % [95%]", xlabel="kimg")
    ax[1].legend(fontsize=8)
    ax[2].plot(kimg, [r["rows"]["model"]["pose_err"] for _, r in runs], marker="o")
    floor = runs[0][1]["rows"]["output = target"]["pose_err"]
    ax[2].axhline(1.5 * floor, color="r", ls="--", label=f"bar: 1.5 x the floor ({1.5 * floor:.2f})")
    ax[2].set(title="pose error °", xlabel="kimg")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(folders: list[str], out: str | None = None) -> None:
    runs = sorted((r for f in folders for r in load(f)), key=lambda r: r[0])
    if out:
        plot(runs, out)
    print(
        "| kimg | ID top-1 % [95%] | pose ° | face L1 - target | face L1 - average | whole L1 - target "
        "| whole L1 - average |"
    )
    print("|---:|---|---:|---|---|---|---|")
    for k, d in runs:
        m, (lo, hi) = d["rows"]["model"], d["intervals"]["model"]["id_top1"]
        print(
            f"| {k} | {m['id_top1']:.1f} [{lo:.1f}, {hi:.1f}] | {m['pose_err']:.2f} "
            f"| {cell(d, 'output = target', 'gt_l1_face')} | {cell(d, 'average identity', 'gt_l1_face')} "
            f"| {cell(d, 'output = target', 'gt_l1')} | {cell(d, 'average identity', 'gt_l1')} |"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    out = args[args.index("--plot") + 1] if "--plot" in args else None
    main([a for a in args if a != "--plot" and a != out] or ["."], out)
