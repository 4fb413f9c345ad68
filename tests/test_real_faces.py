"""The real-face path on real photos with a real SCRFD detector (the ``make fixtures`` cache).

The pack is a temporary folder holding only the fixtures' SCRFD-2.5G as ``det_10g.onnx``: a
detector-only pack, which a swap without ``--reference`` accepts. The swap model is a tiny random
DeepSwap-Lite at 128 px trained on nothing: what is checked is the pipeline (where faces are, what
changes, what the encoder sees), not the quality of a swap.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from deepswap import provenance
from deepswap.faces.analyser import FaceAnalyser, ModelPackError
from deepswap.faces.region import face_outline
from deepswap.faces.video import VideoWriter, read_image, write_image
from deepswap.inference.model import SwapModel
from deepswap.inference.swapper import FaceSwapper

SIZE = 128
GENERATOR = {
    "_target_": "deepswap.models.generators.deepswap_lite.DeepSwapLiteGenerator",
    **dict(id_dim=512, base_channels=8, max_channels=16, n_down=2, n_blocks=1, w_dim=32),
    **dict(mask_bias_init=2.0, residual_rgb=False),
}
ENCODER = {
    "_target_": "deepswap.models.identity.conv.ConvIdentityEncoder",
    **dict(embedding_size=512, width=8, input_size=112),
}


def build_real_checkpoint(path: Path, size: int = SIZE) -> Path:
    """A checkpoint of a tiny random DeepSwap-Lite trained (nominally) on ArcFace crops of ``size`` px."""
    torch.manual_seed(0)
    gen, enc = instantiate(GENERATOR), instantiate(ENCODER).eval()
    state = {"ema.shadow." + k: v for k, v in gen.state_dict().items()}
    state |= {"identity_encoder." + k: v for k, v in enc.state_dict().items()}
    cfg = {"generator": GENERATOR, "data": {"size": size, "alignment": "arcface"}}
    meta = {"format": 1, "config": cfg, "identity_encoder": ENCODER}
    torch.save({"state_dict": state, "deepswap": meta}, path)
    return path


@pytest.fixture(scope="module")
def photos(real_fixtures) -> dict[str, Path]:
    found = {p.name: p for p in (real_fixtures / "scrfd/images").iterdir()}
    found |= {p.name: p for p in (real_fixtures / "face_recognition/tests/test_images").iterdir()}
    return found


@pytest.fixture(scope="module")
def pack(real_fixtures, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pack")
    shutil.copy(real_fixtures / "scrfd/models/scrfd.onnx", folder / "det_10g.onnx")
    return folder


@pytest.fixture(scope="module")
def analyser(pack) -> FaceAnalyser:
    return FaceAnalyser(pack, threads=1)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return build_real_checkpoint(tmp_path_factory.mktemp("real_ckpt") / "real.ckpt")


@pytest.fixture(scope="module")
def swapper(ckpt, analyser) -> FaceSwapper:
    return FaceSwapper.from_checkpoint(ckpt, analyser=analyser)


@pytest.fixture(scope="module")
def group(photos) -> np.ndarray:
    """The Solvay photo at half size (1500 x 1085), 29 faces of 25-45 px."""
    return cv2.resize(
        read_image(photos["solvay_conference_1927.jpg"]), (1500, 1085), interpolation=cv2.INTER_AREA
    )


def _truth(real_fixtures) -> dict[str, np.ndarray]:
    """scrfd's ground truth -> {image name: (7, 2) box corners then 5 keypoints} (integer-truncated px)."""
    text = (real_fixtures / "scrfd/tests/truth_faces.py").read_text()
    out = {}
    for name, body in re.findall(r'"(\w+\.png)": \[(.*?)\n    \]', text, re.S):
        pts = re.findall(r"Point\(x=([\d.]+), y=([\d.]+)\)", body)
        out[name] = np.array(pts, np.float64)
    return out


def _inside(image_shape, faces, dilate: int = 2) -> np.ndarray:
    """(H, W) bool: pixels inside any face outline, grown by ``dilate`` px."""
    inside = np.zeros(image_shape[:2], np.uint8)
    for face in faces:
        cv2.fillPoly(inside, [np.round(face_outline(face.kps)).astype(np.int32)], 1)
    return cv2.dilate(inside, np.ones((2 * dilate + 1,) * 2, np.uint8)) > 0


