"""The flip experiment's tables: held-out paste AUC per run, single pass and flip TTA, members, and paired
differences (flip TTA against a single pass of the same detector; training flips against none, same seed).

    python table.py /tmp/x131 0:base_s0:hflip_s0 1:base_s1:hflip_s1      # LOFO paste folds
    python table.py --scored /tmp/x131/score_mk mk_base mk_hflip          # make-train detectors, every family
    python table.py --scored /tmp/x140 score_pre_flip/pre_flip score_pre_flip3k/pre_flip3k   # one folder each
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from deepswap.detection.lofo import member_rows, read_scores
from deepswap.detection.metrics import bootstrap_detection

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "2026-12-05_paste_column"))
from paired_auc import paired  # noqa: E402

PASTE = ["paste_alpha", "paste_alpha_ct", "paste_poisson", "paste_poisson_ct"]
SINGLE = "test_frames_single_pass.csv"
FAMILIES = ["sbi", "paste", "deepswap", "ghost", "simswap", "faceshifter"]


def cell(r: dict) -> str:
    return f"{r['auc']:.3f} [{r['auc_lo']:.3f}, {r['auc_hi']:.3f}]"


def diff(a: str, b: str, family: str | None = None) -> str:
    _, _, d, lo, hi = paired(a, b, family)
    star = "*" if lo > 0 or hi < 0 else ""
    return f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]{star}"


def lofo_tables(out: Path, specs: list[str]) -> None:
    print("| run | scoring | held-out paste AUC | TPR@1%FPR | " + " / ".join(PASTE) + " |")
    print("|---|---|---|---|---|")
    paired_rows = []
    for spec in specs:
        seed, base, flip = spec.split(":")
        files = {}
        for tag in (base, flip):
            fold = out / tag / "holdout_paste"
            for mode, name in (("single pass", SINGLE), ("flip TTA", "test_frames.csv")):
                path = fold / name
                y, s, videos = read_scores(path)
                r = bootstrap_detection(y, s)
                members = member_rows(y, s, videos, PASTE, 0.01, 200, 0)
                m = " / ".join(f"{members[k]['auc']:.3f}" for k in PASTE)
                print(f"| {tag} (seed {seed}) | {mode} | {cell(r)} | {r['tpr']:.2f} | {m} |")
                files[tag, mode] = str(path)
        single = {t: files[t, "single pass"] for t in (base, flip)}
        tta = {t: files[t, "flip TTA"] for t in (base, flip)}
        paired_rows += [
            (f"seed {seed}: flip TTA - single pass, {base}", diff(single[base], tta[base])),
            (f"seed {seed}: flip TTA - single pass, {flip}", diff(single[flip], tta[flip])),
            (f"seed {seed}: {flip} - {base}, single pass", diff(single[base], single[flip])),
            (f"seed {seed}: {flip} - {base}, flip TTA", diff(tta[base], tta[flip])),
            (f"seed {seed}: {flip} + TTA - {base} single pass", diff(single[base], tta[flip])),
        ]
    print("\n| paired difference (held-out paste AUC) | B - A [95%] |\n|---|---|")
    for name, d in paired_rows:
        print(f"| {name} | {d} |")


def scored_tables(out: Path, names: list[str]) -> None:
    """``names``: row names whose ``scored_<name>[_single_pass].csv`` lie in ``out``, or ``SUBDIR/NAME`` for
    ``out/SUBDIR/scored_NAME.csv``. Columns: the families the files hold. Paired rows: each detector
    against the first, and each detector's flip TTA against its single pass (the same test frames)."""
    files = {}
    for spec in names:
        sub, _, name = spec.rpartition("/")
        files[name] = {m: out / sub / f"scored_{name}{x}.csv" for m, x in (("single pass", "_single_pass"),
                                                                           ("flip TTA", ""))}  # fmt: skip
    first = next(iter(files.values()))["flip TTA"]
    present = {v.split("/")[2] for v in read_scores(first)[2]}
    fams = [f for f in FAMILIES if f in present]
    print("| detector | scoring | " + " | ".join(fams) + " |")
    print("|---|---|" + "---|" * len(fams))
    for name, by_mode in files.items():
        for mode, path in by_mode.items():
            y, s, videos = read_scores(path)
            fam = np.asarray([v.split("/")[2] for v in videos])
            keep = {f: (y == 0) | (fam == f) for f in fams}
            cells = [cell(bootstrap_detection(y[keep[f]], s[keep[f]])) for f in fams]
            print(f"| {name} | {mode} | " + " | ".join(cells) + " |")
    a = next(iter(files))
    rows = []
    for b in list(files)[1:]:
        for mode in ("single pass", "flip TTA"):
            rows.append((f"{b} - {a}, {mode}", files[a][mode], files[b][mode]))
    for b in files:
        rows.append((f"{b}: flip TTA - single pass", files[b]["single pass"], files[b]["flip TTA"]))
    print("\n| paired difference | " + " | ".join(fams) + " |\n|---|" + "---|" * len(fams))
    for label, fa, fb in rows:
        print(f"| {label} | " + " | ".join(diff(str(fa), str(fb), f) for f in fams) + " |")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("specs", nargs="+", help="SEED:BASE:FLIP run tags (LOFO) or detector row names (--scored)")
    p.add_argument("--scored", action="store_true")
    args = p.parse_args()
    (scored_tables if args.scored else lofo_tables)(args.out, args.specs)
