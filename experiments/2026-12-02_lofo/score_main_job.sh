cd /tmp
F=/tmp/fam
PYTHONPATH=/tmp/wtT /work/main/.venv/bin/python -m deepswap.detect lofo lofo.folds=false lofo.probe=null \
 "+lofo.families.deepswap=[/tmp/r10long/checkpoints/last.ckpt,/tmp/r10d_s1/checkpoints/last.ckpt,/tmp/r10d_s2/checkpoints/kimg00004.000.ckpt,/tmp/r10warp/checkpoints/last.ckpt]" \
 "+lofo.families.simswap=[$F/simswap_s0/checkpoints/kimg00001.008.ckpt,$F/simswap_s0/checkpoints/last.ckpt,$F/simswap_s1/checkpoints/last.ckpt]" \
 "+lofo.families.faceshifter=[$F/faceshifter_s0/checkpoints/kimg00001.008.ckpt,$F/faceshifter_s0/checkpoints/last.ckpt,$F/faceshifter_s1/checkpoints/last.ckpt]" \
 "+lofo.score.main_job_8kimg_recipe_v2=/tmp/r11main2/checkpoints/last.ckpt" output_dir=/tmp/lofo/main_v2 > /tmp/lofo/main_v2.log 2>&1
