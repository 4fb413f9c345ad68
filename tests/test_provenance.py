"""Provenance: metadata round trips (PNG, JPEG, WebP, video fallbacks) and the invisible watermark."""

from __future__ import annotations

import io
import json
import os
import stat

import numpy as np
import pytest
from PIL import Image

from deepswap import provenance as pv
from deepswap.data.synthetic import SyntheticFaceWorld


@pytest.fixture(scope="module")
def world():
    return SyntheticFaceWorld(num_train_identities=50, num_heldout_identities=10, seed=0)


def face(world, index: int, size: int) -> np.ndarray:
    image = world.sample("train", index, size)["image"]  # (3, H, W) in [0, 1]
    return (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def images(world):
    """Faces at 128 and 256, a 720x1280 frame tiled from upsampled faces, a grey (H, W) face."""
    tiles = [np.asarray(Image.fromarray(face(world, 20 + i, 128)).resize((320, 360))) for i in range(8)]
    frame = np.concatenate([np.concatenate(tiles[:4], 1), np.concatenate(tiles[4:], 1)], 0)
    return {
        "face128_a": face(world, 0, 128),
        "face128_b": face(world, 1, 128),
        "face128_c": face(world, 2, 128),
        "face256": face(world, 3, 256),
        "frame720p": frame,
        "grey128": np.asarray(Image.fromarray(face(world, 4, 128)).convert("L")),
    }


def jpeg(image: np.ndarray, quality: int = 75) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf))


