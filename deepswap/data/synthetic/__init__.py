"""Procedural synthetic face world: cartoon faces whose generating factors are known.

A face swap can be checked against ground truth here: ``swap_truth(source_identity, target_attributes)``
renders exactly what a perfect swap should produce. Rendering is plain torch on CPU, vectorised over the
batch (signed distances of ellipses, capsules and curves on the pixel grid, one-pixel anti-aliased
edges), fast enough to be the training data of the default job.

Usage::

    world = SyntheticFaceWorld(seed=0)
    s = world.sample("train", 0, size=64)          # image (3, 64, 64), mask, landmarks, factors
    a, b = world.identity_factors(3), world.attribute_factors("train", 7)
    out = world.render(a, b, 64)                   # RenderOutput: image (1, 3, 64, 64), mask, landmarks

Every factor is a float in [0, 1]. Identity factors are fixed per identity id (what a swap transfers),
attribute factors are drawn per image (what a swap keeps from the target). Skin tone's side is the
constructor setting ``skin_tone_side`` ("target": in the attribute vector, "source": in the identity
vector); ``world.identity_names`` and ``world.attribute_names`` give the two vector layouts.

World v2 (this version) is built so that identity shows and the truth is a face swap:

- every identity factor, moved by 0.3 on the median identity, changes at least 150 pixels of a 64 px
  render by more than 0.05 (``footprint.py`` measures it, a test checks it): the head fills the frame
  like an ArcFace crop, features are large and inked, and eye colour has area (iris and eye shadow);
- no attribute moves an identity feature's geometry: brow raise translates the brow, eye opening moves
  the lid over an always-outlined eye, the head scale jitter is +-2%;
- hair, neck, clothes and lighting are laid out on a fixed reference head from attribute factors only,
  and inner features are clipped to the head: a ground-truth swap differs from its target only inside
  the two face regions;
- identities split into ``train``, ``val`` and ``test`` (``heldout`` = val + test), and
  ``world.views(split, ids, k, size)`` renders P identities x K views for metric learning.

| factor | side | meaning |
|---|---|---|
| `face_width` | identity | half width of the cranium, 0.44..0.66 face units |
| `face_length` | identity | head centre to chin, 0.60..0.80 |
| `jaw_shape` | identity | 0 square jaw widening below, 1 pointed chin |
| `cheek_width` | identity | jaw width, 0.55..1.08 of the cranium's |
| `eye_spacing` | identity | half distance between the eye centres, 0.17..0.36 |
| `eye_size` | identity | eye half width, 0.095..0.185 |
| `eye_shape` | identity | eye height / width, 0.34 (narrow) .. 0.86 (round); always outlined |
| `eye_height` | identity | vertical position of the eye line (moves brows, nose and mouth with it) |
| `iris_hue` | identity | eye colour (iris and eye shadow): brown, amber, green, blue, grey, violet |
| `brow_thickness` | identity | eyebrow thickness, 0.02..0.18 |
| `brow_angle` | identity | eyebrow tilt, outer end down (0) to up (1) |
| `brow_arch` | identity | eyebrow curvature, slightly sagging (0) to arched (1) |
| `nose_length` | identity | eye line to nose tip, 0.10..0.30 |
| `nose_width` | identity | nose wing width, 0.045..0.305 (with the folds towards the mouth) |
| `mouth_width` | identity | mouth half width, 0.025..0.39 (with the cheek marks at the corners) |
| `lip_thickness` | identity | lip thickness, 0.01..0.13 |
| `ear_size` | identity | ear size, 0.09..0.32; bigger ears stand further out |
| `yaw` | attribute | head turn, -30..30 deg; positive turns the face towards image right |
| `pitch` | attribute | head nod, -15..15 deg; positive looks up |
| `roll` | attribute | in-plane head rotation about its centre, -15..15 deg |
| `smile` | attribute | mouth curvature, frown (0) to smile (1); the corners stay at the mouth's width |
| `mouth_open` | attribute | closed below 0.4, then opening |
| `eye_open` | attribute | upper lid from nearly closed (0) to open (1); the eye's outline stays |
| `brow_raise` | attribute | translates both brows up or down; never changes their tilt or arch |
| `light_angle` | attribute | direction of the light in the image plane |
| `light_strength` | attribute | strength of the shading gradient |
| `hair_color` | attribute | black, dark brown, brown, auburn, blonde, grey |
| `hair_length` | attribute | short cap (0) to long hair past the jaw (1), with volume |
| `hair_style` | attribute | hairline height, fringe and parting |
| `bg_hue_a` | attribute | hue of the first background colour |
| `bg_hue_b` | attribute | hue of the second background colour (also sets the clothes colour) |
| `bg_value` | attribute | background brightness |
| `bg_angle` | attribute | direction of the background gradient |
| `scale` | attribute | head scale jitter, 0.98..1.02 (small: widths stay readable) |
| `offset_x` | attribute | horizontal jitter of the head centre, +-2.5% of the image |
| `offset_y` | attribute | vertical jitter of the head centre, +-2% of the image |
| `skin_lightness` | setting | skin tone, dark (0) to light (1); side set by skin_tone_side |
| `skin_warmth` | setting | skin undertone, pink (0) to yellow (1); side set by skin_tone_side |
"""

from deepswap.data.synthetic.factors import FACTORS
from deepswap.data.synthetic.render import RenderOutput
from deepswap.data.synthetic.world import SyntheticFaceDataset, SyntheticFaceWorld

__all__ = ["FACTORS", "RenderOutput", "SyntheticFaceDataset", "SyntheticFaceWorld"]
