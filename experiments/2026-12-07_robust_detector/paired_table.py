"""Paired AUC differences of two score rows of one `score.sh` folder, per family and condition:

    python paired_table.py /tmp/x160/score_both deepswap_s0 robust_s0 > results/paired.md

Each cell: AUC(B) - AUC(A) on the same test frames [95% stratified bootstrap, the same resample for
both]; `*` where the interval excludes 0. Conditions are read from the folder's scored_<A>@<cond>.csv.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "2026-12-05_paste_column"))
from paired_auc import paired  # noqa: E402

FAMILIES = ("sbi", "paste", "deepswap", "ghost", "simswap", "faceshifter")


def main(folder: str, a: str, b: str) -> None:
    root = Path(folder)
    conds = ["clean"] + sorted(p.stem.split("@", 1)[1] for p in root.glob(f"scored_{a}@*.csv"))
    print(f"| condition | {' | '.join(FAMILIES)} |")
    print("|---|" + "---|" * len(FAMILIES))
    for cond in conds:
        suffix = "" if cond == "clean" else f"@{cond}"
        cells = []
        for fam in FAMILIES:
            auc_a, auc_b, d, lo, hi = paired(str(root / f"scored_{a}{suffix}.csv"),
                                             str(root / f"scored_{b}{suffix}.csv"), fam)  # fmt: skip
            star = "*" if lo > 0 or hi < 0 else ""
            cells.append(f"{auc_a:.3f} -> {auc_b:.3f}: {d:+.3f} [{lo:+.3f}, {hi:+.3f}]{star}")
        print(f"| {cond} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
