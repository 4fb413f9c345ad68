"""Standalone detection: FF++ layout and splits, SBI, training protocol, predict CSV, ONNX, cross-play,
robustness. Everything at 32 px with SmallDetector."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepswap import detect
from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.detection import SmallDetector, aggregate_videos, gaussian_blur, jpeg
from deepswap.detection.crossplay import (
    as_swapper,
    crossplay_matrix,
    evasion_rates,
    load_snapshots,
)
from deepswap.detection.data import ffpp_split, quantize, scan_ffpp, synthetic_split, video_frames
from deepswap.detection.robustness import Condition, default_conditions, robustness_sweep, write_table
from deepswap.detection.train_detector import (
    fix_threshold,
    load_detector,
    run,
    save_detector,
    score,
)

SIZE = 32
WORLD = dict(num_train_identities=40, num_heldout_identities=20, seed=0)
SPLITS = {"train": [["000", "001"]], "val": [["002", "003"]], "test": [["004", "005"]]}


class Brightness(nn.Module):
    """A hand-made detector: logit = mean pixel value."""

    def forward(self, x):
        return x.mean((1, 2, 3))


class HighFrequency(nn.Module):
    """A hand-made detector: logit = mean |Laplacian| (noise raises it)."""

    def __init__(self, sign: float = 1.0):
        super().__init__()
        k = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).expand(3, 1, 3, 3)
        self.register_buffer("k", k.clone())
        self.sign = sign

    def forward(self, x):
        return self.sign * F.conv2d(x, self.k, groups=3).abs().mean((1, 2, 3))


def faces(n: int, seed: int, shift: int = 0) -> list[np.ndarray]:
    """``n`` synthetic 32 px faces as (H, W, 3) uint8 RGB; ``shift`` brightens them."""
    world = SyntheticFaceWorld(**WORLD)
    ids = torch.stack([world.identity_factors((seed + i) % 40) for i in range(n)])
    attrs = torch.stack([world.attribute_factors("train", seed * 10 + i) for i in range(n)])
    img = (world.render(ids, attrs, SIZE).image.clamp(0, 1) * 255).round().to(torch.uint8)
    out = img.permute(0, 2, 3, 1).numpy().astype(np.int16) + shift
    return [np.ascontiguousarray(a.clip(0, 255).astype(np.uint8)) for a in out]


def write_frames(folder: Path, images: list[np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(images):
        cv2.imwrite(str(folder / f"{i:04d}.png"), cv2.cvtColor(im, cv2.COLOR_RGB2BGR))


def write_video(path: Path, images: list[np.ndarray]) -> bool:
    """MJPG .avi (this OpenCV writes it); False if the writer cannot open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (SIZE, SIZE))
    if not w.isOpened():
        return False
    for im in images:
        w.write(cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
    w.release()
    return True


@pytest.fixture(scope="module")
def ffpp(tmp_path_factory):
    """A tiny FF++ tree: originals 000-005 (005 a video), Deepfakes and FaceSwap (FaceSwap 005_004 a
    video; both methods have 000_001), a Deepfakes video 006_007 in no split, and split files."""
    root = tmp_path_factory.mktemp("ffpp")
    orig = root / "original_sequences/youtube/c23"
    for k in range(5):
        write_frames(orig / f"frames/{k:03d}", faces(3, k))
    ok = write_video(orig / "videos/005.avi", faces(4, 5))
    m = root / "manipulated_sequences"
    for name in ("000_001", "001_000", "002_003", "004_005", "006_007"):
        write_frames(m / f"Deepfakes/c23/frames/{name}", faces(3, 20, shift=60))
    for name in ("000_001", "003_002"):
        write_frames(m / f"FaceSwap/c23/frames/{name}", faces(3, 30, shift=-60))
    ok &= write_video(m / "FaceSwap/c23/videos/005_004.avi", faces(4, 31))
    if not ok:
        pytest.skip("this OpenCV cannot write MJPG .avi files")
    for split, pairs in SPLITS.items():
        (root / f"{split}.json").write_text(json.dumps(pairs))
    return root


def names(videos):
    return sorted(f"{v.method}/{v.name}" for v in videos)


def test_ffpp_layout_follows_the_official_pair_splits(ffpp):
    methods = ("Deepfakes", "FaceSwap")
    train = scan_ffpp(ffpp, "c23", methods, ffpp / "train.json")
    assert names(train) == [
        "Deepfakes/000_001",
        "Deepfakes/001_000",
        "FaceSwap/000_001",
        "original/000",
        "original/001",
    ]
    val = scan_ffpp(ffpp, "c23", methods, SPLITS["val"])  # the JSON's content works too
    assert names(val) == ["Deepfakes/002_003", "FaceSwap/003_002", "original/002", "original/003"]
    test = scan_ffpp(ffpp, "c23", methods, ffpp / "test.json")
    assert names(test) == ["Deepfakes/004_005", "FaceSwap/005_004", "original/004", "original/005"]
    assert {v.label for v in test if v.method == "original"} == {0}
    assert "Deepfakes/006_007" in names(scan_ffpp(ffpp, "c23", methods))  # no split: everything
    video = next(v for v in test if v.name == "005_004")
    frames, problem = video_frames(video, 2)
    assert problem is None and [f.frame for f in frames] == [0, 3]  # evenly spaced video frames
    with pytest.raises(Exception, match="holds no videos"):
        scan_ffpp(ffpp, "c40", methods)


def test_video_scores_keep_methods_with_the_same_basename_apart(ffpp):
    frames = ffpp_split(ffpp, ffpp / "train.json", SIZE, 0, methods=("Deepfakes", "FaceSwap"))
    s = score(Brightness(), frames, 8)
    assert s.n_unreadable == 0 and len(s.scores) == 5 * 3
    videos = aggregate_videos(s.videos, s.scores, s.labels)
    same = [v for v in videos if Path(v.path).name == "000_001"]
    assert len(videos) == 5 and len(same) == 2  # Deepfakes/000_001 and FaceSwap/000_001
    assert same[0].score != pytest.approx(same[1].score)  # bright vs dark fakes: not merged
    m = s.metrics(0.0)
    assert m["n_videos"] == 5 and "video_auc" in m and "acc_val" in m
    test = score(
        Brightness(), ffpp_split(ffpp, ffpp / "test.json", SIZE, 0, methods=("Deepfakes", "FaceSwap"))
    )
    assert len(test.scores) == 3 + 4 + 3 + 4  # frame folders and the two videos' frames


def test_sbi_pseudo_fakes_from_the_reals(ffpp):
    frames = ffpp_split(ffpp, ffpp / "val.json", SIZE, 0, fakes=["sbi"], methods=("Deepfakes",))
    labels = frames.labels
    assert (labels == 0).sum() == (labels == 1).sum() == 6  # manipulated videos left out; one SBI per real
    reals = {(f.path, f.frame): i for i, f in enumerate(frames.frames) if not f.sbi}
    j = next(i for i, f in enumerate(frames.frames) if f.sbi)
    fake, real = frames[j]["image"], frames[reals[(frames.frames[j].path, frames.frames[j].frame)]]["image"]
    assert fake.shape == (3, SIZE, SIZE) and not torch.equal(fake, real)
    assert torch.equal(quantize(fake), fake)  # on the 8-bit grid, like the reals
    assert torch.equal(frames[j]["image"], fake)  # val/test: fixed blends
    fresh = ffpp_split(
        ffpp, ffpp / "val.json", SIZE, 0, fakes=["sbi"], methods=("Deepfakes",), fresh_sbi=True
    )
    first = fresh[j]["image"]
    fresh.epoch += 1
    assert not torch.equal(fresh[j]["image"], first)  # training: a new blend every epoch
    assert frames.frames[j].video.endswith("#sbi")


def stripes(target, source):
    """A trivially detectable 'generator': the target with bright vertical stripes."""
    out = target.clone()
    out[..., ::4] = 1.0
    return out


def test_training_selects_on_val_and_touches_test_only_after(tmp_path):
    world = SyntheticFaceWorld(**WORLD)
    calls, seen_at_test = [], {}

    def split(name):
        calls.append(name)
        if name == "test":  # training and selection must be over by now
            seen_at_test["evals"] = len((tmp_path / "metrics.jsonl").read_text().splitlines())
            seen_at_test["best"] = (tmp_path / "checkpoints/best.pt").is_file()
        n = 96 if name == "train" else 32
        return synthetic_split(world, name, n, SIZE, {"stripes": stripes}, seed=1, fresh_sbi=name == "train")

    torch.manual_seed(0)
    net = SmallDetector(width=8)
    cfg = {"_target_": "deepswap.detection.networks.SmallDetector", "width": 8}
    res = run(
        net,
        cfg,
        split,
        tmp_path,
        "fpr",
        0.05,
        steps=24,
        batch_size=16,
        eval_every=6,
        lr=3e-3,
        meta={"size": SIZE},
    )
    assert calls == ["train", "val", "test"]
    assert seen_at_test == {"evals": 4 * 2, "best": True}  # 4 evaluations x (auc, eer) rows
    history = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    aucs = [(r["value"], -r["step"]) for r in history if r["metric"] == "val/auc"]
    best_value, neg_step = max(aucs)  # ties: the earliest step
    assert res["selection"] == {"best_step": -neg_step, "best": best_value}
    assert best_value > 0.9  # well above chance on a separable fake set
    net2, meta = load_detector(tmp_path / "checkpoints/best.pt")
    assert meta["step"] == -neg_step and meta["size"] == SIZE and meta["threshold"]["fixed_on"] == "val"
    val = score(net2, split("val"))
    assert res["threshold"]["value"] == pytest.approx(fix_threshold(val.labels, val.scores, "fpr", 0.05))
    assert "acc_val" in res["test"] and res["test"]["auc"] > 0.9
    assert (tmp_path / "results.json").is_file() and (tmp_path / "test_frames.csv").is_file()


def test_cli_config_trains_and_evaluates_sbi(tmp_path):
    small = [
        "data.size=32",
        "data.pairs.train=32",
        "data.pairs.val=16",
        "data.pairs.test=16",
        "train.batch_size=16",
    ]
    small += ["data.world.num_train_identities=20", "data.world.num_heldout_identities=10"]
    res = detect.train(
        small + ["train.steps=4", "train.eval_every=2", "threshold.rule=eer"], output_dir=tmp_path
    )
    assert res["threshold"]["rule"] == "eer" and 0 <= res["test"]["auc"] <= 1
    assert res["provenance"]["data"]["fakes"] == ["sbi"]
    ev = detect.evaluate(tmp_path / "checkpoints/best.pt", small, output_dir=tmp_path / "eval")
    assert ev["threshold"] == res["threshold"]  # the val threshold saved with best.pt
    assert ev["test"]["auc"] == pytest.approx(res["test"]["auc"])
    rb = detect.robustness(tmp_path / "checkpoints/best.pt", small, output_dir=tmp_path / "rob")
    assert list(rb["robustness"]) == [c.name for c in default_conditions()]
    assert rb["robustness"]["clean"]["auc"] == pytest.approx(res["test"]["auc"])  # same test split
    assert (tmp_path / "rob/robustness.md").is_file()
    for net in ("small", "xception", "efficientnet", "frequency"):
        for data in ("synthetic", "ffpp"):
            cfg = detect.compose_config("train", [f"detect_net={net}", f"detect_data={data}"])
            assert cfg.net._target_.startswith("deepswap.detection.networks.") and cfg.data.kind == data


def test_predict_reports_every_bad_input_and_aggregates_videos(tmp_path, capsys):
    good = faces(2, 3)
    folder = tmp_path / "in"
    write_frames(folder / "crops", good)
    (folder / "crops" / "broken.png").write_bytes(b"not a png")
    (folder / "broken.mp4").write_bytes(b"garbage" * 20)
    assert write_video(folder / "clip.avi", faces(4, 4))
    (folder / "empty").mkdir()
    ckpt = save_detector(
        tmp_path / "det.pt",
        SmallDetector(8),
        {"_target_": "deepswap.detection.SmallDetector", "width": 8},
        0,
        size=SIZE,
    )
    inputs = [
        folder / "crops",
        folder / "broken.mp4",
        folder / "clip.avi",
        folder / "empty",
        folder / "missing.png",
    ]
    detect._cli("predict", [str(ckpt), *map(str, inputs), "--out", str(tmp_path / "out"), "--topk", "2"])
    rows = list(csv.DictReader(open(tmp_path / "out/frames.csv")))
    status = {(Path(r["path"]).name, r["frame"]): r for r in rows}
    for name, st in [
        ("broken.png", "unreadable"),
        ("broken.mp4", "undecodable"),
        ("empty", "empty_folder"),
        ("missing.png", "missing"),
    ]:
        assert status[(name, "")]["status"] == st and status[(name, "")]["score"] == ""
    clip = [r for r in rows if r["path"].endswith("clip.avi")]
    assert [r["frame"] for r in clip] == ["0", "1", "2", "3"] and all(r["status"] == "ok" for r in clip)
    videos = {Path(r["path"]).name: r for r in csv.DictReader(open(tmp_path / "out/videos.csv"))}
    s = np.array([float(r["score"]) for r in clip])
    assert float(videos["clip.avi"]["mean"]) == pytest.approx(s.mean(), abs=1e-5)
    assert float(videos["clip.avi"]["max"]) == pytest.approx(s.max(), abs=1e-5)
    assert float(videos["clip.avi"]["topk"]) == pytest.approx(np.sort(s)[-2:].mean(), abs=1e-5)
    assert len(videos) == 7  # 2 crops, broken.png, broken.mp4, clip.avi, empty, missing.png

    class NoFaces:
        def detect(self, rgb):
            return []

    by_folder = detect.predict(SmallDetector(8), [folder / "crops"], None, SIZE, group="folder")
    crops = by_folder.videos
    assert len(crops) == 1 and crops[0]["n_frames"] == 2 and crops[0]["n_failed"] == 1  # one row per folder
    res = detect.predict(SmallDetector(8), [folder / "clip.avi"], None, SIZE, face_finder=NoFaces())
    assert [r["status"] for r in res.frames] == ["no_face"] * 4 and res.n_failed == 4
    out = capsys.readouterr().out
    assert "6 faces/frames scored, 4 failed" in out and "0 faces/frames scored, 4 failed" in out
    assert "2 faces/frames scored, 1 failed" in out


def test_onnx_export_matches_pytorch(tmp_path):
    import onnxruntime as ort

    net = SmallDetector(8).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    ckpt = save_detector(
        tmp_path / "det.pt", net, {"_target_": "deepswap.detection.SmallDetector", "width": 8}, 3, size=SIZE
    )
    diff = detect.export(ckpt, tmp_path / "det.onnx")
    assert diff < 1e-3
    session = ort.InferenceSession(str(tmp_path / "det.onnx"), providers=["CPUExecutionProvider"])
    x = torch.rand(1, 3, SIZE, SIZE) * 2 - 1  # batch 1 through the dynamic batch axis
    got = session.run(None, {"images": x.numpy()})[0]
    assert got.shape == (1,) and np.abs(got - net(x).detach().numpy()).max() < 1e-3


def test_crossplay_matrix_evasion_and_snapshots(tmp_path):
    g = torch.Generator().manual_seed(0)
    base = F.interpolate(torch.rand(32, 3, 8, 8, generator=g) * 2 - 1, size=(SIZE, SIZE), mode="bilinear")
    pairs = {"target": base, "source": base.flip(0)}
    gens = {
        "copy": lambda t, s: t,
        "noise": lambda t, s: (t + 0.3 * torch.randn(t.shape, generator=g)).clamp(-1, 1),
    }
    dets = {"hf": HighFrequency(), "neg": HighFrequency(-1.0), "small": SmallDetector(8)}
    m = crossplay_matrix(dets, gens, base, pairs, batch_size=10)
    assert m.values.shape == (3, 2) and m.rows == list(dets) and m.cols == list(gens)
    assert ((m.values >= 0) & (m.values <= 1)).all()
    assert m.values[0, 1] == 1.0 and m.values[1, 1] == 0.0  # perfect and reversed detectors
    assert m.values[0, 0] == 0.5 and m.values[2, 0] == 0.5  # fakes = reals: chance
    ev = evasion_rates(gens, {"hf": HighFrequency(), "neg": HighFrequency(-1.0)}, base, pairs, fpr=0.01)
    assert ev.values.shape == (2, 2) and ev.rows == list(gens)
    assert ev.values[1, 0] == 0.0 and ev.values[1, 1] == 1.0 and ev.values[0, 0] == 1.0
    files = m.write(tmp_path, "auc")
    assert Path(files["csv"]).read_text().splitlines()[0] == "auc,copy,noise"

    # snapshots: the assumed format ({"state_dict", "config", "step"}) and bare state_dicts + config.json
    from deepswap.models.generators.deepswap_lite import DeepSwapLiteGenerator

    gcfg = dict(id_dim=8, base_channels=8, max_channels=16, n_down=2, n_blocks=1, w_dim=16, mapping_layers=1)
    gcfg = {"_target_": "deepswap.models.generators.deepswap_lite.DeepSwapLiteGenerator", **gcfg}
    dcfg = {"_target_": "deepswap.detection.networks.SmallDetector", "width": 8}
    gen = DeepSwapLiteGenerator(**{k: v for k, v in gcfg.items() if k != "_target_"})
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    for step in (10, 20):
        torch.save(
            {"state_dict": SmallDetector(8).state_dict(), "config": dcfg, "step": step},
            snaps / f"det_{step:08d}.pt",
        )
        torch.save(
            {"state_dict": gen.state_dict(), "config": gcfg, "step": step}, snaps / f"gen_{step:08d}.pt"
        )
    torch.save(SmallDetector(8).state_dict(), snaps / "det_00000030.pt")  # bare state_dict
    (snaps / "config.json").write_text(json.dumps({"detector": {"net": dcfg}, "generator": gcfg}))
    det_snaps, gen_snaps = load_snapshots(snaps)
    assert list(det_snaps) == ["det_00000010", "det_00000020", "det_00000030"] and list(gen_snaps) == [
        "gen_00000010",
        "gen_00000020",
    ]
    encoder = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(12, 8))
    swappers = {k: as_swapper(v, encoder) for k, v in gen_snaps.items()}
    m = crossplay_matrix(det_snaps, swappers, base[:8], {k: v[:8] for k, v in pairs.items()})
    assert m.values.shape == (3, 2) and ((m.values >= 0) & (m.values <= 1)).all()


