#!/bin/bash
# issue 10 §3 ablation lane: the main job's budget (4 kimg), one torch thread, from the frozen worktree
cd /tmp/lr23
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 WANDB_MODE=disabled PYTHONPATH=/tmp/lr23
run() { name=$1; shift; [ -f /tmp/abl23/$name/heldout_eval.json ] && return
  echo "$(date +%T) start $name $*" >> /tmp/abl23/lane.log
  /work/main/.venv/bin/python -m deepswap.train logger=csv paths.output_dir=/tmp/abl23/$name "$@" > /tmp/abl23/$name.log 2>&1
  rc=$?; echo "$(date +%T) end $name rc=$rc" >> /tmp/abl23/lane.log; }
run recipe_s0 seed=0
run recipe_s1 seed=1
run recipe_s2 seed=2
run minus_face_region model.face_region=null loss.weights.outside=0
run minus_bilinear generator.upsample=nearest
run minus_optimiser optimizer.generator.lr=0.0004 'optimizer.generator.betas=[0.0,0.99]'
run minus_two_views data.extra_source_views=0
run minus_jitter_keeps_scale model.identity_jitter_scale=true
run minus_mask_init generator.mask_bias_init=-1.5
run minus_d_norm discriminator.norm=instance
