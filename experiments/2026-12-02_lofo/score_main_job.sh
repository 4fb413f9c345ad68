source "$(cd "$(dirname "$0")" && pwd)/families.sh"  # before any cd
cd /tmp
PYTHONPATH=/tmp/wtT /work/main/.venv/bin/python -m deepswap.detect lofo lofo.folds=false lofo.probe=null "${FAMS[@]}" \
 "+lofo.score.main_job_8kimg_recipe_v2=/tmp/r11main2/checkpoints/last.ckpt" output_dir=/tmp/lofo/main_v2 > /tmp/lofo/main_v2.log 2>&1