def test_robustness_sweep_applies_each_condition_to_both_classes(tmp_path):
    g = torch.Generator().manual_seed(1)
    reals = quantize(
        F.interpolate(torch.rand(6, 3, 8, 8, generator=g) * 2 - 1, size=(SIZE, SIZE), mode="bilinear")
    )
    fakes = quantize((reals + 0.2).clamp(-1, 1))
    seen = []

    def recorder(x):
        seen.append(x.clone())
        return x.mean((1, 2, 3))

    table = robustness_sweep(recorder, reals, fakes, batch_size=4)
    names = [c.name for c in default_conditions()]
    assert list(table) == names and len(names) == 1 + 5 + 4 + 3
    assert {"jpeg_30", "blur_0.5", "blur_3", "resize_0.25", "clean"} <= set(names)
    assert table["clean"]["auc"] == 1.0 and all(0 <= r["auc"] <= 1 for r in table.values())
    per_condition = len(seen) // len(names)  # 12 images in batches of 4
    for k, cond in enumerate(default_conditions()):
        got = torch.cat(seen[k * per_condition : (k + 1) * per_condition])
        assert torch.allclose(got[:6], quantize(cond(reals)), atol=1e-5)  # reals processed ...
        assert torch.allclose(got[6:], quantize(cond(fakes)), atol=1e-5)  # ... exactly like the fakes
        if cond.op != "clean":
            assert not torch.allclose(got[:6], reals)
    assert torch.allclose(Condition("jpeg", 30)(reals), jpeg(reals, 30.0))
    assert torch.allclose(Condition("blur", 2)(fakes), gaussian_blur(fakes, 2.0))
    files = write_table(table, tmp_path)
    assert "| jpeg_30 |" in Path(files["md"]).read_text() and Path(files["csv"]).is_file()


