"""The evaluation harness: the oracle, the protocol's reference rows, outputs, and bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ORACLE, WORLD, execute_notebook
from torch import nn

from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.evaluation import protocol
from deepswap.evaluation.metrics import ssim
from deepswap.evaluation.scorers import OracleScorer


@pytest.fixture(scope="session")
def world():
    return SyntheticFaceWorld(**WORLD)


@pytest.fixture(scope="session")
def scored(world, oracle):
    pairs = protocol.synthetic_pairs(world, 64, 32, seed=3)
    scorer = OracleScorer(oracle, factor_names=world.identity_names)
    per_pair = protocol.score_outputs(protocol.reference_outputs(pairs), pairs, scorer, 32)
    return protocol.summarize(per_pair), protocol.oracle_noise_floor(scorer, pairs, 32), per_pair


def test_ssim_known_values():
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.allclose(ssim(x, x), torch.ones(2), atol=1e-5)
    # Constant images a, b (on [0, 1]): SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a, b, c1 = 0.25, 0.75, 0.01**2
    got = ssim(torch.full((1, 3, 16, 16), 2 * a - 1), torch.full((1, 3, 16, 16), 2 * b - 1))
    assert got.item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-4)
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    assert (ssim(noisy, x) < 0.9).all()


def test_pairs_fixed_seeded_on_test_identities(world):
    a, b = protocol.synthetic_pairs(world, 8, 32, seed=1), protocol.synthetic_pairs(world, 8, 32, seed=1)
    assert torch.equal(a["target"], b["target"]) and torch.equal(a["source_id"], b["source_id"])
    test = set(world.identity_ids("test"))
    assert set(a["source_id"].tolist()) <= test and set(a["target_id"].tolist()) <= test
    val = protocol.synthetic_pairs(world, 8, 32, seed=1, split="val")
    assert not set(val["source_id"].tolist()) & test  # validation never scores the test identities
    # the gallery is another render of the source identity, never the source image itself
    assert not torch.equal(a["gallery"], a["source"])
    same = world.render(
        world.identity_factors(int(a["source_id"][0])), world.attribute_factors("test", 0), 32
    )
    assert same.image.shape == (1, 3, 32, 32)
    assert len(set(a["source_id"].tolist())) == 8  # one source identity per pair
    assert (a["source_id"] != a["target_id"]).all()
    c = protocol.synthetic_pairs(world, 8, 32, seed=2)
    assert not torch.equal(a["source_id"], c["source_id"])


def test_too_many_pairs_names_the_count(world):
    with pytest.raises(protocol.EvaluationError, match="'test' split has 200 identities"):
        protocol.synthetic_pairs(world, 201, 32, seed=0)


def test_oracle_training_is_deterministic(tmp_path, world):
    from deepswap.evaluate import synthetic_oracle

    small = {"world": {"num_train_identities": 50, "num_heldout_identities": 10, "seed": 0}, "size": 32}
    nets = [
        synthetic_oracle(
            small,
            [
                "oracle.steps=3",
                "oracle.pool=0",
                "oracle.encoder.width=8",
                f"paths.cache_dir={tmp_path / str(k)}",
                f"oracle.fresh_process={fresh}",
            ],
        )
        # the child process the main job trains in, and the current one: the same network
        for k, fresh in enumerate(["true", "false"])
    ]
    for (k, v), w in zip(nets[0].state_dict().items(), nets[1].state_dict().values()):
        assert torch.equal(v, w), k
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.equal(nets[0](x), nets[0](x))


def test_blur_oracle_trains_on_blurred_renders(tmp_path, world):
    """``oracle=residual_blur`` is the protocol's oracle trained with its blur: half of the images it
    sees lose high-frequency energy, and the network differs from the default oracle's."""
    from deepswap.data.augment import build_augment
    from deepswap.evaluate import compose_config, synthetic_oracle

    cfg = compose_config("unused", ["oracle=residual_blur"])
    augment = build_augment(cfg.oracle.augment, 0)
    image = protocol.synthetic_pairs(world, 2, 32, seed=0)["target"][0].add(1).div(2)

    def high(x):
        return float((x - torch.nn.functional.avg_pool2d(x[None], 3, 1, 1)[0]).square().mean())

    energies = [high(augment(image, k)) for k in range(40)]
    blurred = sum(e < 0.8 * high(image) for e in energies)
    assert 8 <= blurred <= 32, energies  # p = 0.5

    small = {"world": {"num_train_identities": 50, "num_heldout_identities": 10, "seed": 0}, "size": 32}
    tiny = ["oracle.steps=3", "oracle.pool=0", "oracle.encoder.width=8", "oracle.fresh_process=false"]
    plain = synthetic_oracle(small, [*tiny, f"paths.cache_dir={tmp_path / 'a'}"])
    robust = synthetic_oracle(small, [*tiny, "oracle=residual_blur", f"paths.cache_dir={tmp_path / 'b'}"])
    pairs = zip(plain.state_dict().values(), robust.state_dict().values())
    assert any(not torch.equal(a, b) for a, b in pairs)


