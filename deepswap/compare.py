"""Merge runs of a seed sweep: ``python -m deepswap.compare RUN_OR_SWEEP_FOLDER ... [--out merged.json]``.

Reads each run's ``heldout_eval.json`` (training) or ``evaluation.json`` (``deepswap.evaluate``); a
Hydra multirun folder stands for all its runs. Prints mean ± sd and a 95% t-interval over runs for
every output and metric, and the model's differences to the trivial baselines
(:mod:`deepswap.evaluation.merge`). Typical use::

    python -m deepswap.train -m seed=0,1,2                       # three training seeds
    python -m deepswap.compare logs/train/multiruns/<date>_<time>
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from deepswap.evaluation.merge import MergeError, format_merged, merge_runs
    from deepswap.evaluation.report import SHOWN

    ap = argparse.ArgumentParser(prog="python -m deepswap.compare", description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run folders, result files, or a multirun folder")
    ap.add_argument("--out", help="also write the merged numbers as JSON here")
    args = ap.parse_args(argv)
    try:
        merged = merge_runs(args.runs)
    except (MergeError, OSError, json.JSONDecodeError, KeyError) as e:
        print(f"deepswap.compare: error: {e}", file=sys.stderr)
        return 2
    print(format_merged(merged, SHOWN))
    if args.out:
        try:
            Path(args.out).write_text(json.dumps(merged, indent=2))
        except OSError as e:
            print(f"deepswap.compare: error: cannot write {args.out}: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
