# The generator families of this folder (trained by train_families.sh into $X, default /tmp/x52):
# deepswap: the default main job (deepswap-lite, seed 0) at 2 and 4 kimg; ghost: experiment=ghost_swap
# seed 0 at 4, 8 and 12 kimg (one seed: the session had no time for seed 1); simswap / faceshifter:
# SimSwap- and FaceShifter-style at 1 and 2 kimg (seed 0), as in ../2026-12-05_detector_recipe.
X=${X:-/tmp/x52}
FAMS=(
 "+lofo.families.deepswap=[$X/deepswap_s0/checkpoints/kimg00002.000.ckpt,$X/deepswap_s0/checkpoints/last.ckpt]"
 "+lofo.families.ghost=[$X/ghost_s0/checkpoints/kimg00004.000.ckpt,$X/ghost_s0/checkpoints/kimg00008.000.ckpt,$X/ghost_s0/checkpoints/last.ckpt]"
 "+lofo.families.simswap=[$X/simswap_s0/checkpoints/kimg00001.008.ckpt,$X/simswap_s0/checkpoints/last.ckpt]"
 "+lofo.families.faceshifter=[$X/faceshifter_s0/checkpoints/kimg00001.008.ckpt,$X/faceshifter_s0/checkpoints/last.ckpt]"
)