def test_oracle_far_above_chance(scored):
    rows, floor, _ = scored
    assert floor["id_top1_chance"] == pytest.approx(100 / 64)
    assert floor["id_top1"] > 10 * floor["id_top1_chance"], floor
    assert set(k for k in floor if k.startswith("r2/")) == {f"r2/{n}" for n in WORLD_NAMES}


WORLD_NAMES = SyntheticFaceWorld(**WORLD).identity_names


def test_reference_rows_bracket_the_protocol(scored):
    rows, floor, _ = scored
    truth, target, source = rows["ground truth (ceiling)"], rows["output = target"], rows["output = source"]
    average = rows["average identity"]
    assert "target recoloured to source" not in rows  # skin tone is the target's: no recolouring row
    # ID retrieval against independent gallery renders: output = source is a real render, so it scores
    # exactly the oracle's own accuracy; target passthrough and the average face sit near chance.
    assert source["id_top1"] == floor["id_top1"]
    assert (
        target["id_top1"] <= 4 * floor["id_top1_chance"] and average["id_top1"] <= 4 * floor["id_top1_chance"]
    )
    assert truth["id_top1"] > 5 * floor["id_top1_chance"]
    # Pose against the target's TRUE pose: target passthrough is the oracle's floor, source far off.
    assert target["pose_err"] == pytest.approx(floor["pose_err"], rel=1e-5)
    assert source["pose_err"] > 2 * target["pose_err"] and source["expr_err"] > target["expr_err"]
    # Ground-truth error: exact for the truth; outside the face the target and the average face are the
    # truth (the truth is a face swap); inside the face the average face beats passing the target.
    assert truth["gt_l1"] == 0.0 and truth["gt_ssim"] == pytest.approx(1.0)
    assert target["gt_l1_outside"] < 1e-3 and average["gt_l1_outside"] < 1e-2  # its own outline spills
    assert source["gt_l1"] > target["gt_l1"] > 0
    assert average["gt_l1_face"] < target["gt_l1_face"]
    assert truth["lm_err"] < source["lm_err"]


def test_intervals_and_paired_differences(scored):
    _, _, per_pair = scored
    per_pair = {"model": per_pair["output = target"], **per_pair}
    unc = protocol.uncertainty(per_pair, resamples=200)
    rows = protocol.summarize(per_pair)
    for name, metrics in unc["intervals"].items():
        for k, (lo, hi) in metrics.items():
            if lo == lo:  # not NaN
                assert lo <= rows[name][k] + 1e-9 and rows[name][k] <= hi + 1e-9, (name, k)
    diff = unc["differences"]["model"]
    assert set(diff) == {"output = target", "average identity"}
    # the model here IS output = target: every paired difference to it is exactly zero
    assert all(v == [0.0, 0.0, 0.0] for v in diff["output = target"].values())
    # and it is significantly worse than the average face on the face-interior GT error
    d, lo, hi = diff["average identity"]["gt_l1_face"]
    assert d > 0 and lo > 0
    from deepswap.evaluation.report import beats_in_words

    worse = beats_in_words(unc["differences"]).split("\n")[1].split("significantly worse on:")[1]
    assert "GT L1 face" in worse


