"""The main job's closing table: a model against reference outputs on held-out synthetic pairs.

Rows: the trained model (EMA generator) and, computed the same way, output = target unchanged,
output = source, the target recoloured to the source's mean face colour, and the ground truth itself.
Identity cosine is scored by an encoder that training never used.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from deepswap.evaluation.metrics import face_union_mask, identity_cosine, masked_l1, psnr, recolor_to_source

COLUMNS = ("id_cos_source", "id_cos_target", "gt_masked_l1", "gt_psnr")


def reference_outputs(batch: dict) -> dict[str, Tensor]:
    """The reference rows' outputs for one batch of pairs (images in [-1, 1])."""
    return {
        "output = target": batch["target"],
        "output = source": batch["source"],
        "target recoloured to source": recolor_to_source(
            batch["target"], batch["target_mask"], batch["source"], batch["source_mask"]
        ),
        "ground truth (ceiling)": batch["truth"],
    }


@torch.no_grad()
def heldout_table(
    swap_fn: Callable[[Tensor, Tensor], Tensor],
    embed_fn: Callable[[Tensor], Tensor],
    pairs: Dataset,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    model_name: str = "model",
) -> dict[str, dict[str, float]]:
    """Mean metrics per row over all ``pairs`` (a dataset with truth and masks, e.g. held-out
    :class:`deepswap.data.pairs.SyntheticPairs` with ``with_truth=True``).

    ``swap_fn(target, source)`` and ``embed_fn(images)`` take ``(B, 3, H, W)`` in [-1, 1].
    """
    sums: dict[str, dict[str, float]] = {}
    count = 0
    for batch in DataLoader(pairs, batch_size=batch_size, shuffle=False):
        batch = {k: v.to(device) for k, v in batch.items()}
        outputs = {model_name: swap_fn(batch["target"], batch["source"]), **reference_outputs(batch)}
        e_src, e_tgt = embed_fn(batch["source"]), embed_fn(batch["target"])
        mask = face_union_mask(batch["truth_mask"], batch["target_mask"])
        for name, out in outputs.items():
            e_out = embed_fn(out)
            values = {
                "id_cos_source": identity_cosine(e_out, e_src),
                "id_cos_target": identity_cosine(e_out, e_tgt),
                "gt_masked_l1": masked_l1(out, batch["truth"], mask),
                "gt_psnr": psnr(out, batch["truth"]),
            }
            row = sums.setdefault(name, dict.fromkeys(COLUMNS, 0.0))
            for k, v in values.items():
                row[k] += float(v.sum())
        count += batch["target"].shape[0]
    return {name: {k: v / count for k, v in row.items()} for name, row in sums.items()}


def format_table(rows: dict[str, dict[str, float]], title: str = "") -> str:
    """Plain-text table: one line per row, the four metric columns."""
    head = (
        f"{'output':<30} {'ID cos to source ↑':>19} {'ID cos to target':>17} "
        f"{'GT masked L1 ↓':>15} {'GT PSNR ↑':>10}"
    )
    lines = ([title] if title else []) + [head, "-" * len(head)]
    for name, r in rows.items():
        lines.append(
            f"{name:<30} {r['id_cos_source']:>19.3f} {r['id_cos_target']:>17.3f} "
            f"{r['gt_masked_l1']:>15.4f} {r['gt_psnr']:>10.2f}"
        )
    return "\n".join(lines)
