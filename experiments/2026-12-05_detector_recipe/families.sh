# The LOFO generator families of 2026-12-05 (runs in $X, default /tmp/x30; train_lane1.sh and train_lane2.sh make them).
# deepswap: the default main job (deepswap-lite, 4 kimg); ghost: experiment=ghost_swap (GHOST 3M + pose loss,
# the generator that swaps identity: 44% ID top-1 at 12 kimg), seed 0 at 4, 8 and 12 kimg and seed 1 at 12;
# simswap / faceshifter: SimSwap- and FaceShifter-style at 1 and 2 kimg (seed 0).
X=${X:-/tmp/x30}
FAMS=(
 "+lofo.families.deepswap=[$X/deepswap_s0/checkpoints/kimg00002.000.ckpt,$X/deepswap_s0/checkpoints/last.ckpt]"
 "+lofo.families.ghost=[$X/ghost_s0/checkpoints/kimg00004.000.ckpt,$X/ghost_s0/checkpoints/kimg00008.000.ckpt,$X/ghost_s0/checkpoints/last.ckpt,$X/ghost_s1/checkpoints/last.ckpt]"
 "+lofo.families.simswap=[$X/simswap_s0/checkpoints/kimg00001.008.ckpt,$X/simswap_s0/checkpoints/last.ckpt]"
 "+lofo.families.faceshifter=[$X/faceshifter_s0/checkpoints/kimg00001.008.ckpt,$X/faceshifter_s0/checkpoints/last.ckpt]"
)