def test_threshold_rules():
    y, s = [0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.4, 0.5, 0.7, 0.8]
    assert fix_threshold(y, s, "fpr", 0.0) == 0.6  # no real above it
    t = fix_threshold(y, s, "eer")  # FPR = FNR = 1/4: fakes are the scores > t, 0.5 included
    assert 0.4 < t < 0.5 + 1e-12 and np.mean((np.array(s) > t) == np.array(y)) == 0.75
    assert fix_threshold(y, s, "logit0") == 0.0
    with pytest.raises(ValueError, match="threshold rule"):
        fix_threshold(y, s, "median")


GENERALISE_HFLIP, GENERALISE_TTA = 0.5, "flip"  # configs/detect_recipe/generalise.yaml


def test_the_weight_average_comes_from_the_recipe_else_train_and_is_checked():
    from deepswap.detect import _ema

    assert _ema(detect.compose_config("lofo", ["detect_recipe=generalise"])) == 0.999
    assert _ema(detect.compose_config("train", ["detect_recipe=none"])) is None
    assert _ema(detect.compose_config("train", ["detect_recipe=none", "train.ema=0.99"])) == 0.99
    with pytest.raises(ValueError, match="weight-average decay"):
        _ema(detect.compose_config("lofo", ["detect_recipe=generalise", "recipe.ema=1.5"]))


