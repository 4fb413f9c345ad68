#!/bin/bash
# usage: lofo.sh TAG overrides...   (1 thread; code from /work/main)
tag=$1; shift
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 WANDB_MODE=disabled PYTHONPATH=/work/main
cd /tmp
echo "$(date +%T) start $tag $*" >> /tmp/lofo/lane.log
/work/main/.venv/bin/python -m deepswap.detect lofo train.steps=1500 train.eval_every=250 seed=0 detect_recipe=generalise lofo.probe=null output_dir=/tmp/lofo/$tag "$@" > /tmp/lofo/$tag.log 2>&1
echo "$(date +%T) end $tag rc=$?" >> /tmp/lofo/lane.log
