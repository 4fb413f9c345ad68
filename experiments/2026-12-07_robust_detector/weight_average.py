"""The co-trained detectors of two main-job checkpoints averaged weight by weight (a model-soup probe):

    python weight_average.py A/checkpoints/last.ckpt B/checkpoints/last.ckpt /tmp/x160/avg.pt
    CODE=... X=/tmp/x160 bash score.sh avg avg=/tmp/x160/avg.pt    # -> results/score_weight_average_lofo.md

Floating-point tensors (weights and BatchNorm statistics) are averaged 50/50; integer counters are A's.
The file is saved flip-averaged (tta=flip), like the main job's detector.
"""

import sys

from deepswap.detection.arms_race import final_detector
from deepswap.detection.networks import unwrap_tta
from deepswap.detection.train_detector import save_detector
from deepswap.inference.model import read_checkpoint


def main(path_a: str, path_b: str, out: str) -> None:
    a, b = unwrap_tta(final_detector(path_a)), unwrap_tta(final_detector(path_b))
    sa, sb = a.state_dict(), b.state_dict()
    a.load_state_dict({k: (0.5 * sa[k] + 0.5 * sb[k]) if sa[k].is_floating_point() else sa[k] for k in sa})
    net_config = dict(read_checkpoint(path_a)["deepswap"]["config"]["detector"]["net"])
    save_detector(out, a, net_config, 0, size=64, tta="flip")
    print(f"saved {out}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
