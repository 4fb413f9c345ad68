#!/bin/bash
# usage: lane.sh OUT NAME overrides...   (frozen worktree $CODE, one torch thread)
CODE=${CODE:-/tmp/wt70}; OUT=$1; name=$2; shift 2
cd $CODE; mkdir -p $OUT
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 WANDB_MODE=disabled PYTHONPATH=$CODE
[ -f $OUT/$name/heldout_eval.json ] && exit 0
echo "$(date +%T) start $name $*" >> $OUT/lane.log
/work/main/.venv/bin/python -m deepswap.train logger=csv detector=off paths.output_dir=$OUT/$name "$@" > $OUT/$name.log 2>&1
rc=$?; echo "$(date +%T) end $name rc=$rc" >> $OUT/lane.log
