"""Bad inputs through every entry point: one line on stderr, exit code 2, no traceback, nothing left behind.

One test per kind of miss (issue 14): errors raised deep inside, values checked too late, combinations
that cannot work, failure reported as success, vague wording, leftovers. Each entry point runs at least
once as a real process; the other cases call the CLI's ``main`` in this process (same code path).
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from omegaconf import open_dict

import deepswap
from deepswap import detect, evaluate, export, prepare, swap, train
from deepswap.errors import DeepswapError

ROOT = Path(__file__).resolve().parents[1]
GEN = {
    "_target_": "deepswap.models.generators.deepswap_lite.DeepSwapLiteGenerator",
    **dict(id_dim=64, base_channels=8, max_channels=16, n_down=2, n_blocks=1, w_dim=32),
}
ENC = {"_target_": "deepswap.models.identity.conv.ConvIdentityEncoder", "embedding_size": 64, "width": 8}


class _RunsCode:
    def __reduce__(self):
        return (print, ("this pickle runs code",))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Inputs every test can spoil: a swap checkpoint, a detector, junk, a code-running pickle, images."""
    from hydra.utils import instantiate

    from deepswap.detection.train_detector import save_detector

    d = tmp_path_factory.mktemp("inputs")
    gen, enc = instantiate(GEN), instantiate({**ENC, "input_size": 32})
    state = {"ema.shadow." + k: v for k, v in gen.state_dict().items()}
    state |= {"identity_encoder." + k: v for k, v in enc.state_dict().items()}
    config = {
        "generator": GEN,
        "data": {"_target_": "deepswap.data.datamodule.SyntheticDataModule", "size": 64},
    }
    meta = {"format": 1, "config": config, "identity_encoder": {**ENC, "input_size": 32}}
    torch.save({"state_dict": state, "deepswap": meta}, d / "swap.ckpt")
    net_cfg = {"_target_": "deepswap.detection.SmallDetector", "width": 4}
    save_detector(d / "det.pt", instantiate(net_cfg), net_cfg, 0, size=32)
    # Fixed junk: random bytes start with 0x80 (the pickle opcode) one time in 256, which took another path.
    (d / "junk.ckpt").write_bytes(b"not a checkpoint\n" + random.Random(0).randbytes(2000))
    torch.save({"x": _RunsCode()}, d / "runs_code.pth")
    (d / "plain.pkl").write_bytes(pickle.dumps({"x": _RunsCode()}))
    torch.save({"w": torch.zeros(1)}, d / "weights.pt")
    (d / "corrupt.png").write_bytes(b"\x89PNG not really")
    (d / "notes.txt").write_text("hello")
    (d / "empty").mkdir()
    (d / "raw" / "alice").mkdir(parents=True)
    for i in range(2):
        (d / "raw" / "alice" / f"{i}.png").write_bytes(b"not an image")
    return d


def start(module: str, *args, cwd: Path) -> subprocess.Popen:
    """``python -m deepswap.<module> args`` in ``cwd``, started (not waited for)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    env["DEEPSWAP_LOG_DIR"] = str(cwd / "logs")
    env.pop("HYDRA_FULL_ERROR", None)
    cmd = [sys.executable, "-m", f"deepswap.{module}", *map(str, args)]
    return subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def bad_media(files: Path) -> list[Path]:
    return [files / "missing.png", files / "corrupt.png", files / "empty"]


@pytest.fixture(scope="module")
def processes(files, tmp_path_factory) -> dict:
    """Every real-process case, started at once so they overlap -> name: (exit code, stderr, its cwd)."""
    swap_args = ["--source", files / "notes.txt", "--target", files / "corrupt.png", "--out", "o.png"]
    cases = {
        "evaluate": ["evaluate", f"checkpoint={files / 'weights.pt'}"],
        "train_last": ["train", "debug=fast", "ckpt_path=last"],
        "detect": ["detect", "predict", files / "det.pt", *bad_media(files), "--out", "preds"],
        "prepare": ["prepare", "--input", files / "raw", "--output", "faces", "--synthetic", "--quiet"],
        "export": [
            "export",
            files / "swap.ckpt",
            "--format",
            "onnx",
            "--out",
            files / "notes.txt" / "m.onnx",
        ],
        "swap": ["swap", "--checkpoint", files / "junk.ckpt", *swap_args],
    }
    started = {}
    for name, (module, *args) in cases.items():
        folder = tmp_path_factory.mktemp(name)
        started[name] = (start(module, *args, cwd=folder), folder)
    results = {}
    for name, (proc, folder) in started.items():
        _, err = proc.communicate(timeout=240)
        results[name] = (proc.returncode, err, folder)
    return results


def call(main, argv: list, capsys, monkeypatch, from_argv: bool = False) -> tuple[int, str]:
    """A CLI's ``main`` in this process (``from_argv``: it reads ``sys.argv``) -> (exit code, stderr)."""
    argv = [str(a) for a in argv]
    monkeypatch.setattr(sys, "argv", ["prog", *argv])
    monkeypatch.setenv("DEEPSWAP_LOG_DIR", str(Path(os.environ.get("DEEPSWAP_TEST_LOGS", "/tmp")) / "logs"))
    try:
        code = main() if from_argv else main(argv)
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


