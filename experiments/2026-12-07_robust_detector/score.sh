#!/bin/bash
# The co-trained detectors of the make-train runs scored on every family (issue 11 §2), clean and with every
# test frame of both classes post-processed alike (lofo.conditions), flip TTA, 1000 reals + 1000 fakes per
# family, 95% bootstrap over frames:
#   CODE=<frozen worktree> X=/tmp/x160 bash score.sh TAG NAME=CHECKPOINT [NAME=CHECKPOINT ...]
# Families: ../2026-12-07_flip/families.sh, with every generator family trained into X
# (../2026-12-07_flip/train_families.sh and `make_train.sh job deepswap_s0`).
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:?set CODE to a frozen worktree}; X=${X:-/tmp/x160}
PY=${PY:-/work/main/.venv/bin/python}
CONDITIONS=${CONDITIONS:-[blur_0.5,blur_1,resize_0.75,resize_0.5,jpeg_70,jpeg_50]}
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1} WANDB_MODE=disabled PYTHONPATH=$CODE
tag=$1; shift
X90=$X X100=$X X130=$X source "$HERE/../2026-12-07_flip/families.sh"
rows=(); for r in "$@"; do rows+=("+lofo.score.$r"); done
cd "$CODE" || exit 1
$PY -m deepswap.detect lofo lofo.folds=false lofo.probe=null seed=0 detect_recipe=generalise tta=flip \
  "lofo.conditions=$CONDITIONS" "${FAMS[@]}" "${rows[@]}" output_dir="$X/score_$tag" > "$X/score_$tag.log" 2>&1
echo "score $tag rc=$?"
