"""deepswap.faces: templates, alignment round trips, synthetic scenes and analysers, smoothing."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
import torch

from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.faces import Face, FaceAnalyser, ModelPackError, SyntheticSceneAnalyser, scenes
from deepswap.faces.align import (
    align,
    arcface_template,
    estimate_transform,
    invert,
    paste_back,
    similarity,
    synthetic_template,
    transform_points,
)
from deepswap.faces.tracking import LandmarkSmoother
from deepswap.faces.video import MediaError, read_image

ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)


@pytest.fixture(scope="module")
def world():
    return SyntheticFaceWorld(1000, 200, seed=0)


@pytest.fixture(scope="module")
def scene(world):
    return scenes.make_scene(world, [1005, 1010, 1020], seed=1)


def _frame_points(scale=2.7, angle=23.0, offset=(410.0, 260.0)) -> np.ndarray:
    """The 112-px ArcFace template moved somewhere in a frame by a known similarity."""
    m = cv2.getRotationMatrix2D((56.0, 56.0), angle, scale)
    m[:, 2] += offset
    return transform_points(ARCFACE_112, m)


@pytest.mark.parametrize(
    "size, ratio, shift",
    [(112, 1.0, 0.0), (224, 2.0, 0.0), (448, 4.0, 0.0), (128, 1.0, 8.0), (256, 2.0, 16.0), (384, 3.0, 24.0)],
)
def test_arcface_template_scaling_follows_insightface(size, ratio, shift):
    expected = ARCFACE_112 * ratio + [shift, 0.0]
    np.testing.assert_allclose(arcface_template(size), expected, atol=1e-3)
    from insightface.utils.face_align import estimate_norm

    kps = _frame_points()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        theirs = estimate_norm(kps.astype(np.float32), size)
    np.testing.assert_allclose(estimate_transform(kps, size), theirs, atol=1e-4)
    np.testing.assert_allclose(similarity(kps, expected), theirs, atol=1e-3)  # our Umeyama = skimage's


def test_sizes_insightface_refuses_use_the_128_rule():
    np.testing.assert_allclose(arcface_template(200), ARCFACE_112 * 200 / 128 + [8 * 200 / 128, 0], atol=1e-3)
    with pytest.raises(ValueError, match="crop size"):
        arcface_template(20)


@pytest.mark.parametrize(
    "size, template", [(112, "arcface"), (128, "arcface"), (256, "arcface"), (64, "synthetic")]
)
def test_align_round_trip_maps_landmarks_back_within_a_pixel(size, template):
    rng = np.random.default_rng(size)
    kps = _frame_points() + rng.normal(0, 1.5, (5, 2))  # not an exact similarity of the template
    frame = np.zeros((720, 1280, 3), np.uint8)
    for x, y in kps:  # a small bright blob at each landmark, to find again in the crop
        cv2.circle(
            frame, (int(round(x * 16)), int(round(y * 16))), 5 * 16, (255, 255, 255), -1, cv2.LINE_AA, 4
        )
    crop, m = align(frame, kps, size, template)
    assert crop.shape == (size, size, 3)
    in_crop = transform_points(kps, m)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats((crop[..., 0] > 60).astype(np.uint8))
    found = centroids[1:]
    assert n - 1 == 5
    nearest = np.linalg.norm(found[None] - in_crop[:, None], axis=2).min(1)
    assert nearest.max() < 1.0, nearest  # the pixels moved where M says
    np.testing.assert_allclose(transform_points(in_crop, invert(m)), kps, atol=1e-3)
    if template == "arcface":  # the frame points are an ArcFace face: they land on the template
        assert np.linalg.norm(in_crop - arcface_template(size), axis=1).max() < 4.0 * size / 112


def test_paste_back_restores_the_frame_and_leaves_the_rest_alone():
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8), (0, 0), 3)
    kps = transform_points(ARCFACE_112, np.array([[1.2, 0.2, 120.0], [-0.2, 1.2, 60.0]]))
    crop, m = align(frame, kps, 128)
    full = np.ones((128, 128), np.float32)
    back = paste_back(frame, crop, m, full)
    foot = cv2.warpAffine(np.ones((128, 128), np.uint8), invert(m), (400, 300)) > 0
    inner = cv2.erode(foot.astype(np.uint8), np.ones((5, 5))) > 0
    assert np.abs(back.astype(int) - frame)[inner].mean() < 3  # resampled twice, blurred frame
    assert np.array_equal(
        back[~cv2.dilate(foot.astype(np.uint8), np.ones((5, 5))).astype(bool)],
        frame[~cv2.dilate(foot.astype(np.uint8), np.ones((5, 5))).astype(bool)],
    )
    untouched = paste_back(frame, np.zeros_like(crop), m, np.zeros((128, 128), np.float32))
    assert np.array_equal(untouched, frame)


def test_synthetic_template_is_the_render_frame(world):
    t = synthetic_template(64)
    np.testing.assert_allclose(t[1, 0] - 31.5, 31.5 - t[0, 0], atol=1e-4)  # left-right symmetric
    np.testing.assert_allclose(synthetic_template(128), (t + 0.5) * 2 - 0.5, atol=1e-4)
    neutral = torch.full((world.num_attribute_factors,), 0.5)
    scales = []
    for identity in range(40):  # frontal renders are (nearly) already aligned: M ~ identity
        face = scenes.render_face(world, identity, neutral, 64).faces[0]
        m = estimate_transform(face.kps, 64, "synthetic")
        scale, angle = np.hypot(*m[0, :2]), np.degrees(np.arctan2(m[1, 0], m[0, 0]))
        centre = transform_points(np.array([[31.5, 31.5]]), invert(m))[0]
        # world v2's identity ranges are wide (eye spacing, eye height), so faces spread around the mean
        assert abs(scale - 1) < 0.3 and abs(angle) < 1 and np.abs(centre - 31.5).max() < 6
        scales.append(scale)
    assert abs(np.mean(scales) - 1) < 0.04


def test_scene_faces_are_found_and_align_to_their_renders(world, scene):
    assert scene.image.shape == (720, 1280, 3)
    analyser = SyntheticSceneAnalyser()
    analyser.add_scene(scene)
    faces = analyser.detect(scene.image)
    assert [f.identity for f in faces] == [1005, 1010, 1020]  # left to right
    assert all(f.bbox[0] < f.kps[:, 0].min() and f.kps[:, 0].max() < f.bbox[2] for f in faces)
    attrs = torch.stack([world.attribute_factors("heldout", 1000 + i) for i in range(3)])
    renders = world.render(torch.stack([world.identity_factors(i) for i in (1005, 1010, 1020)]), attrs, 64)
    for i, face in enumerate(faces):
        target = renders.landmarks[i].numpy()
        crop, _ = align(scene.image, face.kps, 64, target)
        ref = (renders.image[i].permute(1, 2, 0).numpy() * 255).round()
        inside = renders.mask[i, 0].numpy() > 0.5
        assert np.abs(crop.astype(float) - ref)[inside].mean() < 12  # the same face, resampled


def test_synthetic_analyser_files_and_unknown_images(world, scene, tmp_path):
    path = scenes.write_scene(scene, tmp_path / "scene.png")
    analyser = SyntheticSceneAnalyser.from_files([path, tmp_path / "unannotated.png"])
    assert len(analyser.detect(read_image(path))) == 3
    ok, jpeg = cv2.imencode(".jpg", scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    recompressed = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1].copy()
    assert [f.identity for f in analyser.detect(recompressed)] == [1005, 1010, 1020]
    assert analyser.detect(scenes.gradient_background(720, 1280, seed=5)) == []
    faces = analyser.detect(scene.image)
    assert abs(float(faces[0].embedding @ scenes.oracle_embedding(world, 1005)) - 1) < 1e-3


def test_synthetic_video_annotations_match_decoded_frames(world, tmp_path):
    clip = tmp_path / "clip.avi"
    frames = scenes.make_video(world, clip, num_frames=5, identities=[1005, 1010], empty_frames=[3])
    assert [len(f) for f in frames] == [2, 2, 2, 0, 2]
    analyser = SyntheticSceneAnalyser.from_files([clip])
    from deepswap.faces.video import iter_frames

    found = [analyser.detect(f) for f in iter_frames(clip)]
    assert [len(f) for f in found] == [2, 2, 2, 0, 2]
    np.testing.assert_allclose(found[4][1].kps, frames[4][1].kps, atol=1e-3)


def test_missing_model_pack_names_the_folder_and_files(tmp_path):
    pack = tmp_path / "buffalo_l"
    with pytest.raises(ModelPackError) as err:
        FaceAnalyser(pack)
    msg = str(err.value)
    assert str(pack) in msg and "does not exist" in msg
    for name in ("det_10g.onnx", "w600k_r50.onnx", "1k3d68.onnx", "2d106det.onnx", "genderage.onnx"):
        assert name in msg
    pack.mkdir()
    with pytest.raises(ModelPackError, match="no model for detection.*det_10g.onnx"):
        FaceAnalyser(pack)
    _tiny_recogniser(pack / "w600k_r50.onnx")  # routed by insightface to ArcFaceONNX: no detector yet
    missing = r"no model for detection \(needed for finding faces\)\. .*det_10g.onnx"
    with pytest.raises(ModelPackError, match=missing):
        FaceAnalyser(pack)
    (pack / "det_10g.onnx").write_bytes(b"not an onnx graph")
    with pytest.raises(ModelPackError, match="det_10g.onnx in .* is not a readable ONNX model"):
        FaceAnalyser(pack)


def _tiny_recogniser(path):
    """An ONNX graph with ArcFace's interface: (1, 3, 112, 112) -> (1, 512)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(3, 512)).astype(np.float32), "w")
    nodes = [
        helper.make_node("GlobalAveragePool", ["input.1"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("MatMul", ["f", "w"], ["683"]),
    ]
    graph = helper.make_graph(
        nodes,
        "recogniser",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, [1, 512])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)


class _Detector:
    """insightface SCRFD's interface: detect(bgr, max_num) -> (boxes (N, 5), kps (N, 5, 2))."""

    def __init__(self):
        self.seen = None

    def detect(self, img, max_num=0):
        self.seen = img
        boxes = np.array([[300, 10, 400, 130, 0.9], [20, 15, 120, 140, 0.8]], np.float32)
        kps = np.stack([ARCFACE_112 * 0.8 + [b[0], b[1]] for b in boxes]).astype(np.float32)
        return boxes, kps


class _Recogniser:
    def get(self, img, face):
        face.embedding = np.full(512, float(face.bbox[0]), np.float32)  # unnormalised, as ArcFace


def test_face_analyser_feeds_bgr_and_returns_rgb_faces_left_to_right():
    detector = _Detector()
    analyser = FaceAnalyser.from_models(detector, recognition=_Recogniser())
    image = np.zeros((200, 500, 3), np.uint8)
    image[..., 0] = 255  # pure red in RGB
    faces = analyser.detect(image)
    assert detector.seen[0, 0].tolist() == [0, 0, 255]  # insightface gets BGR
    assert [f.bbox[0] for f in faces] == [20, 300] and faces[0].det_score == pytest.approx(0.8)
    assert faces[0].kps.shape == (5, 2) and np.linalg.norm(faces[1].embedding) == pytest.approx(1, abs=1e-5)
    with pytest.raises(ValueError, match="uint8 RGB"):
        analyser.detect(image.astype(np.float32))


def test_landmark_smoother_removes_jitter_and_follows_motion(tmp_path, world):
    frames = scenes.make_video(world, tmp_path / "c.mp4", num_frames=40, identities=[1005], size=(360, 640))
    rng = np.random.default_rng(0)
    still, moving = LandmarkSmoother(), LandmarkSmoother()
    err_still, err_moving = [], []
    for k, faces in enumerate(frames):
        f0, fk = frames[0][0], faces[0]
        noisy = Face(bbox=f0.bbox, kps=f0.kps + rng.normal(0, 2, (5, 2)).astype(np.float32))
        err_still.append(np.abs(still.smooth([noisy], k / 25)[0].kps - f0.kps).mean())
        err_moving.append(np.abs(moving.smooth([fk], k / 25)[0].kps - fk.kps).max())
    assert np.mean(err_still[5:]) < 0.5 * 2 * np.sqrt(2 / np.pi)  # under half the raw noise
    diag = np.hypot(*(frames[0][0].bbox[2:] - frames[0][0].bbox[:2]))
    assert max(err_moving) < 0.03 * diag  # lags a moving face by under 3% of its size


def test_pack_sessions_take_a_thread_cap(tmp_path):
    from deepswap.faces.analyser import _load_pack

    _tiny_recogniser(tmp_path / "w600k_r50.onnx")
    model = _load_pack(tmp_path, "cpu", threads=1)["recognition"]
    assert model.session.get_session_options().intra_op_num_threads == 1


def test_prefetch_keeps_order_passes_errors_and_stops_early():
    from deepswap.faces.video import prefetch

    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))

    def failing():
        yield 1
        yield 2
        raise MediaError("cannot read clip.mp4: broken")

    got = []
    with pytest.raises(MediaError, match="broken"):
        for item in prefetch(failing(), depth=1):
            got.append(item)
    assert got == [1, 2]

    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    it = prefetch(endless(), depth=2)
    assert [next(it) for _ in range(5)] == [0, 1, 2, 3, 4]
    it.close()  # the thread stops and closes the source
    assert closed == [True]


def test_background_video_writer_writes_every_frame_in_order(tmp_path):
    from deepswap.faces.video import VideoWriter, iter_frames

    frames = [np.full((48, 64, 3), 20 * k, np.uint8) for k in range(10)]
    paths = {}
    for background in (False, True):
        paths[background] = tmp_path / f"clip_{background}.avi"
        with VideoWriter(paths[background], 5, (64, 48), background=background, depth=2) as w:
            for f in frames:
                w.write(f)
        assert w.frames == 10
    plain, threaded = list(iter_frames(paths[False])), list(iter_frames(paths[True]))
    assert len(threaded) == 10
    assert all(np.array_equal(a, b) for a, b in zip(plain, threaded))  # same bytes, same order
    assert [round(f.mean() / 20) for f in threaded] == list(range(10))