def clear(code: int, err: str, *names: str) -> None:
    """The contract: exit 2, one error line (warnings aside), no traceback, every name mentioned."""
    errors = [line for line in err.strip().splitlines() if ": warning: " not in line]
    assert code == 2, err
    assert len(errors) == 1 and ": error: " in errors[0] and "Traceback" not in err, err
    assert "weights_only=False" not in err
    for name in names:
        assert name in errors[0], (name, errors[0])


def test_errors_raised_inside_end_as_one_line_and_leave_no_run_folder(files, processes, tmp_path, capsys):
    from deepswap.data.folder import DataError
    from deepswap.errors import CheckpointError
    from deepswap.evaluation.protocol import EvaluationError
    from deepswap.faces.analyser import ModelPackError
    from deepswap.faces.video import MediaError
    from deepswap.inference.swapper import SwapError
    from deepswap.utils.config_check import ConfigError

    for cls in (
        CheckpointError,
        DataError,
        EvaluationError,
        ModelPackError,
        MediaError,
        SwapError,
        ConfigError,
    ):
        assert issubclass(cls, DeepswapError), cls
    assert issubclass(prepare.PrepareError, DeepswapError)
    # fails inside the Hydra run (the file exists and is a torch file, but no deepswap checkpoint)
    code, err, folder = processes["evaluate"]
    clear(code, err, "weights.pt", "not a deepswap training checkpoint")
    assert (folder / "logs").is_dir() and not list((folder / "logs").rglob(".hydra")), "run folder left"
    # resume from "last" of a fresh run folder: known only inside the run
    code, err, folder = processes["train_last"]
    clear(code, err, "ckpt_path=", "last.ckpt")
    assert (folder / "logs").is_dir() and not list((folder / "logs").rglob(".hydra")), "run folder left"
    # an error that Hydra's instantiate wrapped is reported by its cause; a bug keeps its traceback
    from hydra.errors import InstantiationException

    from deepswap.errors import report

    def wrapped(cause):
        try:
            raise cause
        except Exception as e:
            raise InstantiationException("Error in call to target 'x'") from e

    with pytest.raises(SystemExit) as stop, report("deepswap.train"):
        wrapped(DataError("data.root=/faces holds 1 identity; need 2"))
    assert stop.value.code == 2
    clear(2, capsys.readouterr().err, "data.root=/faces holds 1 identity")
    with pytest.raises(InstantiationException), report("deepswap.train"):
        wrapped(ZeroDivisionError("a bug"))
    # API: the same errors, raised
    with pytest.raises(DeepswapError, match="not a deepswap training checkpoint"):
        deepswap.evaluate(files / "weights.pt", output_dir=str(tmp_path / "api_eval"))
    assert not (tmp_path / "api_eval").exists()
    with pytest.raises(DeepswapError, match="does not exist"):
        deepswap.load_checkpoint(tmp_path / "none.ckpt")