def half(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((w // 2, h // 2), Image.BICUBIC))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


# ------------------------------------------------------------------------------------------ metadata
@pytest.mark.parametrize("ext", [".png", ".jpg", ".jpeg", ".webp"])
def test_metadata_round_trip(tmp_path, images, ext):
    path = pv.save_image(tmp_path / f"out{ext}", images["face128_a"], {"checkpoint": "run7/last.ckpt"})
    record = pv.read_metadata(path)
    assert record["synthetic"] is True and record["generator"] == "deepswap"
    assert record["checkpoint"] == "run7/last.ckpt" and record["version"] and record["created"]
    if ext == ".png":  # lossless, and the record sits in a text chunk under our key
        with Image.open(path) as im:
            assert json.loads(im.info[pv.METADATA_KEY])["checkpoint"] == "run7/last.ckpt"
            assert np.array_equal(np.asarray(im), images["face128_a"])


def test_jpeg_carries_comment_and_exif(tmp_path, images):
    path = pv.save_image(tmp_path / "out.jpg", images["face128_a"], {"model": "m"})
    with Image.open(path) as im:
        assert json.loads(im.info["comment"])["model"] == "m"
        exif = im.info["exif"]
        assert json.loads(im.getexif()[0x010E])["model"] == "m"
    Image.open(path).save(tmp_path / "exif_only.jpg", exif=exif)  # a re-save that drops the comment
    assert pv.read_metadata(tmp_path / "exif_only.jpg")["model"] == "m"


def test_plain_image_has_no_provenance(tmp_path, images):
    Image.fromarray(images["face128_a"]).save(tmp_path / "plain.png")
    assert pv.read_metadata(tmp_path / "plain.png") is None


def test_save_errors(tmp_path, images):
    with pytest.raises(ValueError, match=r"\.png, \.jpg"):
        pv.save_image(tmp_path / "out.bmp", images["face128_a"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pv.save_image(tmp_path / "missing" / "out.png", images["face128_a"])
    with pytest.raises(TypeError, match="uint8"):
        pv.save_image(tmp_path / "out.png", images["face128_a"] / 255.0)
    with pytest.raises(TypeError, match="JSON"):
        pv.save_image(tmp_path / "out.png", images["face128_a"], {"bad": object()})


def test_record_cannot_deny_being_synthetic():
    record = pv.provenance_record({"synthetic": False, "generator": "camera", "model": "x"})
    assert record["synthetic"] is True and record["generator"] == "deepswap" and record["model"] == "x"
    assert pv.provenance_record(record)["created"] == record["created"]


def test_video_metadata_args():
    flag, value = pv.video_metadata_args({"checkpoint": "c"})
    assert flag == "-metadata" and value.startswith("comment=")
    assert json.loads(value[len("comment=") :])["checkpoint"] == "c"


def test_tag_video_without_ffmpeg_writes_sidecar(tmp_path, monkeypatch):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not really a video")
    monkeypatch.setattr(pv, "_ffmpeg", lambda: None)
    with pytest.raises(RuntimeError, match="install ffmpeg"):
        pv.tag_video(video, {"checkpoint": "c"})
    assert json.loads((tmp_path / "clip.mp4.provenance.json").read_text())["checkpoint"] == "c"
    assert pv.read_metadata(video)["checkpoint"] == "c"


@pytest.mark.skipif(os.name == "nt", reason="the stand-in ffmpeg is a POSIX shell script")
def test_tag_video_remuxes_with_ffmpeg(tmp_path, monkeypatch):
    """A stand-in ffmpeg on PATH records its arguments and copies input to output."""
    bin_dir, log = tmp_path / "bin", tmp_path / "args.txt"
    bin_dir.mkdir()
    fake = bin_dir / "ffmpeg"
    fake.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$FAKE_LOG"\nprev=""\n'
        'for a in "$@"; do [ "$prev" = "-i" ] && src="$a"; prev="$a"; done\ncp "$src" "$prev"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(log))
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"frames")
    assert pv.tag_video(video, {"checkpoint": "c"}) == video
    args = log.read_text().splitlines()
    assert args[args.index("-c") + 1] == "copy" and args[-1] != str(video)
    assert json.loads(args[args.index("-metadata") + 1][len("comment=") :])["checkpoint"] == "c"
    assert video.read_bytes() == b"frames" and not list(tmp_path.glob(".clip*"))


# ----------------------------------------------------------------------------------------- watermark
@pytest.mark.parametrize("name", ["face128_a", "face128_b", "face128_c", "face256", "frame720p", "grey128"])
def test_watermark_survives_jpeg75_then_half(images, name):
    clean = images[name]
    marked = pv.embed(clean)
    assert marked.shape == clean.shape and marked.dtype == np.uint8
    assert psnr(clean, marked) > 39.0
    assert not pv.verify(clean).detected
    assert not pv.verify(half(jpeg(clean))).detected
    attacked = pv.verify(half(jpeg(marked)))
    assert attacked.detected and attacked.score > 2 * attacked.threshold, attacked


def test_each_attack_alone_and_mirroring(images):
    marked = pv.embed(images["face128_b"])
    for attacked in (jpeg(marked), half(marked), marked[:, ::-1], jpeg(marked, 50)):
        assert pv.verify(attacked), pv.verify(attacked)


def test_other_key_does_not_verify(images):
    for image in (images["face128_a"], images["face256"]):
        marked = pv.embed(image, key=1234)
        assert pv.verify(half(jpeg(marked)), key=1234).detected
        for result in (pv.verify(marked), pv.verify(half(jpeg(marked)), key=99)):
            assert not result.detected and result.score < 4, result


def test_no_false_positives_on_clean_images(world):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:160, :200] / 200.0
    clean = [face(world, 100 + i, 64 * (1 + i % 3)) for i in range(24)]
    clean += [(np.dstack([x, y, 1 - x]) * rng.uniform(0, 255, 3)).astype(np.uint8) for _ in range(4)]
    clean += [rng.integers(0, 256, (96 + 32 * i, 128, 3), dtype=np.uint8) for i in range(4)]
    scores = np.array([pv.verify(image).score for image in clean])
    assert scores.max() < 4.5, scores.round(2)


def test_small_and_odd_shapes(images):
    small = np.asarray(Image.fromarray(images["face128_c"]).resize((97, 64)))
    rgba = np.dstack([images["face128_c"], np.full((128, 128), 200, np.uint8)])
    assert pv.verify(jpeg(pv.embed(small)))
    marked = pv.embed(rgba)
    assert pv.verify(marked) and (marked[..., 3] == 200).all()
    with pytest.raises(ValueError, match="at least 64"):
        pv.embed(images["face128_c"][:50])
    with pytest.raises(ValueError, match="non-negative"):
        pv.embed(images["face128_c"], key=-1)


def test_pooled_frames_verify_a_mark_too_weak_for_each_frame_and_keep_the_null(world):
    """A pan over a 720p mosaic of faces, marked at the minimum video strength and JPEG-compressed:
    pooling the frames finds what single frames miss; pooling unmarked frames, even identical ones,
    stays under the threshold (X does not depend on the key)."""
    tiles = [np.asarray(Image.fromarray(face(world, 40 + i, 128)).resize((240, 270))) for i in range(12)]
    mosaic = np.concatenate([np.concatenate(tiles[:6], 1), np.concatenate(tiles[6:], 1)], 0)  # 540 x 1440
    pan = [np.ascontiguousarray(mosaic[:, 12 * k : 12 * k + 960]) for k in range(24)]
    marked = [jpeg(pv.embed(f, strength=pv.MIN_VIDEO_STRENGTH), 85) for f in pan]
    result = pv.verify_frames(marked)
    assert result.frames == 24 and len(result.frame_scores) == 24
    assert np.median(result.frame_scores) < pv.DEFAULT_THRESHOLD <= result.score, result
    assert pv.verify_frames(marked[::-1]).score == pytest.approx(result.score)
    for clean in (pan, [pan[0]] * 24):
        assert pv.verify_frames(clean).score < 4.5
    assert pv.verify_frames([f[:, ::-1] for f in marked]).detected  # mirrored video
    with pytest.raises(ValueError, match="one size"):
        pv.verify_frames([pan[0], pan[0][:, :800]])
    with pytest.raises(ValueError, match="no frames"):
        pv.verify_frames([])


def test_video_marker_marks_still_shots_fully_and_moving_ones_weakly(world):
    tiles = [np.asarray(Image.fromarray(face(world, 60 + i, 128)).resize((240, 270))) for i in range(6)]
    mosaic = np.concatenate(tiles, 1)  # 270 x 1440
    still = [mosaic[:, :640]] * 5
    pan = [np.ascontiguousarray(mosaic[:, 16 * k : 16 * k + 640]) for k in range(1, 6)]
    marker = pv.VideoMarker()
    frames = [marker(f) for f in still + pan + [pan[-1]] * 3] + [marker(still[0], mark=False)]
    want = [pv.DEFAULT_STRENGTH] * 5 + [pv.DEFAULT_VIDEO_STRENGTH] * 5 + [pv.DEFAULT_VIDEO_STRENGTH] * 2
    assert marker.strengths == want + [pv.DEFAULT_STRENGTH]  # still again after `settle` frames
    assert np.array_equal(frames[5], pv.embed(pan[0], strength=pv.DEFAULT_VIDEO_STRENGTH))
    assert np.array_equal(frames[-1], still[0])  # seen, not marked
    assert all(pv.verify(f).detected for f in frames[:5])
    with pytest.raises(ValueError, match="strength"):
        pv.VideoMarker(strength=0.1)


def test_the_command_line_check_reports_both_layers(tmp_path, images, capsys):
    marked = pv.mark(images["face256"], {"checkpoint": "c"}, path=tmp_path / "swap.png")
    Image.fromarray(images["face256"]).save(tmp_path / "plain.png")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    files = [tmp_path / n for n in ("swap.png", "plain.png", "missing.png", "broken.jpg")]
    assert pv.main([str(f) for f in files]) == 2 and pv.verify(marked)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert "metadata: deepswap" in lines[0] and "watermark found" in lines[0]
    assert "no metadata" in lines[1] and "no watermark" in lines[1]
    assert "missing.png does not exist" in err and "cannot read" in err and "Traceback" not in err


def test_mark_writes_both_layers(tmp_path, images):
    path = tmp_path / "swap.jpg"
    marked = pv.mark(images["face256"], {"checkpoint": "c"}, path=path)
    assert pv.verify(marked) and pv.verify(path)
    assert pv.read_metadata(path)["checkpoint"] == "c"