def test_flips_and_test_time_flips_come_from_the_recipe_else_the_top_level_and_are_checked():
    from deepswap.detect import _hflip, _tta

    none = detect.compose_config("train", ["detect_recipe=none"])
    assert _hflip(none) == 0.0 and _tta(none) is None
    assert _hflip(detect.compose_config("train", ["detect_recipe=none", "train.hflip=0.3"])) == 0.3
    assert _tta(detect.compose_config("train", ["detect_recipe=none", "tta=flip"])) == "flip"
    generalise = detect.compose_config("lofo", ["detect_recipe=generalise"])
    assert _hflip(generalise) == GENERALISE_HFLIP and _tta(generalise) == GENERALISE_TTA
    with pytest.raises(ValueError, match="hflip"):
        _hflip(detect.compose_config("lofo", ["detect_recipe=generalise", "recipe.hflip=1.5"]))
    with pytest.raises(ValueError, match="tta"):
        _tta(detect.compose_config("lofo", ["detect_recipe=generalise", "recipe.tta=rotate"]))


def test_robustness_sweeps_the_co_trained_detector_of_a_training_checkpoint(tiny_run, tmp_path):
    """`detect robustness checkpoint=RUN/checkpoints/last.ckpt` sweeps the run's co-trained detector (the
    one checkpoints hand out: weight average and flip TTA as configured), the same as that detector saved
    as a file."""
    from deepswap.detection.arms_race import final_detector
    from deepswap.detection.networks import FlipAverage, unwrap_tta
    from deepswap.detection.train_detector import save_detector

    cfg, _, _ = tiny_run
    ckpt = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    net = final_detector(ckpt)
    tta = "flip" if isinstance(net, FlipAverage) else None
    save_detector(tmp_path / "det.pt", unwrap_tta(net), dict(cfg.detector.net), 0, size=32, tta=tta)
    small = ["data.size=32", "data.pairs.train=8", "data.pairs.val=8", "data.pairs.test=16",
             "data.world.num_train_identities=20", "data.world.num_heldout_identities=10"]  # fmt: skip
    from_ckpt = detect.robustness(ckpt, small, output_dir=tmp_path / "ckpt")
    from_file = detect.robustness(tmp_path / "det.pt", small, output_dir=tmp_path / "file")
    assert list(from_ckpt["robustness"]) == [c.name for c in default_conditions()]
    assert from_ckpt["robustness"] == from_file["robustness"]
    assert from_ckpt["checkpoint"]["path"] == str(ckpt.resolve())