def test_bad_values_stop_before_any_work(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DEEPSWAP_TEST_LOGS", str(tmp_path))
    for argv, names in [
        (["data.size=63"], ["data.size=63", "multiple of 8", "generator"]),
        (["total_kimg=-1"], ["total_kimg=-1"]),
        (["generator.id_dim=256"], ["generator.id_dim=256", "512"]),
        (["data.batch_size=0"], ["data.batch_size=0"]),
        (["-m", "data.size=32,63"], ["data.size=63"]),
        (["-m", "seed=0,1", "data.sise=64"], ["data.sise", "Did you mean 'data.size'"]),
    ]:
        clear(*call(train.main, argv, capsys, monkeypatch, from_argv=True), *names)
    for argv, names in [
        (["train", "threshold.rule=fp"], ["threshold.rule", "fpr, eer, logit0"]),
        (["train", "train.select=video_auc"], ["train.select=video_auc", "ffpp"]),
        (["train", "-m", "seed=0,1", "train.select=auc,loss"], ["train.select='loss'"]),
        (["train", "train.steps=0"], ["train.steps=0"]),
        (["lofo", "+lofo.families.gen=[/no/such.ckpt]"], ["lofo.families.gen", "/no/such.ckpt"]),
        (["lofo", "recipe.pseudo_fakes=[sbi,vae]"], ["recipe.pseudo_fakes", "'vae'"]),
        (["lofo", "~lofo.families.paste"], ["lofo.families", "at least 2"]),
        (["lofo", "+lofo.score.main=/no/det.pt"], ["lofo.score.main", "/no/det.pt"]),
    ]:
        clear(*call(detect.main, argv, capsys, monkeypatch, from_argv=True), *names)
    argv = [f"checkpoint={files / 'swap.ckpt'}", "num_pairs=0"]
    clear(*call(evaluate.main, argv, capsys, monkeypatch, True), "num_pairs=0")
    out = tmp_path / "faces"
    argv = ["--input", files / "empty", "--output", out, "--synthetic", "--size", "7", "--quiet"]
    clear(*call(prepare.main, argv, capsys, monkeypatch), "--size 7")
    assert not (out / "prepare.json").exists()
    assert not (tmp_path / "logs").exists()  # no run folder: every case stopped before Hydra started


def test_combinations_that_cannot_work_name_the_options(files, tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "simswap.ckpt"
    other = {"_target_": "deepswap.models.generators.simswap.SimSwapGenerator", "id_dim": 512}
    torch.save({"state_dict": {}, "deepswap": {"format": 1, "config": {"generator": other}}}, ckpt)
    cases = [
        (
            ["data=folder", f"data.root={files / 'empty'}"],
            ["identity=synthetic", "data=folder", "identity=arcface"],
        ),
        (["identity=arcface"], ["identity=arcface", "identity.path="]),
        (
            ["debug=fast", "identity=arcface", f"identity.path={files / 'weights.pt'}"],
            ["debug=fast", "identity"],
        ),
        ([f"ckpt_path={ckpt}"], ["ckpt_path=", "generator", "SimSwapGenerator"]),
        ([f"ckpt_path={files / 'junk.ckpt'}"], ["ckpt_path=", "junk.ckpt", "not a PyTorch"]),
        (["identity=arcface", f"identity.path={files / 'notes.txt'}"], ["identity.path=", "notes.txt"]),
        (["experiment=folder_256_gpu"], ["data.root"]),
    ]
    if not torch.cuda.is_available():
        cases.append((["trainer=gpu"], ["trainer=gpu", "trainer=cpu"]))
    for argv, names in cases:
        clear(*call(train.main, argv, capsys, monkeypatch, from_argv=True), *names)
    for name in ("runs_code.pth", "plain.pkl"):  # refused, and the pickle never runs
        with pytest.raises(DeepswapError, match=f"{name}.*(besides tensors|pickle)"):
            deepswap.load_checkpoint(files / name)
        assert "this pickle runs code" not in capsys.readouterr().out


def test_failure_is_not_reported_as_success(files, processes, tmp_path, capsys, monkeypatch):
    code, err, folder = processes["detect"]
    clear(code, err, "nothing could be scored", "frames.csv")
    assert len((folder / "preds" / "frames.csv").read_text().splitlines()) == 1 + len(bad_media(files))
    code, err, folder = processes["prepare"]
    clear(code, err, "no face crops", "failures.csv", "2 unreadable")
    out = folder / "faces"
    assert (out / "failures.csv").is_file() and not (out / "prepare.json").exists()
    argv = ["--input", files / "raw", "--output", out, "--synthetic", "--size", "128", "--quiet"]
    clear(*call(prepare.main, argv, capsys, monkeypatch), "no face crops")  # other settings: not refused
    scene = _scene(tmp_path)
    target = tmp_path / "o.png"
    argv = ["--checkpoint", files / "swap.ckpt", "--source", scene, "--target", scene, "--out", target]
    clear(
        *call(swap.main, [*argv, "--face-index", "99", "--synthetic"], capsys, monkeypatch), "--face-index 99"
    )
    assert not target.exists()


def _scene(tmp_path: Path) -> Path:
    from deepswap.data.synthetic import SyntheticFaceWorld
    from deepswap.faces import scenes

    world = SyntheticFaceWorld(1000, 200, seed=0)
    return scenes.write_scene(scenes.make_scene(world, [1005], seed=1), tmp_path / "scene.png")


def test_wording_names_the_input(files, processes, tmp_path, capsys, monkeypatch):
    clear(*call(detect.main, ["trian"], capsys, monkeypatch, True), "unknown command 'trian'", "'train'")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    argv = ["predict", files / "swap.ckpt", files / "corrupt.png", "--out", tmp_path / "p"]
    clear(*call(detect.main, argv, capsys, monkeypatch, True), "swap-model checkpoint", "swap.ckpt")
    argv = ["predict", files / "det.pt", files / "corrupt.png", "--out", blocker / "p"]
    clear(*call(detect.main, argv, capsys, monkeypatch, True), "cannot write", "a_file")
    argv = ["export", files / "det.pt", "--out", blocker / "d.onnx"]
    clear(*call(detect.main, argv, capsys, monkeypatch, True), "cannot write", "d.onnx")
    code, err, _ = processes["export"]
    clear(code, err, "cannot write", "m.onnx", "notes.txt is a file")
    argv = [files / "swap.ckpt", "--format", "safetensors", "--out", blocker]
    clear(*call(export.main, argv, capsys, monkeypatch), "cannot write --out", "a_file")
    argv = ["--input", files / "empty", "--output", blocker, "--synthetic", "--quiet"]
    clear(*call(prepare.main, argv, capsys, monkeypatch), "--output", "a_file")


def test_synthetic_model_on_photos_warns_in_one_line(files, capsys, monkeypatch):
    class Pack:
        def __init__(self, *a, **k):
            pass

    monkeypatch.setattr(swap, "FaceAnalyser", Pack)
    argv = ["--checkpoint", "c", "--source", "s", "--target", "t", "--out", "o", "--model-pack", "buffalo_l"]
    args = swap.build_parser().parse_args(argv)
    swap._analyser(args, [], "synthetic")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning" in err[0] and "never on real faces" in err[0]
    swap._analyser(args, [], "arcface")
    assert capsys.readouterr().err == ""


def test_every_entry_point_runs_as_a_process(processes):
    assert {"train", "evaluate", "detect", "prepare", "export", "swap"} <= {
        k.split("_")[0] for k in processes
    }
    code, err, _ = processes["swap"]
    clear(code, err, "notes.txt")


def test_api_raises_deepswap_errors_before_work(tmp_path, cfg_factory):
    cfg = cfg_factory(["data.size=63"])
    with pytest.raises(DeepswapError, match="data.size=63"):
        train.train(cfg)
    assert not Path(cfg.paths.output_dir).exists()
    cfg = cfg_factory()
    with open_dict(cfg):
        cfg.ckpt_path = str(tmp_path / "nope.ckpt")
    with pytest.raises(DeepswapError, match="ckpt_path=.*nope.ckpt"):
        train.train(cfg)
    with pytest.raises(DeepswapError, match="threshold.rule"):
        detect.train(["threshold.rule=median"], output_dir=str(tmp_path / "det"))
    assert not (tmp_path / "det").exists()
    (tmp_path / "raw" / "bob").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "raw" / "bob" / "x.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DeepswapError, match="--size 7"):
        prepare.prepare(tmp_path / "raw", tmp_path / "out", synthetic=True, size=7, progress=False)
    assert not (tmp_path / "out").exists()
