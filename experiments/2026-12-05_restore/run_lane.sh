#!/bin/bash
# One main-job run, one torch thread, from a frozen worktree WT:
#   WT=/tmp/wt OUT=/tmp/x31 bash run_lane.sh NAME overrides...
# Outputs go to OUT/NAME (closing table: OUT/NAME/heldout_eval.json).
WT=${WT:?set WT to a frozen worktree of the commit under test}; OUT=${OUT:-/tmp/x31}
mkdir -p "$OUT"; cd "$WT"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 WANDB_MODE=disabled PYTHONPATH="$WT" OMP_WAIT_POLICY=PASSIVE
name=$1; shift
echo "$(date +%T) start $name $*" >> "$OUT/lane.log"
/work/main/.venv/bin/python -m deepswap.train logger=csv paths.output_dir="$OUT/$name" "$@" > "$OUT/$name.log" 2>&1
rc=$?; echo "$(date +%T) end $name rc=$rc" >> "$OUT/lane.log"
