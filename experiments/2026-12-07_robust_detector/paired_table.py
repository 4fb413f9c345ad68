"""Paired AUC differences of two score rows of one `score.sh` folder, per family and condition:

    python paired_table.py /tmp/x160/score_both deepswap_s0 robust_s0 > results/paired.md
    python paired_table.py /tmp/x160/score_both deepswap_s0 /tmp/x160/score_lite:robust_lite_s0

A row given as FOLDER:NAME is read from that folder (a score.sh run with the same families and seed, so
the same frames).

Each cell: AUC(B) - AUC(A) on the same test frames [95% stratified bootstrap, the same resample for
both]; `*` where the interval excludes 0. Conditions are read from the folder's scored_<A>@<cond>.csv,
families from its scored_<A>.csv (those of FAMILIES it holds).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "2026-12-05_paste_column"))
from paired_auc import paired  # noqa: E402

FAMILIES = ("sbi", "paste", "deepswap", "ghost", "simswap", "faceshifter")


def where(folder: str, row: str) -> tuple[Path, str]:
    """``NAME`` (in ``folder``) or ``FOLDER:NAME`` -> (folder, name)."""
    return (Path(row.split(":", 1)[0]), row.split(":", 1)[1]) if ":" in row else (Path(folder), row)


def main(folder: str, a: str, b: str) -> None:
    (root, a), (root_b, b) = where(folder, a), where(folder, b)
    conds = ["clean"] + sorted(p.stem.split("@", 1)[1] for p in root.glob(f"scored_{a}@*.csv"))
    scored = (root / f"scored_{a}.csv").read_text()
    families = [f for f in FAMILIES if f"/{f}/" in scored]  # the folder's families, in this order
    print(f"| condition | {' | '.join(families)} |")
    print("|---|" + "---|" * len(families))
    for cond in conds:
        suffix = "" if cond == "clean" else f"@{cond}"
        cells = []
        for fam in families:
            auc_a, auc_b, d, lo, hi = paired(str(root / f"scored_{a}{suffix}.csv"),
                                             str(root_b / f"scored_{b}{suffix}.csv"), fam)  # fmt: skip
            star = "*" if lo > 0 or hi < 0 else ""
            cells.append(f"{auc_a:.3f} -> {auc_b:.3f}: {d:+.3f} [{lo:+.3f}, {hi:+.3f}]{star}")
        print(f"| {cond} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
