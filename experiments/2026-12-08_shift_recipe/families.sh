# x170's families: deepswap = the default main job, 3 seeds (fp32_s0-2) at 2 and 4 kimg; ghost = experiment=ghost_swap at
# 2 and 4 kimg; simswap / faceshifter at 1 and 2 kimg.
X=${X170:-/tmp/x170}
FAMS=(
 "+lofo.families.deepswap=[$X/fp32_s0/checkpoints/kimg00002.000.ckpt,$X/fp32_s0/checkpoints/last.ckpt,$X/fp32_s1/checkpoints/kimg00002.000.ckpt,$X/fp32_s1/checkpoints/last.ckpt,$X/fp32_s2/checkpoints/kimg00002.000.ckpt,$X/fp32_s2/checkpoints/last.ckpt]"
 "+lofo.families.ghost=[$X/ghost/checkpoints/kimg00002.000.ckpt,$X/ghost/checkpoints/last.ckpt]"
 "+lofo.families.simswap=[$X/simswap/checkpoints/kimg00001.008.ckpt,$X/simswap/checkpoints/last.ckpt]"
 "+lofo.families.faceshifter=[$X/faceshifter/checkpoints/kimg00001.008.ckpt,$X/faceshifter/checkpoints/last.ckpt]"
)