def test_an_ensemble_file_standardises_each_member_on_val_reals_and_serves_every_command(tiny_run, tmp_path):
    """`detect ensemble`: a detector file and a training checkpoint's co-trained detector as one file. Its
    score is the mean of each member's logit standardised by the member's mean and sd on the val reals
    (checked against the members scored by hand); `eval` uses the val threshold it saved, ONNX matches."""
    from deepswap.detection.lofo import load_any_detector
    from deepswap.detection.networks import FlipAverage, StandardisedEnsemble
    from deepswap.errors import UsageError

    cfg, _, _ = tiny_run
    ckpt = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    small = ["data.size=32", "data.pairs.train=32", "data.pairs.val=16", "data.pairs.test=16",
             "train.batch_size=16", "data.world.num_train_identities=20",
             "data.world.num_heldout_identities=10"]  # fmt: skip
    detect.train(small + ["train.steps=4", "train.eval_every=2", "tta=flip"], output_dir=tmp_path / "a")
    members = [tmp_path / "a/checkpoints/best.pt", ckpt]
    res = detect.ensemble(members, small, output_dir=tmp_path / "ens")
    net, meta = load_detector(tmp_path / "ens/ensemble.pt")
    assert isinstance(net, StandardisedEnsemble) and meta["size"] == 32
    assert meta["threshold"]["fixed_on"] == "val" and meta["members"] == [str(m.resolve()) for m in members]
    assert isinstance(net.members[0], FlipAverage)  # the member keeps the flip average it was saved with
    loaded = [load_any_detector(m)[0] for m in members]
    val = detect.split_factory(detect.compose_config("ensemble", small).data)("val")
    by_hand = np.stack([score(m, val, 64, "cpu").scores for m in loaded], axis=1)
    reals = score(loaded[0], val, 64, "cpu").labels == 0
    loc, sd = by_hand[reals].mean(0), by_hand[reals].std(0, ddof=1)
    assert np.allclose(net.loc.numpy(), loc, atol=1e-5) and np.allclose(net.scale.numpy(), sd, rtol=1e-4)
    assert [m["loc"] for m in res["members"]] == pytest.approx(loc.tolist(), abs=1e-5)
    assert "net" not in res["provenance"]  # the detect config's own network plays no part
    got = score(net, val, 64, "cpu").scores
    assert np.allclose(got, ((by_hand - loc) / sd).mean(1), atol=1e-4)
    assert abs(got[reals].mean()) < 1e-4  # centred on the calibration reals
    ev = detect.evaluate(tmp_path / "ens/ensemble.pt", small, output_dir=tmp_path / "eval")
    assert ev["threshold"] == res["threshold"] and 0 <= ev["test"]["auc"] <= 1
    assert detect.export(tmp_path / "ens/ensemble.pt", tmp_path / "ens.onnx") < 1e-3
    with pytest.raises(UsageError, match="at least 2 detectors"):
        detect.ensemble(members[:1], small, output_dir=tmp_path / "one")
    with pytest.raises(UsageError, match="combine"):
        detect.ensemble(members, small + ["ensemble.combine=median"], output_dir=tmp_path / "median")
    with pytest.raises(ValueError, match="data.size"):
        detect.ensemble(members, [s.replace("size=32", "size=64") for s in small], output_dir=tmp_path / "64")


