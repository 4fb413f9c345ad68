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

| factor | side | meaning |
|---|---|---|
| `face_width` | identity | half width of the cranium |
| `face_length` | identity | distance from head centre to chin |
| `jaw_shape` | identity | 0 round/square jaw, 1 narrow pointed chin |
| `cheek_width` | identity | width of the jaw relative to the cranium |
| `eye_spacing` | identity | distance between the eye centres |
| `eye_size` | identity | eye width |
| `eye_shape` | identity | eye height / width (narrow to round) |
| `eye_height` | identity | vertical position of the eyes on the face |
| `iris_hue` | identity | iris colour: dark brown, brown, hazel, green, blue, grey |
| `brow_thickness` | identity | eyebrow thickness |
| `brow_angle` | identity | eyebrow tilt (outer end down to up) |
| `brow_arch` | identity | eyebrow curvature (flat to arched) |
| `nose_length` | identity | eye line to nose tip |
| `nose_width` | identity | width of the nose wings |
| `mouth_width` | identity | mouth width |
| `lip_thickness` | identity | lip thickness |
| `ear_size` | identity | ear size |
| `yaw` | attribute | head turn, -35..35 deg; positive turns the face towards image right |
| `pitch` | attribute | head nod, -20..20 deg; positive looks up |
| `roll` | attribute | in-plane head rotation about its centre, -18..18 deg |
| `smile` | attribute | mouth curvature, frown (0) to broad smile (1) |
| `mouth_open` | attribute | closed below 0.4, then opening |
| `eye_open` | attribute | eyes closed (0) to wide open (1) |
| `brow_raise` | attribute | eyebrows lowered (0) to raised (1) |
| `light_angle` | attribute | direction of the light in the image plane |
| `light_strength` | attribute | strength of the shading gradient |
| `hair_color` | attribute | black, dark brown, brown, auburn, blonde, grey |
| `hair_length` | attribute | short cap (0) to long hair past the jaw (1), with volume |
| `hair_style` | attribute | hairline height, fringe and parting |
| `bg_hue_a` | attribute | hue of the first background colour |
| `bg_hue_b` | attribute | hue of the second background colour (also sets the clothes colour) |
| `bg_value` | attribute | background brightness |
| `bg_angle` | attribute | direction of the background gradient |
| `scale` | attribute | head scale jitter, 0.92..1.08 |
| `offset_x` | attribute | horizontal jitter of the head centre, +-3% of the image |
| `offset_y` | attribute | vertical jitter of the head centre, +-3% of the image |
| `skin_lightness` | setting | skin tone, dark (0) to light (1); side set by skin_tone_side |
| `skin_warmth` | setting | skin undertone, pink (0) to yellow (1); side set by skin_tone_side |
"""

from deepswap.data.synthetic.factors import FACTORS
from deepswap.data.synthetic.render import RenderOutput
from deepswap.data.synthetic.world import SyntheticFaceDataset, SyntheticFaceWorld

__all__ = ["FACTORS", "RenderOutput", "SyntheticFaceDataset", "SyntheticFaceWorld"]
