#!/bin/bash
# waits for the family checkpoints, then LOFO before / after the recipe (frozen worktree /tmp/wtR, commit f03133f).
# There detect_recipe=generalise was recipe v1: pseudo-fakes + blur up to 3 px (now detect_recipe=generalise_post
# with sigma: [0.2, 3.0] p_blur: 0.5 p_resize: 0.3 scale: [0.4, 0.9] p_noise: 0.3 noise_std: [0, 0.04] quality: [30, 95]).
source "$(cd "$(dirname "$0")" && pwd)/families.sh"  # before any cd
while pgrep -f /tmp/fam/run.sh > /dev/null; do sleep 20; done
cd /tmp
PY=/work/main/.venv/bin/python
COMMON="train.steps=1500 train.eval_every=250 seed=0"
echo "== before $(date)"
PYTHONPATH=/tmp/wtR $PY -m deepswap.detect lofo $COMMON detect_recipe=none "${FAMS[@]}" \
  "+lofo.score.main_job_32kimg_old_recipe=/tmp/r10long/checkpoints/last.ckpt" output_dir=/tmp/lofo/before > /tmp/lofo/before.log 2>&1
echo "rc $? $(date)"
while pgrep -f "hydra.run.dir=/tmp/r11main" > /dev/null; do sleep 20; done
echo "== after $(date)"
PYTHONPATH=/tmp/wtR $PY -m deepswap.detect lofo $COMMON detect_recipe=generalise "${FAMS[@]}" \
  "+lofo.score.main_job_32kimg_old_recipe=/tmp/r10long/checkpoints/last.ckpt" \
  "+lofo.score.main_job_8kimg_recipe=/tmp/r11main/checkpoints/last.ckpt" output_dir=/tmp/lofo/after > /tmp/lofo/after.log 2>&1
echo "rc $? $(date)"
