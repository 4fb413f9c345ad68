#!/bin/bash
cd /tmp
PY=/work/main/.venv/bin/python
F=/tmp/fam
FAMS=(
 "+lofo.families.deepswap=[/tmp/r10long/checkpoints/last.ckpt,/tmp/r10d_s1/checkpoints/last.ckpt,/tmp/r10d_s2/checkpoints/kimg00004.000.ckpt,/tmp/r10warp/checkpoints/last.ckpt]"
 "+lofo.families.simswap=[$F/simswap_s0/checkpoints/kimg00001.008.ckpt,$F/simswap_s0/checkpoints/last.ckpt,$F/simswap_s1/checkpoints/last.ckpt]"
 "+lofo.families.faceshifter=[$F/faceshifter_s0/checkpoints/kimg00001.008.ckpt,$F/faceshifter_s0/checkpoints/last.ckpt,$F/faceshifter_s1/checkpoints/last.ckpt]"
)
COMMON="train.steps=1500 train.eval_every=250 seed=0 lofo.probe=null"
tag=$1; shift
echo "== $tag $(date)"
PYTHONPATH=/tmp/wtS $PY -m deepswap.detect lofo $COMMON "${FAMS[@]}" "$@" output_dir=/tmp/lofo/$tag > /tmp/lofo/$tag.log 2>&1
echo "rc $? $(date)"
