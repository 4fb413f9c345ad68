"""Landmark tracking in videos: faces matched to tracks by index, through crowds that reorder."""

from __future__ import annotations

import numpy as np

from deepswap.faces.analyser import Face
from deepswap.faces.tracking import LandmarkSmoother

FPS = 25.0


def _face(cx: float, cy: float, size: float, rng: np.random.Generator, noise: float) -> Face:
    """A face box of side ``size`` centred at (cx, cy) with 5 points at fixed shares of the box, jittered."""
    shares = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]])
    x0, y0 = cx - size / 2, cy - size / 2
    kps = np.array([x0, y0]) + shares * size + rng.normal(0, noise, (5, 2))
    return Face(bbox=np.array([x0, y0, x0 + size, y0 + size], np.float32), kps=kps.astype(np.float32))


def _crowd(frame: int, rng: np.random.Generator) -> tuple[list[Face], list[str]]:
    """Frame ``frame`` of a 30-frame clip: A grows while B shrinks (their size order swaps at frame
    15), C is there in frames 5-11 and again from 24 (a new track: gone longer than max_gap), D is
    always there; the detector lists them in a different order every frame."""
    faces = {
        "A": _face(150, 300, 40 + 4 * frame, rng, 1.0),
        "B": _face(450, 300, 160 - 4 * frame, rng, 1.0),
        "D": _face(750, 300, 90, rng, 1.5),
    }
    if 5 <= frame < 12 or frame >= 24:
        faces["C"] = _face(1050, 300, 70 + frame, rng, 1.0)
    names = list(rng.permutation(sorted(faces)))
    return [faces[n] for n in names], names


def test_crowd_that_reorders_appears_and_disappears_keeps_each_track_on_its_face():
    rng = np.random.default_rng(0)
    smoother = LandmarkSmoother()
    raw_d, smooth_d, track_of = [], [], {}
    for frame in range(30):
        faces, names = _crowd(frame, rng)
        out = smoother.smooth(faces, frame / FPS)
        assert len(out) == len(faces)
        for face, new in zip(faces, out):
            assert np.array_equal(new.bbox, face.bbox)  # same order, same faces
            size = float(face.bbox[2] - face.bbox[0])
            assert np.abs(new.kps - face.kps).max() < 0.15 * size  # its own points, not a neighbour's
        owner = {n: id(smoother.tracks[i]) for n, i in zip(names, smoother.assign(faces))}
        for name, track in owner.items():
            track_of.setdefault(name, set()).add(track)
        d = out[names.index("D")]
        raw_d.append(faces[names.index("D")].kps)
        smooth_d.append(d.kps)
    assert {n: len(t) for n, t in track_of.items()} == {"A": 1, "B": 1, "C": 2, "D": 1}
    jitter = [float(np.std(np.diff(np.stack(k), axis=0))) for k in (raw_d, smooth_d)]
    assert jitter[1] < 0.6 * jitter[0]  # the still face's points are smoothed


def test_assign_never_gives_one_track_to_two_faces():
    rng = np.random.default_rng(1)
    smoother = LandmarkSmoother(min_iou=0.1)
    smoother.smooth([_face(100, 100, 80, rng, 0.0)], 0.0)
    twins = [_face(100, 100, 80, rng, 0.0), _face(110, 100, 80, rng, 0.0)]  # both overlap the track
    owner = smoother.assign(twins)
    assert sorted(owner, key=lambda o: o is None) == [0, None]
    assert len(smoother.smooth(twins, 0.04)) == 2 and len(smoother.tracks) == 2
