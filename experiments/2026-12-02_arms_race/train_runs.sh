#!/usr/bin/env bash
# Issue 11 §3: observer vs adversarial co-training on world v2, 3 training seeds each, the main job's
# recipe (co-training pseudo-fakes and post-processing as committed) at 4 kimg with a detector and a
# generator snapshot every kimg. Run from a frozen worktree: CODE=/tmp/wtA OUT=/tmp/arms bash train_runs.sh
# Options (environment): KIMG (budget), SNAP (snapshot every SNAP kimg), MODES and SEEDS (a lane's share:
# MODES=observer in one shell and MODES=adversarial in another run the two modes side by side),
# THREADS (torch threads per run; unset: torch's default), and overrides after the script's name
# (e.g. experiment=ghost_swap), given to every run. WARM=per_run gives every run its own detector warm start
# (detector.pretrain.seed = 2 * seed + 1 for observer, 2 * seed + 2 for adversarial; the default, 0, is
# shared by all runs), so that the frozen panel of foreign detectors shares no weights with the run's own.
set -euo pipefail
CODE=${CODE:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${OUT:-/tmp/arms}
KIMG=${KIMG:-4}
SNAP=${SNAP:-1}
MODES=${MODES:-observer adversarial}
SEEDS=${SEEDS:-0 1 2}
PY=${PY:-/work/main/.venv/bin/python}
if [ -n "${THREADS:-}" ]; then export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS; fi
mkdir -p "$OUT"
for seed in $SEEDS; do
  for mode in $MODES; do
    run="$OUT/${mode}_s${seed}"
    [ -f "$run/checkpoints/last.ckpt" ] && continue
    warm=()
    if [ "${WARM:-shared}" = per_run ]; then
      offset=1; [ "$mode" = adversarial ] && offset=2
      warm=("detector.pretrain.seed=$((2 * seed + offset))")
    fi
    /usr/bin/time -v env PYTHONPATH="$CODE" "$PY" -m deepswap.train logger=csv seed=$seed \
      total_kimg=$KIMG val_every_kimg=$KIMG detector.mode=$mode detector.snapshot_every_kimg=$SNAP \
      final_eval.enabled=false paths.output_dir="$run" "${warm[@]}" "$@" > "$run.log" 2>&1
  done
done
