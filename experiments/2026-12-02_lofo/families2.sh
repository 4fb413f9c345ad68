# The LOFO generator families of the third session (the first ones' /tmp folders were lost with their
# machine): train_families.sh runs in /tmp/fam and the arms-race runs (../2026-12-02_arms_race) in /tmp/arms.
F=/tmp/fam
A=/tmp/arms
FAMS=(
 "+lofo.families.deepswap=[$A/observer_s0/checkpoints/last.ckpt,$A/observer_s1/checkpoints/last.ckpt,$A/adversarial_s0/checkpoints/last.ckpt,$A/adversarial_s1/checkpoints/last.ckpt]"
 "+lofo.families.simswap=[$F/simswap_s0/checkpoints/kimg00001.008.ckpt,$F/simswap_s0/checkpoints/last.ckpt,$F/simswap_s1/checkpoints/last.ckpt]"
 "+lofo.families.faceshifter=[$F/faceshifter_s0/checkpoints/kimg00001.008.ckpt,$F/faceshifter_s0/checkpoints/last.ckpt,$F/faceshifter_s1/checkpoints/last.ckpt]"
)
