#!/bin/bash
# waits for the family checkpoints, then LOFO before / after the recipe (frozen worktree /tmp/wtR)
while pgrep -f /tmp/fam/run.sh > /dev/null; do sleep 20; done
cd /tmp
PY=/work/main/.venv/bin/python
F=/tmp/fam
FAMS=(
 "+lofo.families.deepswap=[/tmp/r10long/checkpoints/last.ckpt,/tmp/r10d_s1/checkpoints/last.ckpt,/tmp/r10d_s2/checkpoints/kimg00004.000.ckpt,/tmp/r10warp/checkpoints/last.ckpt]"
 "+lofo.families.simswap=[$F/simswap_s0/checkpoints/kimg00001.008.ckpt,$F/simswap_s0/checkpoints/last.ckpt,$F/simswap_s1/checkpoints/last.ckpt]"
 "+lofo.families.faceshifter=[$F/faceshifter_s0/checkpoints/kimg00001.008.ckpt,$F/faceshifter_s0/checkpoints/last.ckpt,$F/faceshifter_s1/checkpoints/last.ckpt]"
)
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
