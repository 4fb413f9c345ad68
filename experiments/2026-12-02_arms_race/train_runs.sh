#!/usr/bin/env bash
# Issue 11 §3: observer vs adversarial co-training on world v2, 3 training seeds each, the main job's
# recipe (co-training pseudo-fakes and post-processing as committed) at 4 kimg with a detector and a
# generator snapshot every kimg. Run from a frozen worktree: CODE=/tmp/wtA OUT=/tmp/arms bash train_runs.sh
set -euo pipefail
CODE=${CODE:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${OUT:-/tmp/arms}
KIMG=${KIMG:-4}
PY=${PY:-/work/main/.venv/bin/python}
mkdir -p "$OUT"
for seed in 0 1 2; do
  for mode in observer adversarial; do
    run="$OUT/${mode}_s${seed}"
    [ -f "$run/checkpoints/last.ckpt" ] && continue
    /usr/bin/time -v env PYTHONPATH="$CODE" "$PY" -m deepswap.train logger=csv seed=$seed \
      total_kimg=$KIMG val_every_kimg=$KIMG detector.mode=$mode detector.snapshot_every_kimg=1 \
      final_eval.enabled=false paths.output_dir="$run" > "$run.log" 2>&1
  done
done
