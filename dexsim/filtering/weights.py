"""Image-encoder weights: local files (timm or torchvision layouts), the offline Hugging Face cache, or a seeded
random initialisation.

ImageNet weights cannot be downloaded at filtering time; fetch them once on a connected machine (see
``docs/filtering.md``) and pass the file, or copy the Hugging Face cache.

=================  ============================================  ==============================================
backbone           timm model / Hugging Face repo (file)          torchvision file (accepted, keys remapped)
=================  ============================================  ==============================================
``convnext_tiny``  ``convnext_tiny.in12k_ft_in1k`` /               ``convnext_tiny-983f1562.pth``
                   ``timm/convnext_tiny.in12k_ft_in1k``
                   (``model.safetensors``)
``resnet18``       ``resnet18.a1_in1k`` / ``timm/resnet18.a1_in1k``  ``resnet18-f37072fd.pth``
                   (``model.safetensors``)
=================  ============================================  ==============================================
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import torch

__all__ = [
    "HF_REPOS",
    "WeightsInfo",
    "WeightsError",
    "build_encoder",
    "load_state_dict_file",
    "to_timm_layout",
    "hf_cached_weights",
    "file_sha256",
]

HF_REPOS: Final = {"convnext_tiny": "timm/convnext_tiny.in12k_ft_in1k", "resnet18": "timm/resnet18.a1_in1k"}
"""Hugging Face repository of each backbone's ImageNet weights (what timm's ``pretrained=True`` fetches)."""
_HEAD_KEYS: Final = {"convnext_tiny": re.compile(r"head\.fc\."), "resnet18": re.compile(r"fc\.")}
_SHOW: Final = 8


class WeightsError(ValueError):
    """A weights file is missing, unreadable or does not fit the backbone; the message names file and keys."""


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights an encoder runs with (written into every output)."""

    kind: str
    """``"file"``, ``"hf-cache"`` or ``"random"``."""
    source: str
    """The file path, or ``"random init (seed N)"``."""
    sha256: str | None
    """Content hash of the weights file; ``None`` for random weights."""
    layout: str
    """``"timm"`` or ``"torchvision"`` (the file's key layout); ``"-"`` for random weights."""

    @property
    def is_random(self) -> bool:
        """True if the encoder is randomly initialised (no pre-trained features)."""
        return self.kind == "random"

    @property
    def fingerprint(self) -> str:
        """Identifies the weights for the feature cache."""
        return self.sha256 or self.source

    def describe(self) -> str:
        """One line for reports and plot titles."""
        if self.is_random:
            return f"RANDOM-INIT weights ({self.source}; no pre-trained features)"
        return f"weights {self.source} ({self.layout} layout, sha256 {self.sha256[:12] if self.sha256 else '?'})"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {"kind": self.kind, "source": self.source, "sha256": self.sha256, "layout": self.layout,
                "random_init": self.is_random}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a torch pickle (``.pth``/``.pt``/``.bin``, tensors only).

    Training checkpoints that wrap the weights (``state_dict``, ``model``, ``state_dict_ema``) are unwrapped and
    a ``module.`` (DataParallel) prefix is stripped.

    Raises:
        FileNotFoundError: The file does not exist.
        WeightsError: It cannot be read as a state dict (named).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # safetensors / pickle raise many types
        raise WeightsError(f"weights file {path} is not a readable state dict: {exc}") from None
    for wrapper in ("state_dict_ema", "state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"weights file {path} does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _torchvision_convnext_key(key: str) -> str | None:
    """torchvision ``convnext_tiny`` key -> timm key (``None``: the classifier's linear layer, dropped)."""
    if key.startswith("features.0."):
        return "stem." + key.removeprefix("features.0.")
    if key.startswith("classifier.0."):
        return "head.norm." + key.removeprefix("classifier.0.")
    if key.startswith("classifier.2."):
        return None
    match = re.match(r"features\.(\d+)\.(.+)", key)
    if not match:
        return key
    index, rest = int(match.group(1)), match.group(2)
    if index % 2 == 0:  # features.2/4/6 = downsampling into stage index/2
        return f"stages.{index // 2}.downsample.{rest}"
    stage = (index - 1) // 2
    block = re.match(r"(\d+)\.(.+)", rest)
    if not block:
        return key
    name = {"layer_scale": "gamma", "block.0.weight": "conv_dw.weight", "block.0.bias": "conv_dw.bias",
            "block.2.weight": "norm.weight", "block.2.bias": "norm.bias", "block.3.weight": "mlp.fc1.weight",
            "block.3.bias": "mlp.fc1.bias", "block.5.weight": "mlp.fc2.weight", "block.5.bias": "mlp.fc2.bias"}
    return f"stages.{stage}.blocks.{block.group(1)}.{name.get(block.group(2), block.group(2))}"


def to_timm_layout(backbone: str, state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str]:
    """Convert a state dict to the timm layout of ``backbone`` without its classifier; returns (state, layout).

    torchvision ConvNeXt files (``features.*`` / ``classifier.*``) are remapped (``layer_scale`` (C,1,1) becomes
    ``gamma`` (C,)); torchvision ResNet keys equal timm's. Classifier weights are dropped.
    """
    layout = "timm"
    if backbone == "convnext_tiny" and any(k.startswith("features.") for k in state):
        layout = "torchvision"
        converted = {}
        for key, value in state.items():
            new = _torchvision_convnext_key(key)
            if new is None:
                continue
            converted[new] = value.reshape(-1) if new.endswith(".gamma") else value
        state = converted
    head = _HEAD_KEYS[backbone]
    return {k: v for k, v in state.items() if not head.match(k)}, layout


def hf_cached_weights(backbone: str) -> Path | None:
    """Path of the backbone's ``model.safetensors`` (or ``pytorch_model.bin``) in the offline Hugging Face cache,
    or ``None`` if it is not cached. Never touches the network."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(HF_REPOS[backbone], filename)
        if isinstance(found, str):
            return Path(found)
    return None


def _check_and_load(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, backbone: str) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(
        f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
        for k in set(state) & set(expected) if state[k].shape != expected[k].shape
    )
    problems = []
    for what, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", mismatched)):
        if keys:
            more = f" (+{len(keys) - _SHOW} more)" if len(keys) > _SHOW else ""
            problems.append(f"{len(keys)} {what}: {', '.join(keys[:_SHOW])}{more}")
    if problems:
        raise WeightsError(f"weights file {path} does not fit timm {backbone}: " + "; ".join(problems))
    model.load_state_dict(state, strict=True)


def build_encoder(backbone: str, weights: str = "auto", seed: int = 0) -> tuple[torch.nn.Module, WeightsInfo]:
    """Create the timm ``backbone`` without its classifier (global-pooled features) in eval mode.

    Args:
        backbone: ``"convnext_tiny"`` or ``"resnet18"``.
        weights: ``"auto"``, ``"random"``, ``"hf"`` or a file path (see :class:`FilterConfig`).
        seed: Seed of the random initialisation (the same seed gives the same weights).

    Raises:
        FileNotFoundError: A weights file does not exist, or ``"hf"`` and the cache lacks the weights.
        WeightsError: The file does not fit the backbone (names the file and the mismatching keys).
    """
    import torch

    from dexsim.filtering._torch import import_timm

    timm = import_timm()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = timm.create_model(backbone, pretrained=False, num_classes=0)
    model.eval()
    path: Path | None = None
    kind = "file"
    if weights in ("auto", "hf"):
        path = hf_cached_weights(backbone)
        kind = "hf-cache"
        if path is None and weights == "hf":
            raise FileNotFoundError(
                f"the Hugging Face cache has no weights for {backbone} (repo {HF_REPOS[backbone]}); "
                "see docs/filtering.md for how to fetch them on a connected machine"
            )
    elif weights != "random":
        path = Path(weights)
    if path is None:
        return model, WeightsInfo("random", f"random init (seed {seed})", None, "-")
    state, layout = to_timm_layout(backbone, load_state_dict_file(path))
    _check_and_load(model, state, path, backbone)
    return model, WeightsInfo(kind, str(path), file_sha256(path), layout)
