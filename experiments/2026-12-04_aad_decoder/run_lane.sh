#!/bin/bash
# One main-job run at 4 kimg (the main job's budget), one torch thread, from a frozen worktree WT:
#   WT=/tmp/wt bash run_lane.sh NAME overrides...
# Outputs go to OUT/NAME (closing table: OUT/NAME/heldout_eval.json); runs/NAME.json is a copy of it.
WT=${WT:?set WT to a frozen worktree of the commit under test}; OUT=${OUT:-/tmp/x26}
cd "$WT"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 WANDB_MODE=disabled PYTHONPATH="$WT" OMP_WAIT_POLICY=PASSIVE
name=$1; shift
echo "$(date +%T) start $name $*" >> "$OUT/lane.log"
python -m deepswap.train logger=csv paths.output_dir="$OUT/$name" "$@" > "$OUT/$name.log" 2>&1
rc=$?; echo "$(date +%T) end $name rc=$rc" >> "$OUT/lane.log"