def test_scrfd_finds_the_known_faces_within_the_ground_truth(analyser, photos, real_fixtures):
    truth = _truth(real_fixtures)
    assert set(truth) == {"newton.png", "gauss.png"}
    for name, want in truth.items():
        faces = analyser.detect(read_image(photos[name]))
        assert len(faces) == 1
        got = np.concatenate([faces[0].bbox.reshape(2, 2), faces[0].kps])
        assert np.abs(got - want).max() < 3.0, (name, got - want)  # truth is truncated to whole px
    crowd = analyser.detect(read_image(photos["solvay_conference_1927.jpg"]))
    assert len(crowd) == 29
    for face in crowd:
        assert (face.kps >= face.bbox[:2]).all() and (face.kps <= face.bbox[2:]).all()


def test_the_identity_encoder_sees_insightface_norm_crops(ckpt, analyser, photos):
    from insightface.utils.face_align import norm_crop

    seen = []
    model = SwapModel.from_checkpoint(ckpt)
    hook = model.identity_encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    image = read_image(photos["obama.jpg"])
    face = analyser.detect(image)[0]
    FaceSwapper(model, analyser).source_embedding(image)
    hook.remove()
    got = ((seen[0][0].permute(1, 2, 0).numpy() + 1) * 127.5).round()
    want = norm_crop(image, face.kps, 112).astype(np.float64)
    assert got.shape == (112, 112, 3)
    assert np.abs(got - want).max() <= 1.0  # rounding of the 128 px crop only
    naive = cv2.resize(FaceSwapper(model, analyser).crops(image, [face])[0][0], (112, 112))
    assert np.abs(naive.astype(float) - want).mean() > 10  # what resizing the crop would have shown


def test_image_swap_changes_the_faces_and_nothing_outside_them(swapper, group, tmp_path):
    result = swapper.swap(group, group, out=tmp_path / "out.png")
    assert len(result.faces) == 29 and result.swapped == list(range(29))
    diff = np.abs(result.image.astype(int) - group).max(2)
    inside = _inside(group.shape, result.faces)
    watermark = np.abs(provenance.embed(group).astype(int) - group).max(2)
    assert diff[~inside].max() <= watermark.max() + 1
    assert np.percentile(diff[~inside], 99.9) <= np.percentile(watermark, 99.9) + 1
    crops, mats = swapper.crops(group, result.faces)
    fakes, masks = swapper.generate(crops, swapper.source_embedding(group))
    pasted = swapper.composite(group, result.faces, crops, mats, fakes, masks)  # no watermark
    assert np.array_equal(pasted[~inside], group[~inside])
    changed = np.abs(pasted.astype(int) - group).max(2)
    assert np.mean([changed[_inside(group.shape, [f], 0)].mean() > 5 for f in result.faces]) > 0.9
    assert provenance.verify(tmp_path / "out.png").detected


def test_reference_picks_the_same_photo_and_needs_a_recogniser_on_the_cli(swapper, photos, pack, tmp_path):
    obama, biden = read_image(photos["obama.jpg"]), read_image(photos["biden.jpg"])
    side = np.zeros((max(obama.shape[0], biden.shape[0]), obama.shape[1] + biden.shape[1], 3), np.uint8)
    side[: obama.shape[0], : obama.shape[1]] = obama
    side[: biden.shape[0], obama.shape[1] :] = biden
    ref = swapper.reference_embedding(photos["obama.jpg"])  # the pack has no recogniser: the model's
    faces = swapper.detect(side)
    sims = (swapper.embed(swapper.crops(side, faces)[0]) @ ref[0].T).squeeze(1).numpy()
    assert len(faces) == 2 and sims[0] > 0.999 and sims[0] > sims[1]  # the same pixels match best
    swapper.threshold = float(sims.mean())  # the tiny random encoder scores every face high
    result = swapper.swap(photos["obama2.jpg"], side, reference=ref)
    assert result.swapped == [0] and not np.array_equal(result.image[:, : obama.shape[1]], obama)
    assert np.abs(result.image[: biden.shape[0], obama.shape[1] :].astype(int) - biden).max() <= 16
    from deepswap.swap import main

    write_image(tmp_path / "side.png", side)
    args = ["--checkpoint", str(swapper.model.source), "--source", str(photos["obama2.jpg"])]
    args += [
        "--target",
        str(tmp_path / "side.png"),
        "--out",
        str(tmp_path / "o.png"),
        "--model-pack",
        str(pack),
    ]
    assert main(args) == 0 and (tmp_path / "o.png").is_file()  # a detector-only pack is enough
    with pytest.raises(ModelPackError, match=r"recognition \(needed for --reference matching\)"):
        FaceAnalyser(pack, required={"recognition": "--reference matching"})


