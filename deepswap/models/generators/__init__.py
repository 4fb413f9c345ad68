"""Face-swap generators: all map ``(target, source_id)`` to a :class:`GeneratorOutput`."""

from deepswap.models.generators.aad import AADGenerator
from deepswap.models.generators.base import GeneratorOutput, SwapGenerator
from deepswap.models.generators.deepswap_lite import DeepSwapLiteGenerator
from deepswap.models.generators.simswap import SimSwapGenerator

__all__ = ["AADGenerator", "DeepSwapLiteGenerator", "GeneratorOutput", "SimSwapGenerator", "SwapGenerator"]
