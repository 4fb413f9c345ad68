"""Paired comparison of checkpoints on the closing table's test pairs: face-interior and whole-image GT
L1 of each, and each one's paired difference to ``--base`` (and to the protocol's average identity row),
with 95% bootstrap intervals over pairs (``protocol.bootstrap_interval``). The face L1 is computed as in
``face_pairs.FacePairs`` (the protocol's face region, [0, 1] scale).

    python experiments/2026-12-07_cycle/paired.py --base A A=PATH B=PATH ...
"""

from __future__ import annotations

import argparse

from face_pairs import FacePairs, interval


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", help="NAME=PATH")
    ap.add_argument("--base", required=True, help="the NAME every other checkpoint is paired against")
    ap.add_argument("--num-pairs", type=int, default=200)
    args = ap.parse_args()
    fp = FacePairs(args.num_pairs)
    outputs = fp.outputs(args.checkpoints)
    outputs = {"average identity": outputs.pop("average identity"), **outputs}
    rows = {
        name: (fp.face_l1(out), ((out - fp.truth).abs() * 0.5).flatten(1).mean(1))
        for name, out in outputs.items()
    }
    if args.base not in rows:
        raise SystemExit(f"--base {args.base!r} is not one of {list(rows)}")
    avg, base = rows["average identity"], rows[args.base]
    print(f"{len(fp)} pairs; differences: row minus the named row, paired over pairs (* excludes 0)\n")
    head = "| output | face L1 | whole L1 | face - average | whole - average"
    print(f"{head} | face - {args.base} | whole - {args.base} |")
    print("|---|---:|---:|---|---|---|---|")
    for name, (f, w) in rows.items():
        vs_avg = [interval(f - avg[0]), interval(w - avg[1])] if name != "average identity" else ["", ""]
        vs_base = [interval(f - base[0]), interval(w - base[1])] if name != args.base else ["", ""]
        print(f"| {name} | {f.mean():.4f} | {w.mean():.4f} | " + " | ".join(vs_avg + vs_base) + " |")


if __name__ == "__main__":
    main()
