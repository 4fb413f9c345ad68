"""The pixel grid of a batch in the image frame and in each head's face frame, and crops of it.

Features are small, so each is evaluated only on a crop of the grid: the rows and columns that the
feature can touch in any image of the batch (a conservative box, so a pixel's value does not depend on
which other images share its batch). Pixels outside a crop would get coverage exactly 0 anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from deepswap.data.synthetic.params import Params
from deepswap.data.synthetic.raster import pixel_grid

Tensor = torch.Tensor
Array = np.ndarray


@dataclass
class Canvas:
    """Grid of one batch (or a crop of it).

    x: (1, 1, w) and y: (1, h, 1) image-frame pixel centres in [-1, 1]; xf, yf: (B, h, w) face frame
    (head centre at 0, rolled, scaled and shifted with the head); inv: (B, 1, 1) 1 / pixel size in face units;
    p: the float64 scene parameters as numpy arrays (cheap box arithmetic); q: the same as float32 tensors
    shaped to broadcast (see :func:`pack32`);
    size: full image size; rows, cols: the slices of the full grid this canvas covers; clip: the head's
    coverage on this crop (1.0 until the head is drawn), so inner features never leave the face.
    """

    x: Tensor
    y: Tensor
    xf: Tensor
    yf: Tensor
    inv: Tensor
    p: dict[str, Array]
    q: dict[str, Tensor]
    size: int
    rows: slice = field(default_factory=lambda: slice(None))
    cols: slice = field(default_factory=lambda: slice(None))
    clip: Tensor | float = 1.0  # (B, h, w) head coverage once the head is drawn: inner features stay on it


def pack32(p: Params) -> dict[str, Tensor]:
    """Float64 parameters -> float32 in one conversion: (B,) -> (B, 1, 1); (B, 3) colours -> (B, 3, 1, 1);
    (B, 2) left / right pairs -> ``name.0`` and ``name.1``, each (B, 1, 1)."""
    names = list(p)
    flat = [p[k].reshape(p[k].shape[0], -1) for k in names]
    table = torch.cat(flat, 1).to(torch.float32).t().contiguous()
    table = table.view(table.shape[0], table.shape[1], 1, 1)
    rows = table.unbind(0)
    q, i = {}, 0
    for name, col in zip(names, flat):
        n = col.shape[1]
        if n == 1:
            q[name] = rows[i]
        elif n == 3:
            q[name] = table[i : i + 3].transpose(0, 1)
        else:
            q.update({f"{name}.{j}": rows[i + j] for j in range(n)})
        i += n
    return q


def make_canvas(p: Params, size: int) -> Canvas:
    """Full-image canvas of a batch with float64 scene parameters ``p`` ({name: (B,), (B, 2) or (B, 3)})."""
    x, y = pixel_grid(size)
    scale = p["scale"]
    q = pack32({**p, "_c": p["cos_roll"] / scale, "_s": p["sin_roll"] / scale, "_inv": scale * (size / 2)})
    dx, dy = x - q["cx"], y - q["cy"]
    xf = dx * q["_c"] + dy * q["_s"]
    yf = dy * q["_c"] - dx * q["_s"]
    arrays = {k: v.numpy() for k, v in p.items()}
    return Canvas(x=x, y=y, xf=xf, yf=yf, inv=q["_inv"], p=arrays, q=q, size=size)


def crop(
    cv: Canvas,
    img: Tensor,
    x0: Array,
    x1: Array,
    y0: Array,
    y1: Array,
    within: tuple[Array, Array, Array, Array] | None = None,
) -> tuple[Canvas, Tensor]:
    """Face-frame box per image ((B,) float64 bounds) -> cropped canvas and the view of img it covers.

    The crop holds, for every image of the batch, the pixels of its box (turned into the image frame)
    plus a two-pixel margin for anti-aliasing. Painting into the returned view paints into ``img``.
    ``within``: a second face-frame box (x0, x1, y0, y1); the crop is then the pixels of both crops.
    """
    n = cv.size
    rows, cols = _pixel_box(cv.p, n, x0, x1, y0, y1)
    if within is not None:
        rows2, cols2 = _pixel_box(cv.p, n, *within)
        rows, cols = _intersect(rows, rows2), _intersect(cols, cols2)
    sub = Canvas(
        x=cv.x[:, :, cols],
        y=cv.y[:, rows],
        xf=cv.xf[:, rows, cols].contiguous(),
        yf=cv.yf[:, rows, cols].contiguous(),
        inv=cv.inv,
        p=cv.p,
        q=cv.q,
        size=n,
        rows=rows,
        cols=cols,
        clip=cv.clip if isinstance(cv.clip, float) else cv.clip[:, rows, cols],
    )
    return sub, img[:, :, rows, cols]


def _pixel_box(
    p: dict[str, Array], n: int, x0: Array, x1: Array, y0: Array, y1: Array
) -> tuple[slice, slice]:
    """Face-frame box per image -> the rows and columns of an ``n`` px image that cover it in every image."""
    cs, sn, k = p["cos_roll"][:, None], p["sin_roll"][:, None], p["scale"][:, None]
    xs = np.stack(np.broadcast_arrays(x0, x1, x0, x1), 1)
    ys = np.stack(np.broadcast_arrays(y0, y0, y1, y1), 1)
    c0, c1 = _pixel_range(p["cx"][:, None] + k * (cs * xs - sn * ys), n)
    r0, r1 = _pixel_range(p["cy"][:, None] + k * (sn * xs + cs * ys), n)
    return slice(r0, r1), slice(c0, c1)


def _intersect(a: slice, b: slice) -> slice:
    start = max(a.start, b.start)
    return slice(start, max(min(a.stop, b.stop), start))


def _pixel_range(coord: Tensor, size: int) -> tuple[int, int]:
    """Image-normalised coordinates (B, 4) -> [first, last + 1) pixel indices covering them plus 2 pixels."""
    lo = (float(coord.min()) + 1) * size / 2 - 0.5
    hi = (float(coord.max()) + 1) * size / 2 - 0.5
    first = min(max(math.floor(lo) - 2, 0), size)
    last = max(min(math.ceil(hi) + 3, size), first)
    return first, last
