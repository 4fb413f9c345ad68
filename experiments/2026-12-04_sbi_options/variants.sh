#!/bin/bash
cd /tmp/lr24d
export OMP_NUM_THREADS=1 WANDB_MODE=disabled PYTHONPATH=/tmp/lr24d
v() { tag=$1; shift; [ -f /tmp/lofo24/$tag/lofo.json ] && return
  /work/main/.venv/bin/python -m deepswap.detect lofo train.steps=1500 train.eval_every=250 seed=0 detect_recipe=generalise lofo.probe=null output_dir=/tmp/lofo24/$tag "$@" > /tmp/lofo24/$tag.log 2>&1; }
v relight05 recipe.sbi.relight=0.5
v poisson03 recipe.sbi.poisson=0.3
v both recipe.sbi.relight=0.5 recipe.sbi.poisson=0.3
