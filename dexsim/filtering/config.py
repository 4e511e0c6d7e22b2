"""Settings of demonstration outlier filtering (``dexsim filter``), validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

__all__ = [
    "AGGREGATIONS",
    "BACKBONES",
    "DEFAULT_PERCENTILES",
    "SCORERS",
    "FilterConfig",
    "subset_name",
]

BACKBONES: Final = ("convnext_tiny", "resnet18")
"""Image encoders: the paper's ConvNeXt-Tiny and a ~4x cheaper ResNet-18 (both timm, head removed)."""
SCORERS: Final = ("image", "trajectory", "combined")
"""``image``: the paper (GLOSH on camera embeddings, averaged over cameras); ``trajectory``: GLOSH on
joint-position/effort/action window descriptors; ``combined``: mean of the two."""
AGGREGATIONS: Final = ("pooled", "frames")
"""How frame embeddings become one score per demonstration: ``frames`` fits HDBSCAN on every sampled frame of
every demonstration and averages each demonstration's frame GLOSH scores; ``pooled`` fits it on one descriptor per
demonstration (mean and standard deviation of its frame embeddings)."""
DEFAULT_PERCENTILES: Final = (10, 25, 50)
"""Percent of demonstrations removed by the three cuts (the paper's 90th / 75th / 50th percentile thresholds)."""


def subset_name(percent: int) -> str:
    """Name of the subset left after removing the ``percent`` % most outlying demonstrations."""
    return f"outliers-removed-{percent}"


@dataclass(frozen=True)
class FilterConfig:
    """Everything that determines the outlier scores (stored in ``scores.json``).

    Attributes:
        scorer: One of :data:`SCORERS`.
        backbone: Image encoder, one of :data:`BACKBONES`.
        weights: ``"auto"`` (offline Hugging Face cache if it holds the weights, else random), ``"random"``
            (seeded random initialisation), ``"hf"`` (offline Hugging Face cache, error if absent) or the path
            of a ``.pth`` / ``.pt`` / ``.bin`` / ``.safetensors`` file (timm or torchvision key layout).
        seed: Seed of the random initialisation (used only without weights).
        input_size: Side of the square image fed to the encoder, px (a multiple of 32; frames are resized).
        stride: Use every ``stride``-th frame of each demonstration (frames; 20 = 1 s at 20 Hz).
        batch_size: Images per encoder forward pass.
        cameras: Cameras to use; empty = every camera the dataset records.
        aggregation: One of :data:`AGGREGATIONS`.
        min_cluster_size: HDBSCAN ``min_cluster_size`` (demonstrations or frames, per ``aggregation``).
        min_samples: HDBSCAN ``min_samples`` (``None``: equal to ``min_cluster_size``).
        window_s: Trajectory descriptor window, s (velocity and jerk statistics around each sampled frame).
        percentiles: Percent removed by each cut; each becomes subset ``outliers-removed-<p>``.
        threads: Torch CPU threads (0: leave torch's default).
    """

    scorer: str = "image"
    backbone: str = "convnext_tiny"
    weights: str = "auto"
    seed: int = 0
    input_size: int = 64
    stride: int = 20
    batch_size: int = 32
    cameras: tuple[str, ...] = ()
    aggregation: str = "pooled"
    min_cluster_size: int = 5
    min_samples: int | None = None
    window_s: float = 1.0
    percentiles: tuple[int, ...] = field(default=DEFAULT_PERCENTILES)
    threads: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(self, "percentiles", tuple(int(p) for p in self.percentiles))
        if self.scorer not in SCORERS:
            raise ValueError(f"scorer {self.scorer!r} is not one of {list(SCORERS)}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone {self.backbone!r} is not one of {list(BACKBONES)}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation {self.aggregation!r} is not one of {list(AGGREGATIONS)}")
        if not self.weights:
            raise ValueError("weights must be 'auto', 'random', 'hf' or a file path")
        if self.input_size < 32 or self.input_size % 32:
            raise ValueError(f"input_size must be a multiple of 32 and >= 32 px, got {self.input_size}")
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1 frame, got {self.stride}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.min_cluster_size < 2:
            raise ValueError(f"min_cluster_size must be >= 2, got {self.min_cluster_size}")
        if self.min_samples is not None and self.min_samples < 1:
            raise ValueError(f"min_samples must be >= 1, got {self.min_samples}")
        if self.window_s <= 0:
            raise ValueError(f"window_s must be > 0 s, got {self.window_s}")
        if not self.percentiles or any(not 0 < p < 100 for p in self.percentiles):
            raise ValueError(f"percentiles must be in (0, 100), got {list(self.percentiles)}")
        if len(set(self.percentiles)) != len(self.percentiles):
            raise ValueError(f"percentiles are repeated: {list(self.percentiles)}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")

    @property
    def effective_min_samples(self) -> int:
        """``min_samples`` as HDBSCAN uses it."""
        return self.min_cluster_size if self.min_samples is None else self.min_samples

    @property
    def uses_images(self) -> bool:
        """True if the scorer needs camera embeddings."""
        return self.scorer in ("image", "combined")

    @property
    def uses_trajectories(self) -> bool:
        """True if the scorer needs joint/effort/action descriptors."""
        return self.scorer in ("trajectory", "combined")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready settings."""
        data = asdict(self)
        data["cameras"], data["percentiles"] = list(self.cameras), list(self.percentiles)
        return data