JSON_KEYS = {
    "schema",
    "rows",
    "intervals",
    "differences",
    "verdict",
    "noise_floor",
    "streaks",
    "skipped",
    "provenance",
    "files",
}
PROVENANCE_KEYS = {
    "checkpoint",
    "generator",
    "data",
    "data_kind",
    "alignment",
    "crop_size",
    "resize_filter",
    "scorer",
    "seeds",
    "split",
    "bootstrap",
    "num_pairs",
    "paste_px",
    "model_rows",
    "deepswap_version",
    "git_sha",
    "git_dirty",
    "torch",
    "device",
    "command",
    "time_utc",
    "seconds",
}


@pytest.fixture(scope="module")
def evaluated(tiny_run, tmp_path_factory, oracle):
    import deepswap

    ckpt = tiny_run[2]["trainer"].checkpoint_callback.dirpath + "/last.ckpt"
    out = tmp_path_factory.mktemp("eval")
    result = deepswap.evaluate(ckpt, ORACLE, num_pairs=16, seed=0, output_dir=str(out))
    return ckpt, out, result


def test_evaluate_writes_stable_schema(evaluated):
    ckpt, out, result = evaluated
    data = json.loads((out / "evaluation.json").read_text())
    assert set(data) == JSON_KEYS and data["schema"] == 2
    assert set(data["provenance"]) == PROVENANCE_KEYS
    assert data["provenance"]["checkpoint"]["kind"].startswith("training checkpoint")
    assert list(data["rows"]) == [
        "model",
        "output = target",
        "output = source",
        "average identity",
        "ground truth (ceiling)",
    ]
    assert set(data["differences"]["model"]) == {"output = target", "average identity"}
    assert set(data["rows"]["model"]) == set(protocol.METRICS)
    assert data["streaks"] == result.streaks and data["streaks"] > 0  # band energy vs the truth's
    assert "fid" in data["skipped"] and "inception" in data["skipped"]["fid"]
    rows = list(csv.DictReader(open(out / "pairs.csv")))
    assert len(rows) == 16 * 5 and {"pair", "output", "source_id", "gt_ssim_face"} <= set(rows[0])
    images = np.load(out / "swaps.npz")
    assert images["model"].shape == (16, 32, 32, 3) and images["model"].dtype == np.uint8
    from deepswap.evaluation.report import load_evaluation

    assert load_evaluation(out)["rows"] == data["rows"]


def test_evaluate_same_seed_same_numbers(evaluated, tmp_path):
    import deepswap

    ckpt, _, first = evaluated
    again = deepswap.evaluate(ckpt, ORACLE, num_pairs=16, seed=0, output_dir=str(tmp_path))
    assert again.rows == first.rows


def test_run_model_pastes_inside_the_grown_face_region():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    mask = torch.zeros(2, 1, 16, 16)
    mask[:, :, 6:10, 6:10] = 1.0
    pairs = {"target": target, "source": target.flip(0), "target_mask": mask}
    noise = -0.5 * target  # what the stand-in model returns, pair by pair

    def swap_fn(t, s):
        return -0.5 * t

    raw = protocol.run_model(swap_fn, pairs, batch_size=1)
    pasted = protocol.run_model(swap_fn, pairs, batch_size=1, paste_px=2)
    assert torch.equal(raw, noise)
    inside = torch.zeros(16, 16, dtype=torch.bool)
    inside[4:12, 4:12] = True  # the 4x4 face grown by 2 px
    assert torch.allclose(pasted[..., inside], noise[..., inside], atol=1e-6)
    assert torch.equal(pasted[..., ~inside], target[..., ~inside])
    with pytest.raises(protocol.EvaluationError, match="target_mask"):
        protocol.run_model(lambda t, s: t, {"target": target, "source": target}, paste_px=2)