def test_a_warm_start_member_is_the_detector_option_a_training_run_would_start_from(monkeypatch, tmp_path):
    """`warmstart:<detector option>`: that option's network, pre-trained with that option's settings on the
    main job's world (the pre-training itself is replaced here: minutes), flip-averaged as the option says;
    unknown options are refused before anything runs."""
    import deepswap.detection.pretrain as pretrain
    from deepswap.detection.networks import FlipAverage, ResNetDetector
    from deepswap.errors import UsageError

    seen = {}

    def fake_pretrain(net_config, world, size, settings, cache, sbi_options=None):
        seen.update(net=net_config, world=world, size=size, settings=settings, cache=cache)
        torch.manual_seed(0)
        return ResNetDetector(**{k: v for k, v in net_config.items() if k != "_target_"}).state_dict()

    monkeypatch.setattr(pretrain, "pretrain_detector", fake_pretrain)
    net, meta = pretrain.warm_start_member("warmstart:resnet_post", cache_dir=tmp_path)
    assert isinstance(net, FlipAverage) and isinstance(net.net, ResNetDetector)  # resnet's tta: flip
    assert seen["settings"]["postprocess"]["p_blur"] == 0.3 and seen["settings"]["steps"] == 3000
    assert seen["size"] == meta["size"] == 64 and seen["world"]["num_train_identities"] == 1000
    assert seen["cache"] == tmp_path / "detector" and meta["path"] == "warmstart:resnet_post"
    with pytest.raises(ValueError, match="unknown detector option 'resnet_pst'"):
        pretrain.warm_start_member("warmstart:resnet_pst")
    with pytest.raises(UsageError, match=r"members\[1\]=warmstart:nope"):
        detect.ensemble(["warmstart:resnet", "warmstart:nope"], output_dir=tmp_path / "x")


def test_generalise_post_shifts_half_the_frames_and_generalise_does_not_post_process():
    """`detect_recipe=generalise_post` hands training a post-processing with the sub-pixel shift on half the
    frames (its self-blends resample their copy; experiments/2026-12-08_shift_recipe); `generalise` hands
    none."""
    from deepswap.detect import _postprocess
    from deepswap.detection.postprocess import PostProcess

    assert _postprocess(detect.compose_config("lofo", ["detect_recipe=generalise"])) is None
    kwargs = _postprocess(detect.compose_config("train", ["detect_recipe=generalise_post"]))
    post = PostProcess(**kwargs)
    params = post.sample_params(400, torch.Generator().manual_seed(0))
    share = params.shift.float().mean().item()
    assert 0.4 < share < 0.6  # p_shift 0.5
    moved = torch.maximum(params.dx.abs(), params.dy.abs())[params.shift]
    assert moved.max() <= 1.0 and moved.min() > 0.0
    off = PostProcess(**{**kwargs, "p_shift": 0.0})
    assert not off.sample_params(400, torch.Generator().manual_seed(0)).shift.any()
