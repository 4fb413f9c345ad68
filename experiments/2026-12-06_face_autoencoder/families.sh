# The deepswap family only (the default main job, seed 0, at 2 and 4 kimg), trained into $X (default /tmp/x90) by
#   CODE=<frozen worktree> bash ../2026-12-06_warp_only/run_lane.sh $X deepswap_s0 seed=0
X=${X:-/tmp/x90}
FAMS=(
 "+lofo.families.deepswap=[$X/deepswap_s0/checkpoints/kimg00002.000.ckpt,$X/deepswap_s0/checkpoints/last.ckpt]"
)