def test_paste_follows_the_runs_face_region():
    assert protocol.paste_px_for({"model": {"face_region": {"dilate_px": 3, "confine": True}}}, True) == 3
    assert protocol.paste_px_for({"model": {"face_region": None}}, True) == protocol.DEFAULT_PASTE_PX
    assert protocol.paste_px_for({"model": {"face_region": {"dilate_px": 3}}}, False) is None


def test_evaluate_scores_pasted_swaps_unless_told_raw(evaluated, tmp_path):
    import deepswap

    ckpt, _, pasted = evaluated
    raw = deepswap.evaluate(ckpt, ORACLE, num_pairs=16, seed=0, paste=False)
    region = torch.load(ckpt, map_location="cpu", weights_only=False)["deepswap"]["config"]["model"]
    assert pasted.provenance["paste_px"] == region["face_region"]["dilate_px"]
    assert raw.provenance["paste_px"] is None and "raw" in raw.provenance["model_rows"]
    # the pasted swap keeps the target beyond the region, so its error outside the face can only fall
    assert pasted.rows["model"]["gt_l1_outside"] < raw.rows["model"]["gt_l1_outside"]
    assert pasted.rows["output = target"] == raw.rows["output = target"]  # references are never pasted
    with pytest.raises(Exception, match="paste='yes' must be true or false"):
        deepswap.evaluate(ckpt, ORACLE, num_pairs=16, seed=0, paste="yes")


