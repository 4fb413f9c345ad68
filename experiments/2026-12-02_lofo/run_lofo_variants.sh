#!/bin/bash
# recipe_v2: detect_recipe=generalise at commit ecf56ad (worktree /tmp/wtS; = generalise_post now);
# pseudo_only: detect_recipe=generalise recipe.postprocess=null (= detect_recipe=generalise now).
source "$(cd "$(dirname "$0")" && pwd)/families.sh"  # before any cd
cd /tmp
PY=/work/main/.venv/bin/python
COMMON="train.steps=1500 train.eval_every=250 seed=0 lofo.probe=null"
tag=$1; shift
echo "== $tag $(date)"
PYTHONPATH=/tmp/wtS $PY -m deepswap.detect lofo $COMMON "${FAMS[@]}" "$@" output_dir=/tmp/lofo/$tag > /tmp/lofo/$tag.log 2>&1
echo "rc $? $(date)"