def test_video_panning_over_a_crowd_swaps_every_frame(swapper, group, tmp_path):
    clip, out = tmp_path / "pan.avi", tmp_path / "swapped.avi"
    with VideoWriter(clip, 10, (640, 360)) as writer:  # faces enter, leave and change order
        for x in np.linspace(0, 700, 8).astype(int):
            writer.write(np.ascontiguousarray(group[300:660, x : x + 640]))
    report = swapper.swap_video(group, clip, out, progress=False)
    assert (report.frames, report.frames_swapped) == (8, 8)
    assert report.faces_swapped >= 8 * 5
    assert out.is_file() and provenance.read_metadata(out)["faces_swapped"] == report.faces_swapped


def test_prepare_writes_aligned_crops_from_a_detector_only_pack(pack, photos, analyser, tmp_path):
    from insightface.utils.face_align import norm_crop

    from deepswap.prepare import prepare

    raw = tmp_path / "raw"
    for person, names in {"obama": ["obama.jpg", "obama2.jpg"], "biden": ["biden.jpg"]}.items():
        (raw / person).mkdir(parents=True)
        for name in names:
            shutil.copy(photos[name], raw / person / name)
    report = prepare(raw, tmp_path / "faces", model_pack=pack, size=112, progress=False)
    assert report.totals["crops"] == 3 and not report.totals["failures"]
    crop = read_image(tmp_path / "faces/biden" / next(p.name for p in (tmp_path / "faces/biden").iterdir()))
    image = read_image(photos["biden.jpg"])
    want = norm_crop(image, analyser.detect(image)[0].kps, 112)
    assert np.abs(crop.astype(int) - want).mean() < 2


def test_inswapper_export_swaps_a_real_photo_in_insightface(ckpt, analyser, photos, tmp_path):
    from insightface.app.common import Face as InsightFace
    from insightface.model_zoo import get_model

    from deepswap.export import main

    out = main([str(ckpt), "--format", "inswapper", "--out", str(tmp_path / "swap_128.onnx")])
    swapper = get_model(str(out), providers=["CPUExecutionProvider"])
    image = read_image(photos["obama.jpg"])
    face = analyser.detect(image)[0]
    model = SwapModel.from_checkpoint(ckpt)
    source = FaceSwapper(model, analyser).source_embedding(photos["biden.jpg"])[0].numpy()
    target = InsightFace(bbox=face.bbox, kps=face.kps, det_score=face.det_score)
    bgr = np.ascontiguousarray(image[..., ::-1])
    swapped = swapper.get(bgr, target, InsightFace(embedding=source), paste_back=True)
    diff = np.abs(swapped.astype(int) - bgr).max(2)
    assert diff[_inside(image.shape, [face], 0)].mean() > 5 and diff[:40, :40].max() == 0


def test_detector_predict_scores_each_face_of_real_photos(analyser, photos):
    from deepswap.detection import SmallDetector
    from deepswap.detection.inference import predict

    paths = [photos["obama.jpg"], photos["newton.png"], photos["solvay_conference_1927.jpg"]]
    result = predict(SmallDetector(8), paths, None, 64, face_finder=analyser)
    per_file = {Path(r["path"]).name: 0 for r in result.frames}
    for row in result.frames:
        assert row["status"] == "ok" and 0 <= float(row["prob"]) <= 1
        per_file[Path(row["path"]).name] += 1
    assert per_file == {"obama.jpg": 1, "newton.png": 1, "solvay_conference_1927.jpg": 29}


