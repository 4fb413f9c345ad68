"""FID and KID through torchmetrics, with Inception weights the user supplies (nothing is downloaded).

Two kinds of weight file are accepted (``evaluation.inception=<path>``):

- a TorchScript Inception that takes ``(B, 3, H, W)`` float pixel values in [0, 255] and returns pool
  features with ``return_features=True`` (the ``inception-2015-12-05.pt`` used by StyleGAN2-ADA's
  metrics, the original TF-FID network): FID comparable with published numbers;
- a torchvision ``inception_v3`` state dict (e.g. ``inception_v3_google-0cc3c7bd.pth``): the 2048-d
  pool features of torchvision's port, which differ slightly from the TF network, so FID is only
  comparable between runs scored with the same file.

Images are resized to 299 px with antialiased bilinear filtering (recorded in the provenance).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

RESIZE = "bilinear, antialias, to 299 px"
_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class InceptionFeatures(nn.Module):
    """``(B, 3, H, W)`` float in [0, 1] -> ``(B, D)`` pool features of the supplied Inception."""

    def __init__(self, net: nn.Module, kind: str, num_features: int = 2048):
        super().__init__()
        self.net, self.kind, self.num_features = net, kind, num_features

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        x = F.interpolate(x.float(), size=(299, 299), mode="bilinear", antialias=True, align_corners=False)
        if self.kind == "torchscript":
            return self.net(x * 255.0, return_features=True).float()
        return self.net((x - _MEAN.to(x)) / _STD.to(x)).float()


def load_inception(path: str | Path) -> InceptionFeatures:
    """Load a TorchScript Inception or a torchvision ``inception_v3`` state dict (see the module doc)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Inception weights {path} do not exist: supply StyleGAN2-ADA's inception-2015-12-05.pt "
            "(TorchScript) or torchvision's inception_v3_google-0cc3c7bd.pth"
        )
    try:
        net = torch.jit.load(str(path), map_location="cpu").eval()
        dim = int(net(torch.zeros(1, 3, 299, 299), return_features=True).shape[-1])
        return InceptionFeatures(net, "torchscript", dim)
    except RuntimeError:
        pass
    from torchvision.models import inception_v3

    state = torch.load(path, map_location="cpu", weights_only=True)
    net = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError) as e:
        raise ValueError(
            f"{path} is neither a TorchScript Inception nor a torchvision inception_v3 state dict: "
            f"{str(e)[:200]}"
        ) from None
    net.fc = nn.Identity()
    return InceptionFeatures(net.eval(), "torchvision", 2048)


@torch.no_grad()
def fid_kid(
    real: Tensor, fake: Tensor, features: InceptionFeatures, batch_size: int = 32
) -> dict[str, float]:
    """FID and KID (mean, std over subsets) between two image sets ``(N, 3, H, W)`` in [-1, 1]."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    n = min(len(real), len(fake))
    fid = FrechetInceptionDistance(feature=features, normalize=True)
    kid = KernelInceptionDistance(feature=features, normalize=True, subset_size=min(1000, n))
    for images, is_real in ((real, True), (fake, False)):
        for i in range(0, len(images), batch_size):
            x = (images[i : i + batch_size].float() + 1) * 0.5
            fid.update(x, real=is_real)
            kid.update(x, real=is_real)
    kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std)}
