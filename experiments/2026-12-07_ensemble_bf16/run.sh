#!/bin/bash
# Stop 44: the main job in bf16 against fp32 (same seed), and the make-train detector in an ensemble file
# (`python -m deepswap.detect ensemble`) with a post-processed warm start. One torch thread per call; run two
# calls side by side on the 2 cores.
#   CODE=<frozen worktree> OUT=/tmp/x170 bash run.sh jobs      # (via ../2026-12-07_flip/make_train.sh)
#   CODE=... OUT=/tmp/x170 bash run.sh post                    # the resnet_post warm start as a file (flip TTA)
#   CODE=... OUT=/tmp/x170 bash run.sh ghost                   # a GHOST family: experiment=ghost_swap to 4 kimg
#   CODE=... OUT=/tmp/x170 bash run.sh simswap                 # a SimSwap-style family to 2 kimg
#   CODE=... OUT=/tmp/x170 bash run.sh faceshifter             # a FaceShifter-style family to 2 kimg
#   CODE=... OUT=/tmp/x170 bash run.sh ensemble                # default (fp32_s0's detector) + post -> ens.pt
#   CODE=... OUT=/tmp/x170 bash run.sh score                   # every row on every family, clean and degraded
#   CODE=... OUT=/tmp/x170 bash run.sh seeds                   # seeds 1, 2: ensembles with warmstart:resnet_post, scored
#   CODE=... OUT=/tmp/x170 bash run.sh faceshifter_score       # seed 0's rows on the faceshifter family
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:?set CODE to a frozen worktree of the commit under test}
OUT=${OUT:-/tmp/x170}; CACHE=${CACHE:-/root/.cache/deepswap}
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$OUT" && cd "$CODE" || exit 1
log() { echo "$(date +%T) $*" >> "$OUT/lane.log"; }
# the families every score row is tested on (sbi and paste are lofo's defaults); the deepswap family is fp32_s0's
# generator. detect_recipe=none tta=null: every row carries its own flip average (the checkpoint's detector.tta,
# the files' tta)
FAMS=("+lofo.families.deepswap=[$OUT/fp32_s0/checkpoints/last.ckpt]"
      "+lofo.families.ghost=[$OUT/ghost/checkpoints/kimg00002.000.ckpt,$OUT/ghost/checkpoints/last.ckpt]"
      "+lofo.families.simswap=[$OUT/simswap/checkpoints/kimg00001.008.ckpt,$OUT/simswap/checkpoints/last.ckpt]")
score() {  # score OUTPUT_NAME NAME=DETECTOR ...
  local name=$1; shift
  local rows=(); for r in "$@"; do rows+=("+lofo.score.$r"); done
  $PY -m deepswap.detect lofo lofo.folds=false lofo.probe=null seed=0 detect_recipe=none tta=null "${FAMS[@]}" \
    "${rows[@]}" "lofo.conditions=[blur_0.5,blur_1,resize_0.75,jpeg_50]" output_dir="$OUT/$name" > "$OUT/$name.log" 2>&1
}
case $1 in
jobs)
  CODE=$CODE OUTDIR=$OUT CACHE=$CACHE bash "$HERE/../2026-12-07_flip/make_train.sh" job fp32_s0 &
  CODE=$CODE OUTDIR=$OUT CACHE=$CACHE bash "$HERE/../2026-12-07_flip/make_train.sh" job bf16_s0 trainer=cpu_bf16
  wait ;;
post)
  log "start post"
  $PY "$HERE/../2026-12-06_make_train_paste/pretrained_detector.py" "$OUT/post_raw.pt" detector=resnet_post \
    paths.cache_dir="$CACHE" > "$OUT/post.log" 2>&1
  # the warm start as a detector file that scores with flip TTA, as the main job's detector does
  $PY -c "import torch,sys; b=torch.load(sys.argv[1]); b.update(tta='flip', size=64); torch.save(b, sys.argv[2])" \
    "$OUT/post_raw.pt" "$OUT/post.pt"
  log "end post rc=$?" ;;
ghost|simswap|faceshifter)
  case $1 in
    ghost) args=(experiment=ghost_swap total_kimg=4 val_every_kimg=2) ;;
    simswap) args=(experiment=simswap_synthetic generator.base_channels=32 generator.max_channels=256 total_kimg=2 val_every_kimg=1) ;;
    faceshifter) args=(experiment=faceshifter_synthetic generator.n_down=5 generator.max_channels=256 total_kimg=2 val_every_kimg=1) ;;
  esac
  log "start $1"
  $PY -m deepswap.train logger=csv detector=off final_eval.enabled=false seed=0 paths.cache_dir="$CACHE" \
    paths.output_dir="$OUT/$1" "${args[@]}" > "$OUT/$1.log" 2>&1
  log "end $1 rc=$?" ;;
ensemble)
  log "start ensemble"
  $PY -m deepswap.detect ensemble "ensemble.members=[$OUT/fp32_s0/checkpoints/last.ckpt,$OUT/post.pt]" \
    output_dir="$OUT/ens" > "$OUT/ens.log" 2>&1
  log "end ensemble rc=$?" ;;
score)
  log "start score"
  score score "default=$OUT/fp32_s0/checkpoints/last.ckpt" "default_bf16=$OUT/bf16_s0/checkpoints/last.ckpt" \
    "post=$OUT/post.pt" "ensemble=$OUT/ens/ensemble.pt"
  log "end score rc=$?" ;;
seeds)
  # seeds 1 and 2 of the main job, each with the same warm-start member (the library's warmstart:resnet_post)
  log "start seeds"
  for s in 1 2; do
    $PY -m deepswap.detect ensemble "ensemble.members=[$OUT/fp32_s$s/checkpoints/last.ckpt,warmstart:resnet_post]" \
      paths.cache_dir="$CACHE" output_dir="$OUT/ens_s$s" > "$OUT/ens_s$s.log" 2>&1
  done
  score score_seeds "default_s1=$OUT/fp32_s1/checkpoints/last.ckpt" "ensemble_s1=$OUT/ens_s1/ensemble.pt" \
    "default_s2=$OUT/fp32_s2/checkpoints/last.ckpt" "ensemble_s2=$OUT/ens_s2/ensemble.pt"
  log "end seeds rc=$?" ;;
faceshifter_score)
  # the sixth family, retrained after the others: seed 0's rows on it alone (sbi and paste come along)
  log "start faceshifter_score"
  FAMS=("+lofo.families.faceshifter=[$OUT/faceshifter/checkpoints/kimg00001.008.ckpt,$OUT/faceshifter/checkpoints/last.ckpt]")
  score score_fs "default=$OUT/fp32_s0/checkpoints/last.ckpt" "ensemble=$OUT/ens/ensemble.pt" "post=$OUT/post.pt"
  log "end faceshifter_score rc=$?" ;;
*) echo "usage: run.sh jobs|post|ghost|simswap|faceshifter|ensemble|score|seeds|faceshifter_score"; exit 2 ;;
esac