def test_keyframe_tracking_follows_the_detector_between_keyframes(analyser, photos):
    from deepswap.faces.keyframes import KeyframeFaces

    image = read_image(photos["obama.jpg"])
    frames = [
        np.ascontiguousarray(image[40 + 6 * k : 840 + 6 * k, 20 + 9 * k : 820 + 9 * k]) for k in range(6)
    ]
    tracker = KeyframeFaces(analyser, interval=3)
    for frame in frames:
        tracked, detected = tracker.detect(frame), analyser.detect(frame)
        assert len(tracked) == len(detected) == 1
        assert np.abs(tracked[0].kps - detected[0].kps).max() < 4.0  # px, on a ~230 px face
    assert tracker.keyframes == 2


def test_keyframe_tracking_redetects_a_face_lost_inside_the_frame(analyser, photos):
    """A cut between keyframes: the tracked face is lost in mid-frame, so the detector runs at once
    (before, the new face went unswapped until the next keyframe)."""
    from deepswap.faces.keyframes import KeyframeFaces

    obama, newton = (read_image(photos[n]) for n in ("obama.jpg", "newton.png"))
    frames = [cv2.resize(obama, (640, 640)), cv2.resize(newton, (640, 640)), cv2.resize(newton, (640, 640))]
    tracker = KeyframeFaces(analyser, interval=4)
    found = [tracker.detect(f) for f in frames]
    detected = analyser.detect(frames[1])
    assert [len(f) for f in found] == [1, 1, 1] and len(detected) == 1
    assert np.abs(found[1][0].kps - detected[0].kps).max() < 1e-3  # the detector's own points
    assert tracker.keyframes == 2 and tracker.redetections == 1


def test_a_fixed_size_scrfd_detects_at_a_reduced_size(
    pack, photos, analyser, real_fixtures, tmp_path, monkeypatch
):
    from deepswap.faces import scrfd_graph

    monkeypatch.setenv("DEEPSWAP_CACHE", str(tmp_path))
    source = real_fixtures / "scrfd/models/scrfd.onnx"
    assert scrfd_graph.fixed_input_size(source) == (640, 640)  # insightface alone would keep 640
    copy = scrfd_graph.resizable_scrfd(source)  # checked against the original at 640 inside
    assert copy.parent == tmp_path / "detectors" and scrfd_graph.fixed_input_size(copy) is None
    small = FaceAnalyser(pack, det_size=(320, 320), threads=1)
    detector = small.models["detection"]
    assert detector.model_file == str(copy) and detector.input_size == (320, 320)
    image = read_image(photos["obama.jpg"])
    full, reduced = analyser.detect(image), small.detect(image)
    assert len(full) == len(reduced) == 1
    assert np.abs(full[0].kps - reduced[0].kps).max() < 0.03 * (full[0].bbox[2] - full[0].bbox[0])
    seen = []
    run = detector.forward
    monkeypatch.setattr(detector, "forward", lambda img, t: seen.append(img.shape) or run(img, t))
    small.detect(image)
    assert seen == [(320, 320, 3)]
    with pytest.raises(ValueError, match="multiples of 32"):
        FaceAnalyser(pack, det_size=(300, 300))


def test_a_graph_that_is_not_scrfd_shaped_is_refused_with_the_reason(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    from deepswap.faces.scrfd_graph import GraphRewriteError, rewrite

    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest")
    sizes = numpy_helper.from_array(np.array([1, 3, 15, 15], np.int64), "sizes")  # x1.5: not whole
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 15, 15])],
        [sizes],
    )
    with pytest.raises(GraphRewriteError, match="whole-number"):
        rewrite(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def test_a_detector_that_cannot_be_resized_is_kept_with_a_warning(pack, monkeypatch):
    from deepswap.faces import scrfd_graph

    def refuse(path):
        raise scrfd_graph.GraphRewriteError("Resize 'r' is not a whole-number spatial upsampling")

    monkeypatch.setattr(scrfd_graph, "resizable_scrfd", refuse)
    with pytest.warns(UserWarning, match=r"takes only 640x640 images .* detecting at 640x640, not 320x320"):
        analyser = FaceAnalyser(pack, det_size=(320, 320), threads=1)
    assert analyser.models["detection"].input_size == (640, 640)
