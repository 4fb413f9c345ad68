"""``deepswap.prepare`` on synthetic scenes and videos (faces known from their ``.faces.json``), and the
real-pictures notebook that uses it."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import execute_notebook

import deepswap.prepare as prep
from deepswap.data.extract import sample_indices, scan_sources
from deepswap.data.ffpp import FFPPDataModule
from deepswap.data.folder import DataError, IdentityFolder
from deepswap.data.ledger import LEDGER, read_failures, read_metadata_rows
from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.detection.data import scan_ffpp
from deepswap.faces import ModelPackError, scenes
from deepswap.faces.video import read_image

KW = dict(synthetic=True, template="synthetic", size=64, frames_per_video=5, progress=False)
EXPECTED_FAILURES = {
    ("person0/clip.avi", "10", "no_face"),  # an empty frame among the 5 sampled
    ("person1/broken.mp4", "", "undecodable_video"),
    ("person1/broken.png", "", "unreadable_image"),
    ("person2/low.png", "", "low_score"),
    ("person2/notes.doc", "", "unsupported_file"),
    ("person2/tiny.png", "", "too_small"),
    ("stray.png", "", "no_identity_folder"),
}


@pytest.fixture(scope="module")
def world():
    return SyntheticFaceWorld(1000, 200, seed=0)


@pytest.fixture(scope="module")
def raw(world, tmp_path_factory):
    """input/<person>/...: 5 pictures (one with two faces), a 20-frame video, and bad files."""
    root = tmp_path_factory.mktemp("raw")
    for d in ("person0", "person1", "person2"):
        (root / d).mkdir()

    scenes.write_scene(scenes.make_scene(world, [1005], (240, 320), 1, 128), root / "person0/img0.png")
    scenes.make_video(
        world, root / "person0/clip.avi", 20, [1005], (180, 240), render_size=128, empty_frames=[10]
    )
    scenes.write_scene(scenes.make_scene(world, [1010, 1020], (240, 320), 2, 128), root / "person1/group.png")
    (root / "person1/broken.png").write_bytes(b"not a picture")
    annotated = scenes.annotation_path(root / "person1/group.png")  # its faces, but no picture to read
    shutil.copy(annotated, scenes.annotation_path(root / "person1/broken.png"))
    (root / "person1/broken.mp4").write_bytes(b"not a video")
    for k in range(2):
        scenes.write_scene(
            scenes.make_scene(world, [1030], (240, 320), 3 + k, 128), root / f"person2/img{k}.png"
        )
    low = scenes.make_scene(world, [1030], (240, 320), 5, 128)
    low.faces[0].det_score = 0.3
    scenes.write_scene(low, root / "person2/low.png")
    tiny = scenes.make_scene(world, [1030], (240, 320), 6, 128, face_height=0.08)
    scenes.write_scene(tiny, root / "person2/tiny.png")
    (root / "person2/notes.doc").write_bytes(b"minutes")
    scenes.write_scene(scenes.make_scene(world, [1040], (240, 320), 7, 128), root / "stray.png")
    return root


@pytest.fixture(scope="module")
def prepared(raw, tmp_path_factory):
    """One serial run, all faces kept: (output folder, report)."""
    out = tmp_path_factory.mktemp("prepared") / "faces"
    return out, prep.prepare(raw, out, keep="all", **KW)


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file of an output folder but the ledger (its lines are in completion order)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != LEDGER
    }


def test_crops_metadata_and_failures(raw, prepared):
    out, report = prepared
    rows = read_metadata_rows(out)
    crops = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.png"))
    assert crops == sorted(r["crop"] for r in rows) and len(rows) == report.totals["crops"] == 9
    assert report.files == report.processed == 11 and report.skipped == report.remaining == 0
    for row in rows:
        crop = read_image(out / row["crop"])
        assert crop.shape == (64, 64, 3) and (row["size"], row["template"]) == (64, "synthetic")
        faces = scenes.read_annotations(raw / row["source"])[row["frame"] or 0]
        face = faces[row["face"]]
        np.testing.assert_allclose(row["kps"], face.kps, atol=0.01)
        np.testing.assert_allclose(row["bbox"], face.bbox, atol=0.01)
        assert row["world_identity"] == face.identity and row["identity"] == row["source"].split("/")[0]
        if row["frame"] is None:  # the crop is the source warped by the recorded matrix
            source = read_image(raw / row["source"])
            again = cv2.warpAffine(source, np.array(row["matrix"]), (64, 64), borderMode=cv2.BORDER_REPLICATE)
            assert np.abs(again.astype(int) - crop).mean() < 1.0
    assert {r["crop"] for r in rows if r["source"] == "person1/group.png"} == {
        "person1/group_0.png",
        "person1/group_1.png",
    }
    failures = read_failures(out)
    assert {(f["source"], f["frame"], f["reason"]) for f in failures} == EXPECTED_FAILURES
    assert report.failures == {reason: 1 for *_, reason in EXPECTED_FAILURES}
    assert "too_small 1" in report.summary() and "data=folder data.root=" in report.train_command


def test_video_frames_are_sampled_evenly(prepared):
    assert sample_indices(20, 5) == [2, 6, 10, 14, 18]
    assert sample_indices(30, 10) == list(range(1, 30, 3))
    assert sample_indices(4, 10) == sample_indices(4, 0) == [0, 1, 2, 3]
    frames = [r["frame"] for r in read_metadata_rows(prepared[0]) if r["source"] == "person0/clip.avi"]
    assert frames == [2, 6, 14, 18]  # frame 10 is empty: a no_face failure


def test_keep_largest_keeps_one_face_per_picture(raw, prepared, tmp_path):
    report = prep.prepare(raw, tmp_path / "largest", keep="largest", **KW)
    rows = read_metadata_rows(tmp_path / "largest")
    group = [r for r in rows if r["source"] == "person1/group.png"]
    all_group = [r for r in read_metadata_rows(prepared[0]) if r["source"] == "person1/group.png"]
    area = lambda r: (r["bbox"][2] - r["bbox"][0]) * (r["bbox"][3] - r["bbox"][1])
    assert [r["crop"] for r in group] == ["person1/group.png"]
    assert group[0]["kps"] == max(all_group, key=area)["kps"]
    assert len(rows) == report.totals["crops"] == 8 and report.failures == prepared[1].failures


def test_resume_after_interruption_processes_only_missing_files(raw, prepared, tmp_path, monkeypatch):
    out = tmp_path / "faces"
    first = prep.prepare(raw, out, keep="all", max_files=2, **KW)
    assert (first.processed, first.remaining) == (2, 9) and "run the same command" in first.summary()
    seen, real_work = [], prep._work

    def interrupted(src):
        if len(seen) == 3:
            raise KeyboardInterrupt
        seen.append(src.rel)
        return real_work(src)

    monkeypatch.setattr(prep, "_work", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prep.prepare(raw, out, keep="all", **KW)
    assert len((out / LEDGER).read_text().splitlines()) == 5
    with open(out / LEDGER, "a") as f:
        f.write('{"source": "person2/img1.png", "crops": [')  # a line torn by the kill
    (out / "person0/img0_0.png").unlink()  # a crop lost after its file was recorded
    seen.clear()
    monkeypatch.setattr(prep, "_work", lambda src: seen.append(src.rel) or real_work(src))
    final = prep.prepare(raw, out, keep="all", **KW)
    done_before = {"person0/clip.avi", "person1/broken.mp4", "person1/broken.png", "person1/group.png"}
    assert set(seen) == {s.rel for s in scan_sources(raw)} - done_before
    assert (final.skipped, final.processed, final.remaining) == (4, 7, 0)
    assert snapshot(out) == snapshot(prepared[0])
    with pytest.raises(
        prep.PrepareError, match=r"other settings \(size 64 -> 32; keep .all. -> .largest.\).*new --output"
    ):
        prep.prepare(raw, out, **{**KW, "size": 32})


def test_two_workers_give_the_serial_output(raw, prepared, tmp_path):
    report = prep.prepare(raw, tmp_path / "faces", keep="all", workers=2, **KW)
    assert report.processed == 11
    assert snapshot(tmp_path / "faces") == snapshot(prepared[0])


def test_output_is_a_training_folder(prepared, cfg_factory):
    from hydra.utils import instantiate

    out = prepared[0]
    folder = IdentityFolder(out, 64)
    assert folder.identity_names == ["person0", "person1", "person2"] and len(folder) == 9
    overrides = ["data=folder", f"data.root={out}", "data.alignment=synthetic", "data.num_workers=0"]
    cfg = cfg_factory([*overrides, "data.test_identity_share=0"])  # 3 people: train 2, val 1, no test
    dm = instantiate(cfg.data)
    dm.setup("fit")
    names = dm.val_set.folder.identity_names
    assert {names[k] for k in dm.val_set.folder.labels} == {"person2"}
    batch = next(iter(dm.train_dataloader()))
    assert batch["target"].shape[1:] == (3, cfg.data.size, cfg.data.size)


def test_ffpp_layout_writes_the_frames_tree(world, tmp_path):
    src = tmp_path / "ffpp"
    videos = {
        "original_sequences/youtube/c23/videos/000.avi": [1005],
        "original_sequences/youtube/c23/videos/001.avi": [1010],
        "manipulated_sequences/Deepfakes/c23/videos/000_001.avi": [1010],
        "manipulated_sequences/Deepfakes/masks/videos/000_001.avi": [1010],  # not a quality: ignored
    }
    for rel, ids in videos.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        scenes.make_video(world, src / rel, 4, ids, (120, 160), render_size=64)
    out = tmp_path / "frames"
    report = prep.prepare(src, out, layout="ffpp", **{**KW, "frames_per_video": 2, "min_face": 0})
    assert report.totals["crops"] == 6 and not report.failures and "data=ffpp" in report.train_command
    assert (out / "original_sequences/youtube/c23/frames/000/000_f000001.png").is_file()
    found = scan_ffpp(out, methods=("Deepfakes",))
    assert [(v.method, v.name, Path(v.path).is_dir()) for v in found] == [
        ("original", "000", True),
        ("original", "001", True),
        ("Deepfakes", "000_001", True),
    ]
    frames = FFPPDataModule(str(out), split_file="unused.json").frames_root()
    assert IdentityFolder(frames, 32).identity_names == ["000", "001"]


def test_scan_names_nested_and_clashing_files_and_refuses_flat_folders(tmp_path):
    for rel in ("p/a.jpg", "p/a.png", "p/2019/b.png", "p/.hidden/c.png", "p/a.png.faces.json", "q/d.mp4"):
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / rel).write_bytes(b"")
    found = [(s.rel, s.identity, s.stem) for s in scan_sources(tmp_path / "in")]
    assert found == [
        ("p/2019/b.png", "p", "2019__b"),
        ("p/a.jpg", "p", "a_jpg"),
        ("p/a.png", "p", "a_png"),
        ("q/d.mp4", "q", "d"),
    ]
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat/x.png").write_bytes(b"")
    with pytest.raises(DataError, match="no identity sub-folders"):
        scan_sources(tmp_path / "flat")


def test_missing_model_pack_and_missing_detector_are_named(raw, tmp_path, capsys):
    pack = tmp_path / "buffalo_l"
    with pytest.raises(ModelPackError, match="does not exist.*det_10g.onnx.*--model-pack"):
        prep.prepare(raw, tmp_path / "out", model_pack=pack, progress=False)
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as exit_:
        prep.main(["--input", str(raw), "--output", str(tmp_path / "out"), "--model-pack", str(pack)])
    assert exit_.value.code == 2 and f"model pack folder {pack} does not exist" in capsys.readouterr().err
    with pytest.raises(prep.PrepareError, match="model_pack=DIR .* or synthetic=True"):
        prep.prepare(raw, tmp_path / "out")
    with pytest.raises(prep.PrepareError, match="must not contain one another"):
        prep.prepare(raw, raw / "faces", synthetic=True)


def test_swap_real_notebook_executes(tiny_run, monkeypatch):
    cfg = tiny_run[0]
    monkeypatch.setenv("DEEPSWAP_CKPT", str(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"))
    outputs = execute_notebook("04_swap_real.ipynb")
    assert not [o for o in outputs if o.get("output_type") == "error"]
    figures = [o for o in outputs if o.get("output_type") == "display_data" and "image/png" in o["data"]]
    assert len(figures) >= 2, "the crops and the before / after figure were not shown"
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "watermark detected: True" in text and "before: False" in text
