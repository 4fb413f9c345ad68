# The LOFO generator families (sourced by run_lofo.sh, run_lofo_variants.sh, score_main_job.sh):
# checkpoints of train_families.sh (/tmp/fam) and of the issue-10 main-job runs (/tmp/r10*).
F=/tmp/fam
FAMS=(
 "+lofo.families.deepswap=[/tmp/r10long/checkpoints/last.ckpt,/tmp/r10d_s1/checkpoints/last.ckpt,/tmp/r10d_s2/checkpoints/kimg00004.000.ckpt,/tmp/r10warp/checkpoints/last.ckpt]"
 "+lofo.families.simswap=[$F/simswap_s0/checkpoints/kimg00001.008.ckpt,$F/simswap_s0/checkpoints/last.ckpt,$F/simswap_s1/checkpoints/last.ckpt]"
 "+lofo.families.faceshifter=[$F/faceshifter_s0/checkpoints/kimg00001.008.ckpt,$F/faceshifter_s0/checkpoints/last.ckpt,$F/faceshifter_s1/checkpoints/last.ckpt]"
)
