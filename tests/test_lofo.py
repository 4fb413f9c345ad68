"""Leave-one-family-out: generator-free fakes, families, the bootstrap, the folds, the rounding everywhere."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.detection.crossplay import crossplay_matrix
from deepswap.detection.data import family_of, synthetic_split, world_pairs
from deepswap.detection.lofo import PSEUDO_PREFIX, fold_families, lofo, subset, to_markdown
from deepswap.detection.manipulations import (
    align_matrix,
    autoencoder_fakes,
    face_autoencoder_fakes,
    paste_swap,
    tint_fakes,
)
from deepswap.detection.metrics import bootstrap_detection, roc_auc
from deepswap.detection.networks import FlipAverage, with_tta
from deepswap.detection.postprocess import quantize
from deepswap.detection.train_detector import (
    WeightAverage,
    check_ema,
    check_hflip,
    fit,
    load_detector,
    random_hflip,
)

SIZE = 32


@pytest.fixture(scope="module")
def world():
    return SyntheticFaceWorld(num_train_identities=40, num_heldout_identities=20, seed=0)


@pytest.fixture(scope="module")
def pairs(world):
    return world_pairs(world, "val", 8, SIZE, 0)


def on_grid(x: torch.Tensor) -> bool:
    v = (x + 1) * 127.5
    return bool(torch.allclose(v, v.round(), atol=1e-3))


def test_align_matrix_recovers_a_similarity():
    src = np.array([[10, 12], [22, 12], [16, 18], [11, 24], [21, 24]], float)
    a, c, s = 0.3, 1.2 * np.cos(0.3), 1.2 * np.sin(0.3)
    dst = src @ np.array([[c, s], [-s, c]]) + np.array([3.0, -2.0])
    m = align_matrix(src, dst)
    assert np.allclose(np.c_[src, np.ones(5)] @ m.T, dst, atol=1e-4), a


@pytest.mark.parametrize("blend", ["alpha", "poisson"])
def test_paste_changes_the_face_and_keeps_the_background(pairs, blend):
    t, s = pairs["target"], pairs["source"]
    keys = ("target_mask", "source_mask", "target_landmarks", "source_landmarks")
    fake = paste_swap(t, s, *(pairs[k] for k in keys), blend=blend, colour_transfer=False, seed=0)
    assert fake.shape == t.shape and on_grid(fake)
    face = pairs["target_mask"] > 0.9
    outside = torch.nn.functional.max_pool2d(pairs["target_mask"], 5, 1, 2) == 0
    diff = (fake - t).abs().mean(1, keepdim=True)
    # another identity's face is in (Poisson keeps the target's flat colours: only edges move)
    assert diff[face].mean() > (0.05 if blend == "alpha" else 0.01)
    if blend == "alpha":
        assert diff[outside].max() == 0  # alpha leaves every pixel off the face exactly as it was
    else:
        assert diff[outside].mean() < 0.25 * diff[face].mean()


def test_colour_transfer_moves_the_face_colour_to_the_target(pairs):
    keys = ("target_mask", "source_mask", "target_landmarks", "source_landmarks")
    args = (pairs["target"], pairs["source"], *(pairs[k] for k in keys))
    plain = paste_swap(*args, blend="alpha", colour_transfer=False, seed=0)
    moved = paste_swap(*args, blend="alpha", colour_transfer=True, seed=0)
    face = (pairs["target_mask"] > 0.9).expand_as(plain)

    def mean_colour(x, i):
        return x[i][face[i]].view(3, -1).mean(1)

    def gap(x):  # per image: distance of the face's mean colour from the target's
        t = pairs["target"]
        return torch.stack([(mean_colour(x, i) - mean_colour(t, i)).norm() for i in range(len(x))])

    assert gap(moved).mean() < 0.6 * gap(plain).mean()


def test_autoencoder_pseudo_fakes_regenerate_every_pixel(pairs):
    x = pairs["target"]
    a = autoencoder_fakes(x, ("nearest", "transposed"), steps=5, width=4, seed=0)
    b = autoencoder_fakes(x, ("nearest", "transposed"), steps=5, width=4, seed=0)
    assert a.shape == x.shape and on_grid(a) and torch.equal(a, b)
    assert ((a - x).abs().mean(1) > 0).float().mean() > 0.9


def test_face_autoencoder_pseudo_fakes_regenerate_the_face_only(pairs):
    x, mask = pairs["target"], pairs["target_mask"]
    a = face_autoencoder_fakes(x, mask, seed=0, upsamplers=("bilinear",), steps=5, width=4)
    assert a.shape == x.shape and on_grid(a)
    assert torch.equal(a, face_autoencoder_fakes(x, mask, seed=0, upsamplers=("bilinear",), steps=5, width=4))
    changed = (a - x).abs().amax(1, keepdim=True) > 1e-3
    far = torch.nn.functional.max_pool2d(mask.float(), 2 * 6 + 1, 1, 6) < 0.5  # beyond dilation + blur
    inside = mask > 0.5
    assert changed[inside].float().mean() > 0.8  # the face is re-synthesised
    assert changed[far].float().mean() < 0.05  # the frame away from it is the real's
    with pytest.raises(ValueError, match="face mask"):
        face_autoencoder_fakes(x, mask[:, :, :8], seed=0)


def test_tint_pseudo_fakes_drift_the_face_colour_by_a_few_grey_levels(pairs):
    x, mask = pairs["target"], pairs["target_mask"]
    a = tint_fakes(x, mask, seed=0, max_levels=(4.0, 8.0))
    assert (
        a.shape == x.shape
        and on_grid(a)
        and torch.equal(a, tint_fakes(x, mask, seed=0, max_levels=(4.0, 8.0)))
    )
    levels = (a - x).abs() * 127.5  # grey levels
    far = torch.nn.functional.max_pool2d(mask.float(), 2 * 6 + 1, 1, 6) < 0.5
    assert levels.amax() <= 8.5 and levels.amax((1, 2, 3)).min() >= 1.0  # every face drifted, none by more
    assert levels.mean(1, keepdim=True)[far].max() == 0  # the frame away from the face is untouched
    with pytest.raises(ValueError, match="max_levels"):
        tint_fakes(x, mask, max_levels=(0.0, 2.0))


def test_bootstrap_intervals():
    y = np.r_[np.zeros(200), np.ones(300)]
    perfect = bootstrap_detection(y, y + 0.0, resamples=100)
    assert perfect["auc"] == perfect["auc_lo"] == perfect["auc_hi"] == 1.0 and perfect["tpr_lo"] == 1.0
    s = np.random.default_rng(0).normal(size=500)
    chance = bootstrap_detection(y, s, resamples=200)
    assert chance["auc_lo"] < 0.5 < chance["auc_hi"] and chance["auc_hi"] - chance["auc_lo"] < 0.2
    assert chance["n_real"] == 200 and chance["n_fake"] == 300
    assert chance["auc"] == pytest.approx(roc_auc(y, s))


def test_a_family_shares_its_fakes_among_its_members(world):
    def bright(t, s):
        return (t + 0.5).clamp(-1, 1)

    def dark(t, s):
        return (t - 0.5).clamp(-1, 1)

    frames = synthetic_split(world, "train", 6, SIZE, {"gen": [bright, dark], "sbi": "sbi"}, seed=0)
    fams = [family_of(f) for f in frames.frames]
    assert fams.count("real") == fams.count("gen") == fams.count("sbi") == 6
    fakes = [frames[i]["image"] for i, f in enumerate(fams) if f == "gen"]
    reals = [frames[i]["image"] for i, f in enumerate(fams) if f == "real"]
    signs = [float((f - r).mean()) > 0 for f, r in zip(fakes, reals)]
    assert signs == [True, False] * 3  # member k makes the fakes of pairs k, k + K, ...
    only = subset(frames, {"sbi"})
    assert {family_of(f) for f in only.frames} == {"real", "sbi"} and len(only) == 12


def test_every_generator_free_kind_makes_frames(world, monkeypatch):
    import functools

    import deepswap.detection.data as data
    from deepswap.detection.data import GENERATOR_FREE

    # brief autoencoders: the test is the plumbing
    for name in ("autoencoder_fakes", "face_autoencoder_fakes"):
        monkeypatch.setattr(data, name, functools.partial(getattr(data, name), steps=5, width=4))

    kinds = [k for k in GENERATOR_FREE if k != "sbi"]  # sbi frames are made on the fly (tested elsewhere)
    assert {"autoencoder", "autoencoder_face", "tint"} <= set(GENERATOR_FREE)
    frames = synthetic_split(world, "val", 2, SIZE, {k: k for k in kinds}, seed=0)
    fams = [family_of(f) for f in frames.frames]
    real = torch.stack([frames[i]["image"] for i, f in enumerate(fams) if f == "real"]).float()
    for k in kinds:
        fake = torch.stack([frames[i]["image"] for i, f in enumerate(fams) if f == k]).float()
        assert fake.shape == real.shape and (fake - real).abs().amax() > 0, k


def test_self_blend_options_reach_the_frames_and_survive_a_subset(world):
    from deepswap.detection.sbi import check_sbi_options

    plain = synthetic_split(world, "val", 4, SIZE, {"sbi": "sbi"}, sbi_options={"frequency": 0.0})
    jitter = synthetic_split(world, "val", 4, SIZE, {"sbi": "sbi"}, sbi_options={"frequency": 1.0})
    assert torch.equal(plain[0]["image"], jitter[0]["image"])  # reals: same
    assert not torch.equal(plain[4]["image"], jitter[4]["image"])  # self-blends: the option shows
    assert subset(jitter, {"sbi"}).sbi_options == {"frequency": 1.0}
    with pytest.raises(ValueError, match="unknown self-blend option.*valid"):
        check_sbi_options({"freq": 0.5})
    with pytest.raises(ValueError, match="probability"):
        check_sbi_options({"frequency": 2})


def test_a_pseudo_fake_leaves_the_fold_that_holds_its_kind_out():
    families = {"sbi": ["sbi"], "paste": ["paste_alpha"], "gen": ["a.ckpt"]}
    pseudo = ["sbi", "autoencoder"]
    assert fold_families(families, pseudo, "sbi") == {"paste", "gen", PSEUDO_PREFIX + "autoencoder"}
    assert fold_families(families, pseudo, "gen") == {"sbi", "paste", *(PSEUDO_PREFIX + p for p in pseudo)}


def test_lofo_end_to_end(world, tmp_path):
    families = {"sbi": ["sbi"], "paste": ["paste_alpha", "paste_poisson_ct"]}
    result = lofo(
        world, families, {"_target_": "deepswap.detection.SmallDetector", "width": 4}, tmp_path, SIZE,
        {"train": 32, "val": 16, "test": 24}, ["sbi"], {"steps": 4, "batch_size": 16, "eval_every": 2},
        probe={"arch": "resnet18"}, resamples=20,
    )  # fmt: skip
    assert result["detector"]["sbi"]["train_families"] == ["paste"]  # no self-blends when SBI is held out
    assert result["detector"]["paste"]["train_families"] == ["pseudo:sbi", "sbi"]
    for rows in (result["detector"], result["probe"]):
        for fam in families:
            r = rows[fam]
            assert r["n_real"] == 24 and r["n_fake"] == 24 and r["auc_lo"] <= r["auc"] <= r["auc_hi"]
    saved = json.loads((tmp_path / "lofo.json").read_text())
    assert saved["families"] == families
    table = to_markdown(saved)
    assert "| held-out family | sbi | paste |" in table and "linear probe AUC" in table
    assert (tmp_path / "holdout_paste" / "test_frames.csv").is_file()


def test_crossplay_scores_8_bit_images_for_both_classes():
    seen = []

    class Record(nn.Module):
        def forward(self, x):
            seen.append(x)
            return x.mean((1, 2, 3))

    reals = torch.rand(4, 3, 8, 8) * 2 - 1  # off the grid
    fakes = torch.rand(4, 3, 8, 8) * 2 - 1
    crossplay_matrix({"d": Record()}, {"g": fakes}, reals, {"target": reals, "source": reals})
    assert len(seen) == 2 and all(on_grid(x) for x in seen)
    assert torch.equal(seen[0], quantize(reals))


def test_lofo_notebook_plots_a_result(world, tmp_path, monkeypatch):
    from conftest import execute_notebook

    families = {"sbi": ["sbi"], "paste": ["paste_alpha"]}
    lofo(world, families, {"_target_": "deepswap.detection.SmallDetector", "width": 4}, tmp_path, SIZE,
         {"train": 16, "val": 16, "test": 16}, [], {"steps": 2, "batch_size": 8, "eval_every": 2},
         resamples=10)  # fmt: skip
    monkeypatch.setenv("DEEPSWAP_LOFO", str(tmp_path))
    outputs = execute_notebook("05_lofo.ipynb")
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert any(o.get("output_type") == "display_data" for o in outputs), "no plot"
    assert any("| held-out family | sbi | paste |" in o.get("text", "") for o in outputs)


def test_member_rows_split_a_family_by_pair_index():
    from deepswap.detection.lofo import member_rows

    labels = np.r_[np.zeros(6), np.ones(6)]
    videos = [f"synthetic/test/{kind}/{i:06d}" for kind in ("real", "g") for i in range(6)]
    scores = np.r_[np.zeros(6), [5.0, -5.0] * 3]  # member a (even pairs) caught, member b (odd) missed
    rows = member_rows(labels, scores, videos, ["a", "b"], 0.01, 20, 0)
    assert rows["a"]["auc"] == 1.0 and rows["b"]["auc"] == 0.0 and rows["a"]["n_fake"] == 3


def test_scoring_a_given_detector_on_every_family_without_training(world, tmp_path):
    from hydra.utils import instantiate

    from deepswap.detection.train_detector import save_detector

    net_cfg = {"_target_": "deepswap.detection.SmallDetector", "width": 4}
    net = instantiate(net_cfg)
    save_detector(tmp_path / "det.pt", net, net_cfg, 0, size=SIZE)
    families = {"sbi": ["sbi"], "paste": ["paste_alpha"]}
    result = lofo(world, families, net_cfg, tmp_path / "out", SIZE, {"train": 8, "val": 8, "test": 16},
                  score={"mine": str(tmp_path / "det.pt")}, folds=False, resamples=10)  # fmt: skip
    assert result["detector"] == {} and result["probe"] is None
    assert set(result["scored"]["mine"]) == {"sbi", "paste"}
    assert all(r["n_real"] == 16 and r["n_fake"] == 16 for r in result["scored"]["mine"].values())
    assert not (tmp_path / "out" / "holdout_sbi").exists()
    assert "mine (as trained) AUC" in to_markdown(result)
    rows = (tmp_path / "out" / "scored_mine.csv").read_text().splitlines()
    assert rows[0] == "video,path,frame,label,score" and len(rows) == 1 + 16 + 2 * 16  # reals + 2 families
    flip = lofo(world, families, net_cfg, tmp_path / "tta", SIZE, {"train": 8, "val": 8, "test": 16},
                score={"mine": str(tmp_path / "det.pt")}, folds=False, resamples=10,
                fit_kwargs={"tta": "flip"})  # fmt: skip
    single = (tmp_path / "tta" / "scored_mine_single_pass.csv").read_text()
    assert single == (tmp_path / "out" / "scored_mine.csv").read_text(), "the same frames, scored once"
    assert (tmp_path / "tta" / "scored_mine.csv").read_text() != single
    assert flip["scored"]["mine"]["sbi"]["auc"] != result["scored"]["mine"]["sbi"]["auc"]
    # a file saved flip-averaged scores flip-averaged, and its control is still a true single pass
    save_detector(tmp_path / "det_tta.pt", net, net_cfg, 0, size=SIZE, tta="flip")
    lofo(world, families, net_cfg, tmp_path / "file_tta", SIZE, {"train": 8, "val": 8, "test": 16},
         score={"mine": str(tmp_path / "det_tta.pt")}, folds=False, resamples=10)  # fmt: skip
    assert (tmp_path / "file_tta" / "scored_mine_single_pass.csv").read_text() == single
    flipped = (tmp_path / "tta" / "scored_mine.csv").read_text()
    assert (tmp_path / "file_tta" / "scored_mine.csv").read_text() == flipped


def test_scored_detectors_are_also_scored_under_fixed_post_processing_of_both_classes(world, tmp_path):
    """lofo.conditions: the make-train detector's AUC on every family with every test frame blurred,
    resized or recompressed alike (robustness on families it never saw, not only on its own swaps)."""
    from hydra.utils import instantiate

    from deepswap.detection.postprocess import gaussian_blur, quantize
    from deepswap.detection.robustness import Condition, Degraded, parse_condition
    from deepswap.detection.train_detector import save_detector

    assert parse_condition("blur_1") == Condition("blur", 1.0) and parse_condition("clean") == Condition(
        "clean"
    )
    assert parse_condition("resize_0.75").name == "resize_0.75" and parse_condition("jpeg_50").value == 50
    for bad in ("blurr_1", "blur", "blur_x", "jpeg_0", "resize_1.5", "clean_1"):
        with pytest.raises(ValueError, match="condition"):
            parse_condition(bad)
    net_cfg = {"_target_": "deepswap.detection.SmallDetector", "width": 4}
    torch.manual_seed(0)
    net = instantiate(net_cfg).eval()
    x = quantize(torch.rand(2, 3, SIZE, SIZE) * 2 - 1)
    with torch.no_grad():
        torch.testing.assert_close(
            Degraded(net, Condition("blur", 1.0))(x), net(quantize(gaussian_blur(x, 1.0)))
        )
    save_detector(tmp_path / "det.pt", net, net_cfg, 0, size=SIZE)
    families = {"sbi": ["sbi"], "paste": ["paste_alpha"]}
    kw = dict(pairs={"train": 8, "val": 8, "test": 16}, score={"mine": str(tmp_path / "det.pt")}, folds=False,
              resamples=10)  # fmt: skip
    with pytest.raises(ValueError, match="unknown post-processing condition 'blur1'"):
        lofo(world, families, net_cfg, tmp_path / "bad", SIZE, conditions=["blur1"], **kw)
    assert not (tmp_path / "bad").exists(), "refused before any work"
    result = lofo(world, families, net_cfg, tmp_path / "out", SIZE, conditions=["clean", "blur_1"], **kw)
    assert set(result["scored"]) == {"mine", "mine@clean", "mine@blur_1"}
    assert all(set(rows) == {"sbi", "paste"} for rows in result["scored"].values())
    out = tmp_path / "out"
    plain = (out / "scored_mine.csv").read_text()
    assert (out / "scored_mine@clean.csv").read_text() == plain, "8-bit frames: clean changes nothing"
    assert (out / "scored_mine@blur_1.csv").read_text() != plain
    assert "mine@blur_1 (as trained) AUC" in (out / "lofo.md").read_text()
    # with flip TTA the post-processed rows are flip-averaged too (once), so clean still matches exactly
    lofo(
        world,
        families,
        net_cfg,
        tmp_path / "tta",
        SIZE,
        conditions=["clean"],
        fit_kwargs={"tta": "flip"},
        **kw,
    )
    flipped = (tmp_path / "tta" / "scored_mine.csv").read_text()
    assert flipped != plain and (tmp_path / "tta" / "scored_mine@clean.csv").read_text() == flipped


def test_pseudo_share_weights_keep_the_pseudo_fakes_share_whatever_the_families():
    from deepswap.detection.data import Frame, FrameSet
    from deepswap.detection.train_detector import pseudo_share_weights

    def frames(counts: dict[str, int]) -> FrameSet:
        out = []
        for name, n in counts.items():
            label = 0 if name == "real" else 1
            out += [Frame("memory:x", i, label, f"synthetic/train/{name}/{i:06d}") for i in range(n)]
        return FrameSet(out, SIZE, {}, {})

    fs = frames(
        {"real": 12, "pseudo:sbi": 12, "pseudo:autoencoder": 12, "ghost": 12, "simswap": 12, "paste": 12}
    )
    w = pseudo_share_weights(fs, {"pseudo:sbi", "pseudo:autoencoder"}, 0.6)
    fam = np.array([family_of(f) for f in fs.frames])
    mass = {k: float(w[torch.from_numpy(fam == k)].sum()) for k in set(fam)}
    assert mass["real"] == pytest.approx(0.5)
    assert mass["pseudo:sbi"] + mass["pseudo:autoencoder"] == pytest.approx(0.3)  # 0.6 of the fakes' half
    assert mass["ghost"] + mass["simswap"] + mass["paste"] == pytest.approx(0.2)
    assert mass["ghost"] == pytest.approx(mass["paste"])  # equal within a group
    # unweighted, the two pseudo-fake families would be 2/5 of the fakes
    only_pseudo = frames({"real": 4, "pseudo:sbi": 4})
    assert float(pseudo_share_weights(only_pseudo, {"pseudo:sbi"}, 0.6)[4:].sum()) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="pseudo_share is a share"):
        pseudo_share_weights(fs, {"pseudo:sbi"}, 1.0)


def test_lofo_runs_only_the_folds_asked_for_with_the_pseudo_share(world, tmp_path):
    families = {"sbi": ["sbi"], "paste": ["paste_alpha"], "other": ["paste_poisson"]}
    result = lofo(
        world, families, {"_target_": "deepswap.detection.SmallDetector", "width": 4}, tmp_path, SIZE,
        {"train": 16, "val": 8, "test": 8}, ["autoencoder"],
        {"steps": 2, "batch_size": 8, "eval_every": 2, "pseudo_share": 0.5}, resamples=10, holdout=["paste"],
    )  # fmt: skip
    assert set(result["detector"]) == {"paste"}
    assert result["detector"]["paste"]["train_families"] == ["other", "pseudo:autoencoder", "sbi"]
    assert not (tmp_path / "holdout_sbi").exists()
    with pytest.raises(ValueError, match="not families"):
        lofo(
            world, families, {"_target_": "deepswap.detection.SmallDetector"}, tmp_path, SIZE, holdout=["gan"]
        )


def test_weight_average_lerps_floats_copies_counters_and_rejects_bad_decays():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    average = WeightAverage(net, 0.1)  # below the warm-up's 2/11 at the first update: 0.1 applies
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)
    net.train()(torch.randn(4, 2))  # moves the running stats, counts a batch
    average.update(net)
    live = net.state_dict()
    for name, avg in average.model.state_dict().items():
        if avg.dtype.is_floating_point:
            assert torch.allclose(avg, 0.1 * before[name] + 0.9 * live[name]), name
        else:
            assert torch.equal(avg, live[name]), name
    assert not average.model.training
    # warm-up: a 0.999 decay starts at 2/11, so the average does not cling to the initialisation
    slow = WeightAverage(nn.Linear(1, 1, bias=False), 0.999)
    one = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        slow.model.weight.fill_(0.0)
        one.weight.fill_(1.0)
    slow.update(one)
    assert torch.allclose(slow.model.weight, torch.tensor([[9 / 11]]))
    for bad in (0.0, 1.0, 1.5, True, "0.99"):
        with pytest.raises(ValueError, match="ema"):
            check_ema(bad)
    assert check_ema(None) is None and check_ema(0.999) == 0.999


def test_fit_with_ema_selects_and_saves_the_averaged_weights(world, tmp_path):
    fakes = {"pseudo:sbi": "sbi"}
    train = synthetic_split(world, "train", 16, SIZE, fakes, 0)
    val = synthetic_split(world, "val", 8, SIZE, fakes, 0)
    config = {"_target_": "deepswap.detection.SmallDetector", "width": 4}
    saved, live = {}, {}
    for ema in (None, 0.5):
        torch.manual_seed(0)
        net = instantiate(OmegaConf.create(config))
        out = tmp_path / str(ema)
        fit(net, train, val, out, config, steps=3, batch_size=8, lr=1e-2, eval_every=3, ema=ema)
        saved[ema] = load_detector(out / "checkpoints" / "best.pt")[0].state_dict()
        live[ema] = net.state_dict()
    # the same seed trains the same live weights; only what is validated and saved differs
    assert all(torch.equal(live[None][k], live[0.5][k]) for k in live[None])
    assert all(torch.equal(saved[None][k], live[None][k]) for k in live[None])
    floats = [k for k, v in saved[0.5].items() if v.dtype.is_floating_point]
    moved = [k for k in floats if not torch.equal(saved[0.5][k], live[0.5][k])]
    assert moved, "with ema the saved detector must be the average, not the last iterate"


def test_random_hflip_flips_whole_images_of_either_class_and_is_off_at_zero():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2 * 1, 3, 4, 5).repeat(8, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    out = random_hflip(x, 0.5, g)
    flipped = [torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x)]
    kept = [torch.equal(o, xi) for o, xi in zip(out, x)]
    assert all(f != k for f, k in zip(flipped, kept)), "every image is either flipped whole or left alone"
    assert 0 < sum(flipped) < len(x)
    state = g.get_state()
    assert random_hflip(x, 0.0, g) is x and torch.equal(g.get_state(), state), "p=0 draws nothing"
    assert all(torch.equal(o, xi.flip(-1)) for o, xi in zip(random_hflip(x, 1.0, g), x))
    with pytest.raises(ValueError, match="hflip"):
        check_hflip(1.5)


def test_fit_with_hflip_trains_on_flipped_images(world, tmp_path):
    fakes = {"pseudo:sbi": "sbi"}
    train = synthetic_split(world, "train", 16, SIZE, fakes, 0)
    val = synthetic_split(world, "val", 8, SIZE, fakes, 0)
    config = {"_target_": "deepswap.detection.SmallDetector", "width": 4}
    live = {}
    for p in (0.0, 1.0):
        torch.manual_seed(0)
        net = instantiate(OmegaConf.create(config))
        fit(net, train, val, tmp_path / str(p), config, steps=2, batch_size=8, lr=1e-2, eval_every=2, hflip=p)
        live[p] = net.state_dict()
    assert any(not torch.equal(live[0.0][k], live[1.0][k]) for k in live[0.0])


def test_flip_tta_scores_the_mean_logit_of_each_frame_and_its_mirror(world, tmp_path):
    from deepswap.detection.train_detector import run, score

    frames = synthetic_split(world, "val", 8, SIZE, {"pseudo:sbi": "sbi"}, 0)
    torch.manual_seed(0)
    net = instantiate(OmegaConf.create({"_target_": "deepswap.detection.SmallDetector", "width": 4}))

    class Mirrored(nn.Module):
        def forward(self, x):
            return net(x.flip(-1))

    plain, mirrored = score(net, frames).scores, score(Mirrored(), frames).scores
    assert not np.allclose(plain, mirrored), "the check needs a detector that is not left-right symmetric"
    np.testing.assert_allclose(score(net, frames, tta="flip").scores, 0.5 * (plain + mirrored), atol=1e-5)
    with pytest.raises(ValueError, match="tta"):
        score(net, frames, tta="rotate")
    # the protocol with tta: the detector file remembers it; the single-pass scores come as a paired control
    config = {"_target_": "deepswap.detection.SmallDetector", "width": 4}
    splits = {s: synthetic_split(world, s, 16 if s == "train" else 8, SIZE, {"pseudo:sbi": "sbi"}, 0)
              for s in ("train", "val", "test")}  # fmt: skip
    result = run(instantiate(OmegaConf.create(config)), config, splits.__getitem__, tmp_path, steps=2,
                 batch_size=8, eval_every=2, tta="flip")  # fmt: skip
    loaded, meta = load_detector(tmp_path / "checkpoints" / "best.pt")
    assert result["tta"] == "flip" and meta["tta"] == "flip" and isinstance(loaded, FlipAverage)
    assert with_tta(loaded, "flip") is loaded and with_tta(net, None) is net, "wrapping is idempotent"
    wrapped = score(with_tta(net, "flip"), frames).scores
    np.testing.assert_allclose(wrapped, 0.5 * (plain + mirrored), atol=1e-5)
    assert (tmp_path / "test_frames_single_pass.csv").is_file() and (tmp_path / "test_frames.csv").is_file()