def _identity_folder(root, world, n_ids=6, per_id=2, size=32):
    from PIL import Image

    for i in range(n_ids):
        (root / f"id{i:02d}").mkdir(parents=True)
        for j in range(per_id):
            img = world.render(
                world.identity_factors(i), world.attribute_factors("train", 100 * i + j), size
            ).image[0]
            Image.fromarray((img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(
                root / f"id{i:02d}/{j}.png"
            )
    return root


def test_real_data_skips_missing_models_and_uses_a_recogniser(evaluated, tmp_path, world, capsys):
    import deepswap
    from deepswap.models.identity.iresnet import iresnet18

    ckpt = evaluated[0]
    root = _identity_folder(tmp_path / "faces", world)
    data = [
        "data=folder",
        f"data.root={root}",
        "data.size=32",
        "data.val_identity_share=0.2",
        "data.test_identity_share=0.5",
        "data.num_workers=0",
    ]
    result = deepswap.evaluate(ckpt, data, num_pairs=3, output_dir=str(tmp_path / "a"))
    assert {"identity", "pose", "expression", "fid"} <= set(result.skipped)
    assert "recognizer" in result.skipped["identity"]
    assert "id_top1" not in result.rows["model"] and "gt_l1" not in result.rows["model"]
    assert "skipped identity: supply" in capsys.readouterr().out
    torch.save(iresnet18().state_dict(), tmp_path / "backbone.pth")
    rec = [f"evaluation.recognizer={tmp_path / 'backbone.pth'}", "evaluation.recognizer_depth=18"]
    result = deepswap.evaluate(ckpt, data + rec, num_pairs=3, output_dir=str(tmp_path / "b"))
    assert "identity" not in result.skipped and 0.0 <= result.rows["output = source"]["id_top1"] <= 100.0
    assert {"id_cos_gallery", "id_cos_target"} <= set(result.rows["output = source"])


def test_fid_kid_with_supplied_feature_network(evaluated, tmp_path):
    import deepswap

    class Features(nn.Module):
        def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
            return nn.functional.adaptive_avg_pool2d(x / 255.0, 2).flatten(1)

    torch.jit.script(Features()).save(str(tmp_path / "inception.pt"))
    result = deepswap.evaluate(
        evaluated[0],
        [*ORACLE, f"evaluation.inception={tmp_path / 'inception.pt'}"],
        num_pairs=16,
        output_dir=str(tmp_path),
    )
    assert "fid" not in result.skipped
    assert result.rows["output = target"]["fid"] == pytest.approx(0.0, abs=1e-3)
    assert result.rows["output = source"]["fid"] > 1e-4 and np.isfinite(result.rows["model"]["kid"])


def test_cli_rejects_a_file_that_is_not_a_checkpoint(tmp_path):
    bad = tmp_path / "model.ckpt"
    torch.save({"state_dict": {}}, bad)
    proc = subprocess.run(
        [sys.executable, "-m", "deepswap.evaluate", f"checkpoint={bad}", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "not a deepswap training checkpoint" in proc.stderr and "Traceback" not in proc.stderr


def test_evaluate_notebook_executes(evaluated, tmp_path, monkeypatch):
    import deepswap

    ckpt, first, _ = evaluated
    deepswap.evaluate(ckpt, ORACLE, num_pairs=16, seed=1, output_dir=str(tmp_path / "second"))
    monkeypatch.setenv("DEEPSWAP_EVALS", f"{first}:{tmp_path / 'second'}")
    outputs = execute_notebook("02_evaluate.ipynb")
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert sum(o.get("output_type") == "display_data" for o in outputs) == 2, "both figures are shown"


FAMILIES = {
    "deepswap": {
        "_target_": "deepswap.models.generators.deepswap_lite.DeepSwapLiteGenerator",
        "base_channels": 8,
        "max_channels": 16,
        "n_blocks": 1,
        "w_dim": 32,
    },
    "simswap": {
        "_target_": "deepswap.models.generators.simswap.SimSwapGenerator",
        "base_channels": 8,
        "n_blocks": 1,
        "max_channels": 32,
    },
    "faceshifter": {
        "_target_": "deepswap.models.generators.aad.AADGenerator",
        "base_channels": 8,
        "max_channels": 32,
        "n_down": 4,
    },
    "ghost": {
        "_target_": "deepswap.models.generators.aad.AADGenerator",
        "base_channels": 8,
        "max_channels": 32,
        "n_down": 4,
        "mod_kernel": 1,
        "full_channel_mask": False,
    },
}


def _family_checkpoint(path, generator: dict):
    """A checkpoint in the training layout (random weights) for one generator family, 32 px synthetic data."""
    from hydra.utils import instantiate

    from deepswap.inference.format import CHECKPOINT_FORMAT

    encoder = {
        "_target_": "deepswap.models.identity.conv.ConvIdentityEncoder",
        "embedding_size": 512,
        "width": 8,
        "input_size": 32,
    }
    torch.manual_seed(0)
    g, e = instantiate(generator), instantiate(encoder)
    state = {f"ema.shadow.{k}": v for k, v in g.state_dict().items()}
    state |= {f"identity_encoder.{k}": v for k, v in e.state_dict().items()}
    data = {"_target_": "deepswap.data.datamodule.SyntheticDataModule", "size": 32, "world": WORLD}
    meta = {
        "format": CHECKPOINT_FORMAT,
        "config": {"generator": generator, "data": data},
        "identity_encoder": encoder,
    }
    torch.save({"state_dict": state, "deepswap": meta}, path)
    return path


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_generator_family_is_scored(family, tmp_path, oracle):
    import deepswap

    ckpt = _family_checkpoint(tmp_path / "last.ckpt", FAMILIES[family])
    result = deepswap.evaluate(ckpt, ORACLE, num_pairs=4, output_dir=str(tmp_path / "eval"))
    assert result.provenance["generator"]["_target_"] == FAMILIES[family]["_target_"]
    assert set(result.rows["model"]) == set(protocol.METRICS)
    assert all(np.isfinite(v) for v in result.rows["model"].values())


def test_an_export_folder_is_scored_like_its_checkpoint(tmp_path, oracle):
    import deepswap
    from deepswap.inference.exporters import export_safetensors
    from deepswap.inference.loader import load_checkpoint as load_for_export

    ckpt = _family_checkpoint(tmp_path / "last.ckpt", FAMILIES["deepswap"])
    folder = export_safetensors(load_for_export(ckpt), tmp_path / "export")
    a = deepswap.evaluate(ckpt, ORACLE, num_pairs=4, output_dir=str(tmp_path / "a"))
    b = deepswap.evaluate(folder, ORACLE, num_pairs=4, output_dir=str(tmp_path / "b"))
    assert b.provenance["checkpoint"]["kind"] == "export"
    assert a.rows == b.rows


def _fake_landmark_model(path, yaw_deg: float):
    """An ONNX in the interface of insightface's 1k3d68 (192 px in, 3309 out) that always returns the
    68-point mean shape turned by ``yaw_deg``: insightface must recover that pose through our scorer."""
    from insightface.data import get_object

    mean = torch.as_tensor(get_object("meanshape_68.pkl"), dtype=torch.float32)
    mean = (mean - mean.mean(0)) / mean.abs().max() * 0.5
    t = np.deg2rad(yaw_deg)
    rot = torch.tensor(
        [[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]], dtype=torch.float32
    )
    out = torch.cat([torch.zeros(3309 - 204), (mean @ rot.T).flatten()])[None]

    class Landmarks(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("out", out)

        def forward(self, x):
            return self.out + 0.0 * x.mean()

    torch.onnx.export(Landmarks().eval(), (torch.zeros(1, 3, 192, 192),), str(path), input_names=["data"])
    return path


def test_real_data_pose_from_an_insightface_landmark_model(tmp_path):
    from deepswap.evaluation.scorers import RealScorer

    model = _fake_landmark_model(tmp_path / "1k3d68.onnx", yaw_deg=20.0)
    pose = RealScorer(landmark_model=str(tmp_path)).measure(torch.rand(3, 3, 32, 32) * 2 - 1)["pose"]
    assert torch.allclose(pose, torch.tensor([[20.0, 0.0, 0.0]] * 3), atol=0.5), pose
    with pytest.raises(FileNotFoundError, match="1k3d68"):
        RealScorer(landmark_model=str(tmp_path / "missing"))
    assert model.is_file()


def test_comparison_grid_stacks_runs_on_the_same_pairs(evaluated):
    from deepswap.evaluation.report import comparison_grid

    out = evaluated[1]
    grid = comparison_grid({"a": out, "b": out}, pairs=[0, 3], scale=2)
    # columns: source, target, a, b, truth; 32 px images doubled
    assert grid.shape == (2 * 32 * 2, 5 * 32 * 2, 3) and grid.dtype == np.uint8
    swaps = np.load(out / "swaps.npz")
    assert np.array_equal(grid[:64:2, 2 * 64 : 3 * 64 : 2], swaps["model"][0])


def test_a_checkpoint_from_a_newer_format_is_refused_clearly(tmp_path):
    import deepswap
    from deepswap.errors import CheckpointError

    ckpt = _family_checkpoint(tmp_path / "last.ckpt", FAMILIES["deepswap"])
    state = torch.load(ckpt, weights_only=True)
    state["deepswap"]["format"] = 99
    torch.save(state, ckpt)
    with pytest.raises(CheckpointError, match="newer than this deepswap understands"):
        deepswap.evaluate(ckpt, ORACLE, num_pairs=4, output_dir=str(tmp_path / "eval"))


def test_closing_pairs_and_checkpoint_swaps_reproduce_the_evaluation(evaluated):
    """``harness.closing_pairs`` gives the pairs the evaluation scored (the run's data, pair seed 0), and
    ``harness.checkpoint_swaps`` the swaps it saved, pasted the same way (to 8-bit rounding)."""
    from deepswap.evaluation.harness import checkpoint_swaps, closing_pairs

    ckpt, out, _ = evaluated
    pairs = closing_pairs(16, ["debug=fast"])
    assert pairs["truth"].shape[0] == 16
    saved = torch.from_numpy(np.load(out / "swaps.npz")["model"]).permute(0, 3, 1, 2).float()
    swaps = checkpoint_swaps(ckpt, pairs)
    assert swaps.shape == saved.shape
    assert ((swaps.clamp(-1, 1) * 0.5 + 0.5) * 255 - saved).abs().max() <= 1.0
    other = closing_pairs(16, ["debug=fast", "data.world.seed=1"])
    assert not torch.equal(other["target"], pairs["target"])  # the data overrides reach the pairs
