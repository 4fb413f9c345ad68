# The generator families of this folder, each seed 0, as in ../2026-12-05_paste_column/families.sh:
# deepswap: the default main job at 2 and 4 kimg (../2026-12-06_identity_scramble, /tmp/x90);
# ghost: experiment=ghost_swap at 4, 8 and 12 kimg (../2026-12-07_ghost_plateau, /tmp/x100);
# simswap / faceshifter: SimSwap- and FaceShifter-style at 1 and 2 kimg (train_families.sh, /tmp/x130).
X90=${X90:-/tmp/x90}; X100=${X100:-/tmp/x100}; X130=${X130:-/tmp/x130}
FAMS=(
 "+lofo.families.deepswap=[$X90/deepswap_s0/checkpoints/kimg00002.000.ckpt,$X90/deepswap_s0/checkpoints/last.ckpt]"
 "+lofo.families.ghost=[$X100/ghost_swap_12k/checkpoints/kimg00004.000.ckpt,$X100/ghost_swap_12k/checkpoints/kimg00008.000.ckpt,$X100/ghost_swap_12k/checkpoints/last.ckpt]"
 "+lofo.families.simswap=[$X130/simswap_s0/checkpoints/kimg00001.008.ckpt,$X130/simswap_s0/checkpoints/last.ckpt]"
 "+lofo.families.faceshifter=[$X130/faceshifter_s0b/checkpoints/kimg00001.008.ckpt,$X130/faceshifter_s0b/checkpoints/last.ckpt]"
)
