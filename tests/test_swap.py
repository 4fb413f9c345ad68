"""FaceSwapper and ``python -m deepswap.swap`` on synthetic scenes (no face models needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from deepswap import provenance
from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.faces import SyntheticSceneAnalyser, scenes
from deepswap.faces.region import face_outline
from deepswap.faces.video import iter_frames, read_image
from deepswap.inference.swapper import FaceSwapper, NoFaceError
from deepswap.swap import main

IDS = [1005, 1010, 1020]


def build_checkpoint(path: Path, size: int = 64) -> Path:
    """A deepswap checkpoint with a random DeepSwap-Lite whose mask starts open (so swaps show)."""
    gen_cfg = {
        "_target_": "deepswap.models.generators.deepswap_lite.DeepSwapLiteGenerator",
        **dict(id_dim=64, base_channels=8, max_channels=16, n_down=2, n_blocks=1, w_dim=32),
        **dict(mask_bias_init=2.0, residual_rgb=False),
    }
    enc_spec = {
        "_target_": "deepswap.models.identity.conv.ConvIdentityEncoder",
        **dict(embedding_size=64, width=8, input_size=32),
    }
    torch.manual_seed(0)
    gen, enc = instantiate(gen_cfg), instantiate(enc_spec)
    state = {"ema.shadow." + k: v for k, v in gen.state_dict().items()}
    state |= {"identity_encoder." + k: v for k, v in enc.state_dict().items()}
    cfg = {
        "generator": gen_cfg,
        "data": {"_target_": "deepswap.data.datamodule.SyntheticDataModule", "size": size},
    }
    torch.save(
        {"state_dict": state, "deepswap": {"format": 1, "config": cfg, "identity_encoder": enc_spec}}, path
    )
    return path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return build_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")


@pytest.fixture(scope="module")
def world():
    return SyntheticFaceWorld(1000, 200, seed=0)


@pytest.fixture(scope="module")
def scene(world):
    return scenes.make_scene(world, IDS, seed=1)


@pytest.fixture(scope="module")
def source(world):
    return scenes.render_face(world, 1030, world.attribute_factors("heldout", 5), 128)


@pytest.fixture
def swapper(ckpt, scene, source):
    analyser = SyntheticSceneAnalyser()
    analyser.add_scene(scene)
    analyser.add_scene(source)
    return FaceSwapper.from_checkpoint(ckpt, analyser=analyser)


def _footprints(scene) -> list[np.ndarray]:
    """Per face: the frame pixels inside its face outline (what a swap may change), dilated by 2 px."""
    out = []
    for face in scene.faces:
        inside = np.zeros(scene.image.shape[:2], np.uint8)
        outline = face_outline(face.kps, template="synthetic")
        cv2.fillPoly(inside, [np.round(outline).astype(np.int32)], 1)
        out.append(cv2.dilate(inside, np.ones((5, 5), np.uint8)) > 0)
    return out


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).max(2)


def test_swap_changes_only_the_faces_and_carries_provenance(swapper, scene, source, tmp_path):
    out = tmp_path / "out.png"
    result = swapper.swap(source.image, scene.image, out=out)
    assert result.swapped == [0, 1, 2] and result.path == out
    diff, feet = _diff(result.image, scene.image), _footprints(scene)
    assert all(diff[f].mean() > 10 for f in feet)
    outside = diff[~np.any(feet, 0)]
    assert outside.max() <= 16 and np.percentile(outside, 99.9) <= 10  # the watermark alone
    record = provenance.read_metadata(out)
    assert record["synthetic"] and record["faces_swapped"] == 3 and record["template"] == "synthetic"
    assert record["checkpoint"].endswith("tiny.ckpt")
    assert provenance.verify(out).detected
    assert np.array_equal(read_image(out), result.image)


def test_face_index_swaps_one_face(swapper, scene, source):
    result = swapper.swap(source.image, scene.image, face_index=1)
    assert result.swapped == [1]
    diff, feet = _diff(result.image, scene.image), _footprints(scene)
    assert diff[feet[1]].mean() > 10 and diff[feet[0]].mean() < 4 and diff[feet[2]].mean() < 4
    assert swapper.swap(source.image, scene.image, face_index=5).swapped == []  # out of range: none


def test_reference_selects_the_matching_face(swapper, world, scene, source):
    reference = scenes.render_face(world, IDS[2], world.attribute_factors("heldout", 77), 128)
    swapper.analyser.add_scene(reference)  # the same person as face 2, another pose and expression
    result = swapper.swap([source.image, source.image], scene.image, reference=reference.image)
    assert result.swapped == [2]
    diff, feet = _diff(result.image, scene.image), _footprints(scene)
    assert diff[feet[2]].mean() > 10 and diff[feet[0]].mean() < 4
    faces = swapper.detect(scene.image)  # the model's own encoder: a face matches its own crop
    own = (swapper.embed(swapper.crops(scene.image, [faces[0]])[0]), None)
    swapper.match_with = "model"
    assert 0 in swapper.select(scene.image, faces, reference=own)


def test_no_face_passes_through_unchanged_and_unmarked(swapper, source, tmp_path):
    empty = scenes.gradient_background(240, 320, seed=3)
    result = swapper.swap(source.image, empty, out=tmp_path / "same.png")
    assert result.swapped == [] and result.faces == []
    assert np.array_equal(result.image, empty) and np.array_equal(read_image(tmp_path / "same.png"), empty)
    assert provenance.read_metadata(tmp_path / "same.png") is None
    with pytest.raises(NoFaceError, match="no face found in the source"):
        swapper.swap(empty, empty)


def test_video_round_trip_counts_frames_and_tags_provenance(swapper, world, source, tmp_path):
    clip, out = tmp_path / "clip.mp4", tmp_path / "swapped.avi"
    scenes.make_video(world, clip, num_frames=6, identities=[1005], size=(360, 640), empty_frames=[2])
    analyser = SyntheticSceneAnalyser.from_files([clip])
    analyser.add_scene(source)
    swapper.analyser = analyser
    report = swapper.swap_video(source.image, clip, out, progress=False)
    assert (report.frames, report.frames_swapped, report.frames_without_face, report.faces_swapped) == (
        6,
        5,
        1,
        5,
    )
    before, after = list(iter_frames(clip)), list(iter_frames(out))
    assert len(after) == 6 and after[0].shape == (360, 640, 3)
    assert np.abs(after[2].astype(int) - before[2]).mean() < 3  # passed through (re-encoded only)
    inside = _footprints(SimpleNamespace(image=before[0], faces=analyser.detect(before[0])))[0]
    assert np.abs(after[0].astype(int) - before[0])[inside].mean() > 6  # the face changed
    pooled = provenance.verify_video(out)  # moving frames carry the weaker video mark: pooled
    assert pooled.detected and pooled.frames == 6
    assert min(pooled.frame_scores[:2]) > 12 > max(pooled.frame_scores[2:])  # still start, then motion
    assert "watermark found" in provenance.check(out) and "pooled over 6 frames" in provenance.check(out)
    assert not provenance.verify(after[2]).detected and not provenance.verify_frames(before).detected
    record = provenance.read_metadata(out)  # container comment with ffmpeg, else the sidecar
    assert record["synthetic"] and record["faces_swapped"] == 5
    assert record["watermark_strength"] == {"moving": provenance.DEFAULT_VIDEO_STRENGTH, "still": 2.5}
    assert ("no ffmpeg" in report.audio) == (__import__("shutil").which("ffmpeg") is None)
    assert set(report.timings) >= {"decode", "detect", "align", "swap", "paste", "encode"}


def test_a_real_training_checkpoint_swaps(tiny_run, world, scene, source):
    path = Path(tiny_run[2]["trainer"].checkpoint_callback.dirpath) / "last.ckpt"
    analyser = SyntheticSceneAnalyser()
    analyser.add_scene(scene)
    analyser.add_scene(source)
    swapper = FaceSwapper.from_checkpoint(path, analyser=analyser)
    assert swapper.template == "synthetic" and swapper.size == tiny_run[0].data.size
    result = swapper.swap(source.image, scene.image)
    assert result.swapped == [0, 1, 2] and result.image.shape == scene.image.shape


# ------------------------------------------------------------------------------------------- CLI
@pytest.fixture
def files(scene, source, tmp_path):
    return {
        "scene": scenes.write_scene(scene, tmp_path / "scene.png"),
        "source": scenes.write_scene(source, tmp_path / "source.png"),
    }


def _cli(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_swaps_an_image_and_a_folder(ckpt, files, tmp_path, capsys):
    out = tmp_path / "out.jpg"
    args = ["--checkpoint", ckpt, "--source", files["source"], "--target", files["scene"], "--out", out]
    code, stdout, _ = _cli(capsys, *args, "--synthetic", "--face-index", "2")
    assert code == 0 and "1 faces swapped" in stdout
    assert provenance.read_metadata(out)["faces_swapped"] == 1
    folder = tmp_path / "in"
    folder.mkdir()
    scenes.write_scene(
        scenes.SyntheticScene(scenes.gradient_background(120, 160, 4), []), folder / "empty.png"
    )
    cv2.imwrite(str(folder / "scene.png"), cv2.imread(str(files["scene"])))
    scenes.write_annotations(folder / "scene.png", [scenes.read_annotations(files["scene"])[0]], (720, 1280))
    code, stdout, _ = _cli(capsys, "--checkpoint", ckpt, "--source", files["source"], "--target", folder,
                           "--out", tmp_path / "outdir")  # fmt: skip
    assert code == 0 and "3 faces swapped in 2 image(s); 1 without a face" in stdout
    assert sorted(p.name for p in (tmp_path / "outdir").iterdir()) == ["empty.png", "scene.png"]


def test_cli_swaps_a_video(ckpt, files, world, tmp_path, capsys):
    clip = tmp_path / "clip.avi"
    scenes.make_video(world, clip, num_frames=3, identities=[1005], size=(180, 320), empty_frames=[1])
    code, stdout, _ = _cli(capsys, "--checkpoint", ckpt, "--source", files["source"], "--target", clip,
                           "--out", tmp_path / "o.mp4", "--quiet")  # fmt: skip
    assert code == 0 and "3 frames, 2 faces swapped in 2; 1 frames without a face" in stdout


def test_cli_detects_on_keyframes_and_follows_the_face_between_them(ckpt, files, world, tmp_path, capsys):
    clip = tmp_path / "clip4.avi"
    scenes.make_video(world, clip, num_frames=4, identities=[1005], size=(180, 320))
    code, stdout, _ = _cli(capsys, "--checkpoint", ckpt, "--source", files["source"], "--target", clip,
                           "--out", tmp_path / "o.mp4", "--quiet", "--detect-every", "2")  # fmt: skip
    assert code == 0 and "4 frames, 4 faces swapped in 4" in stdout
    code, _, err = _cli(capsys, "--checkpoint", ckpt, "--source", files["source"], "--target", clip,
                        "--out", tmp_path / "p.mp4", "--quiet", "--detect-every", "0")  # fmt: skip
    assert code == 2 and "--detect-every must be >= 1" in err
    for flag, value, message in (
        ("--det-size", "300", "--det-size must be a multiple of 32"),
        ("--video-watermark-strength", "0", "the watermark cannot be turned off"),
    ):
        code, _, err = _cli(capsys, "--checkpoint", ckpt, "--source", files["source"], "--target", clip,
                            "--out", tmp_path / "q.mp4", "--quiet", flag, value)  # fmt: skip
        assert code == 2 and message in err and not (tmp_path / "q.mp4").exists()


def test_cli_compile_flag_compiles_the_generator(ckpt, files, world, tmp_path, capsys, monkeypatch):
    """``--compile`` goes through ``SwapModel.compile`` (torch.compile itself is stubbed: compiling
    takes 30-40 s; ``tests/test_models.py`` has the slow test of the real one)."""
    from deepswap.inference.model import SwapModel

    calls = []

    def fake_compile(self, **options):
        calls.append(options)
        self.compiled = lambda x, z: (calls.append(x.shape[0]), self.generator(x, z))[1]
        return self

    monkeypatch.setattr(SwapModel, "compile", fake_compile)
    clip = tmp_path / "clip3.avi"
    scenes.make_video(world, clip, num_frames=3, identities=[1005], size=(180, 320))
    code, stdout, _ = _cli(capsys, "--checkpoint", ckpt, "--source", files["source"], "--target", clip,
                           "--out", tmp_path / "o.mp4", "--quiet", "--compile")  # fmt: skip
    assert code == 0 and "3 frames, 3 faces swapped" in stdout
    assert calls[0] == {} and sum(calls[1:]) == 3  # compiled once, then every face went through it


@pytest.mark.parametrize(
    "case, message",
    [
        ("unreadable source", "cannot read .*bad.png: not an image"),
        ("missing target", "cannot read .*nothing.png: no such file"),
        ("unsupported target", "unsupported target format '.txt'"),
        ("unreadable video", "cannot read .*broken.mp4: not a video"),
        ("unwritable output", "cannot write .*: folder .*missing does not exist"),
        ("bad output format", "image output must be one of"),
        ("not a checkpoint", "not a deepswap training checkpoint"),
        ("missing checkpoint", "checkpoint .* does not exist"),
        ("source without a face", "no face found in the source .*faces.json"),
        ("missing model pack", "det_10g.onnx.*w600k_r50.onnx"),
    ],
)
def test_cli_bad_input_gives_one_line_and_exit_2(case, message, ckpt, files, tmp_path, capsys):
    args = {
        "--checkpoint": ckpt,
        "--source": files["source"],
        "--target": files["scene"],
        "--out": tmp_path / "o.png",
    }
    extra = ["--synthetic"]
    if case == "unreadable source":
        args["--source"] = tmp_path / "bad.png"
        args["--source"].write_text("not an image")
    elif case == "missing target":
        args["--target"] = tmp_path / "nothing.png"
    elif case == "unsupported target":
        args["--target"] = tmp_path / "notes.txt"
        args["--target"].write_text("hello")
    elif case == "unreadable video":
        args["--target"], args["--out"] = tmp_path / "broken.mp4", tmp_path / "o.mp4"
        args["--target"].write_bytes(b"\x00" * 100)
    elif case == "unwritable output":
        args["--out"] = tmp_path / "missing" / "o.png"
    elif case == "bad output format":
        args["--out"] = tmp_path / "o.gif"
    elif case == "not a checkpoint":
        args["--checkpoint"] = tmp_path / "other.ckpt"
        torch.save({"state_dict": {}}, args["--checkpoint"])
    elif case == "missing checkpoint":
        args["--checkpoint"] = tmp_path / "none.ckpt"
    elif case == "source without a face":
        args["--source"] = tmp_path / "plain.png"
        cv2.imwrite(str(args["--source"]), np.zeros((64, 64, 3), np.uint8))
    elif case == "missing model pack":
        extra = ["--model-pack", tmp_path / "buffalo_l"]
    code, _, err = _cli(capsys, *[x for kv in args.items() for x in kv], *extra)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("deepswap.swap: error: ")
    import re

    assert re.search(message, err), err


def test_cli_process_exits_2_without_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "deepswap.swap", "--checkpoint", str(tmp_path / "x.ckpt"), "--source",
         str(tmp_path / "s.png"), "--target", str(tmp_path / "t.png"), "--out", str(tmp_path / "o.png")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"deepswap.swap: error: cannot read {tmp_path / 's.png'}: no such file"
