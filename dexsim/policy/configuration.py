"""Policy configuration: one validated dataclass per TOML section, torch-free.

A policy file (``policies/<name>.toml``) holds the sections below; every field has a default, so a file names
only what differs. ``dexsim train --set section.key=value`` overrides any field (the value is parsed as TOML,
so ``--set model.down_dims=[64,128,256]`` and ``--set model.encoder=conv`` both work).

============  ===============================================================================================
section       what it holds
============  ===============================================================================================
[policy]      name, description
[inputs]      cameras, low-dim observation keys, action key (absolute ``joint_target`` or delta ``action``)
[data]        episode selection (subset name or explicit ids), validation split, normalisation range floors
[horizon]     observed frames, prediction horizon, executed actions per chunk
[model]       image encoder (``resnet18`` or ``conv``), image size, crop, keypoints, UNet widths
[diffusion]   DDPM training schedule, inference scheduler (DDIM or DPM-Solver) and its step count
[train]       batch, AdamW, warm-up + cosine schedule, EMA, epochs/steps, early stopping, checkpoints, seed
[executor]    temporal ensembling and asynchronous inference defaults of the executor
============  ===============================================================================================
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, get_type_hints

from dexsim.data.schema import KEY_ACTION, KEY_JOINT_TARGET
from dexsim.interface import CAMERA_OBS_KEYS, LOW_DIM_OBS_KEYS

__all__ = [
    "ENCODERS",
    "INFERENCE_SCHEDULERS",
    "POLICY_FORMAT",
    "POLICY_FORMAT_VERSION",
    "PolicySection",
    "InputsConfig",
    "DataConfig",
    "HorizonConfig",
    "ModelConfig",
    "DiffusionConfig",
    "TrainConfig",
    "ExecutorConfig",
    "PolicyConfig",
    "load_policy_config",
    "parse_override",
]

POLICY_FORMAT: Final = "dexsim-diffusion-policy"
"""``format`` field of a checkpoint's ``config.json``."""
POLICY_FORMAT_VERSION: Final = 1
ENCODERS: Final = ("resnet18", "conv")
INFERENCE_SCHEDULERS: Final = ("ddim", "dpmsolver")
BETA_SCHEDULES: Final = ("squaredcos_cap_v2", "linear", "scaled_linear")
PREDICTION_TYPES: Final = ("epsilon", "sample")
ACTION_KEYS: Final = (KEY_JOINT_TARGET, KEY_ACTION)


def _fail(section: str, name: str, message: str) -> None:
    raise ValueError(f"[{section}] {name}: {message}")


@dataclass(frozen=True)
class PolicySection:
    """``[policy]``: what the configuration is.

    Attributes:
        name: Short identifier (also the default checkpoint name).
        description: One line for humans.
    """

    name: str = "diffusion_policy"
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            _fail("policy", "name", f"use letters, digits, '_' or '-', got {self.name!r}")


@dataclass(frozen=True)
class InputsConfig:
    """``[inputs]``: what the policy observes and predicts.

    Attributes:
        cameras: Camera names (``"top"``, ``"wrist"``); empty for a state-only policy.
        low_dim: Low-dimensional observation keys (``"joint_positions"``, ``"joint_efforts"``).
        action: ``"joint_target"`` (absolute joint targets, rad, converted to the env's delta action at execution
            time; the default, chosen by measurement: see docs/policy.md) or ``"action"`` (the recorded deltas).
    """

    cameras: tuple[str, ...] = ("top", "wrist")
    low_dim: tuple[str, ...] = LOW_DIM_OBS_KEYS
    action: str = KEY_JOINT_TARGET

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(self, "low_dim", tuple(self.low_dim))
        unknown = [c for c in self.cameras if c not in CAMERA_OBS_KEYS]
        if unknown:
            _fail("inputs", "cameras", f"unknown cameras {unknown}; known: {sorted(CAMERA_OBS_KEYS)}")
        if len(set(self.cameras)) != len(self.cameras):
            _fail("inputs", "cameras", f"listed twice: {list(self.cameras)}")
        unknown = [k for k in self.low_dim if k not in LOW_DIM_OBS_KEYS]
        if unknown:
            _fail("inputs", "low_dim", f"unknown observation keys {unknown}; known: {list(LOW_DIM_OBS_KEYS)}")
        if len(set(self.low_dim)) != len(self.low_dim):
            _fail("inputs", "low_dim", f"listed twice: {list(self.low_dim)}")
        if not self.cameras and not self.low_dim:
            _fail("inputs", "cameras/low_dim", "the policy must observe something")
        if self.action not in ACTION_KEYS:
            _fail("inputs", "action", f"must be one of {list(ACTION_KEYS)}, got {self.action!r}")

    @property
    def image_keys(self) -> tuple[str, ...]:
        """Observation keys of the cameras, in ``cameras`` order."""
        return tuple(CAMERA_OBS_KEYS[c] for c in self.cameras)

    @property
    def absolute_actions(self) -> bool:
        """True when the policy predicts absolute joint targets."""
        return self.action == KEY_JOINT_TARGET


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: which demonstrations and how they are normalised.

    Attributes:
        subset: Name of a subset saved beside the dataset (``dexsim filter`` writes ``outliers-removed-10`` ...);
            empty = all episodes.
        episode_ids: Explicit episode ids (alternative to ``subset``); empty = all.
        val_fraction: Fraction of the selected episodes held out for the validation loss (split by episode).
        range_floor_rad: Smallest min-max range of joint-angle dimensions, rad (near-constant joints).
        range_floor_nm: Smallest min-max range of effort dimensions, N m.
    """

    subset: str = ""
    episode_ids: tuple[int, ...] = ()
    val_fraction: float = 0.1
    range_floor_rad: float = 0.05
    range_floor_nm: float = 0.02

    def __post_init__(self) -> None:
        object.__setattr__(self, "episode_ids", tuple(int(i) for i in self.episode_ids))
        if self.subset and self.episode_ids:
            _fail("data", "subset/episode_ids", "give one of them, not both")
        if len(set(self.episode_ids)) != len(self.episode_ids):
            _fail("data", "episode_ids", "ids are repeated")
        if any(i < 0 for i in self.episode_ids):
            _fail("data", "episode_ids", "ids must be >= 0")
        if not 0.0 <= self.val_fraction < 0.9:
            _fail("data", "val_fraction", f"must be in [0, 0.9), got {self.val_fraction}")
        if self.range_floor_rad <= 0 or self.range_floor_nm <= 0:
            _fail("data", "range_floor_rad/range_floor_nm", "must be positive")

    @property
    def has_selection(self) -> bool:
        """True when a subset or explicit ids name the episodes."""
        return bool(self.subset or self.episode_ids)


@dataclass(frozen=True)
class HorizonConfig:
    """``[horizon]``, in control steps (frames).

    Attributes:
        n_obs_steps: Observed frames per prediction (the latest and the ones before).
        horizon: Predicted actions per chunk (the first is aligned with the oldest observed frame).
        n_action_steps: Actions executed from each chunk before re-planning.
    """

    n_obs_steps: int = 2
    horizon: int = 16
    n_action_steps: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.n_obs_steps <= 8:
            _fail("horizon", "n_obs_steps", f"must be in [1, 8], got {self.n_obs_steps}")
        if not 2 <= self.horizon <= 256:
            _fail("horizon", "horizon", f"must be in [2, 256], got {self.horizon}")
        if not 1 <= self.n_action_steps <= self.horizon - self.n_obs_steps + 1:
            _fail("horizon", "n_action_steps",
                  f"must be in [1, horizon - n_obs_steps + 1 = {self.horizon - self.n_obs_steps + 1}], "
                  f"got {self.n_action_steps}")


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: network sizes.

    Attributes:
        encoder: ``"resnet18"`` (the paper's, GroupNorm, no pretrained weights) or ``"conv"`` (small, for CPUs).
        image_size: Camera resolution the policy is trained and run at, px (must match the dataset).
        crop_fraction: Side of the random (train) / centre (inference) crop as a fraction of ``image_size``.
        conv_channels: Channels of the ``conv`` encoder's layers (the first two stride 2).
        keypoints: Spatial-softmax keypoints per camera.
        image_feature_dim: Feature size per camera and frame after the keypoint projection.
        down_dims: ConditionalUnet1D channel widths per level.
        kernel_size: Temporal convolution kernel of the UNet.
        n_groups: GroupNorm groups in the UNet.
        step_embed_dim: Size of the diffusion-step embedding.
    """

    encoder: str = "resnet18"
    image_size: int = 96
    crop_fraction: float = 0.875
    conv_channels: tuple[int, ...] = (32, 32, 64, 64)
    keypoints: int = 32
    image_feature_dim: int = 64
    down_dims: tuple[int, ...] = (256, 512, 1024)
    kernel_size: int = 5
    n_groups: int = 8
    step_embed_dim: int = 128

    def __post_init__(self) -> None:
        object.__setattr__(self, "conv_channels", tuple(int(c) for c in self.conv_channels))
        object.__setattr__(self, "down_dims", tuple(int(c) for c in self.down_dims))
        if self.encoder not in ENCODERS:
            _fail("model", "encoder", f"must be one of {list(ENCODERS)}, got {self.encoder!r}")
        if not 16 <= self.image_size <= 512:
            _fail("model", "image_size", f"must be in [16, 512] px, got {self.image_size}")
        if not 0.5 <= self.crop_fraction <= 1.0:
            _fail("model", "crop_fraction", f"must be in [0.5, 1], got {self.crop_fraction}")
        if not self.conv_channels or len(self.conv_channels) > 8 or min(self.conv_channels) < 4:
            _fail("model", "conv_channels", f"1-8 layers of >= 4 channels, got {list(self.conv_channels)}")
        if any(c % 4 for c in self.conv_channels):
            _fail("model", "conv_channels", f"must be multiples of 4 (GroupNorm), got {list(self.conv_channels)}")
        if not 1 <= self.keypoints <= 512:
            _fail("model", "keypoints", f"must be in [1, 512], got {self.keypoints}")
        if not 1 <= self.image_feature_dim <= 2048:
            _fail("model", "image_feature_dim", f"must be in [1, 2048], got {self.image_feature_dim}")
        if not 1 <= len(self.down_dims) <= 5 or min(self.down_dims) < 1:
            _fail("model", "down_dims", f"1-5 positive widths, got {list(self.down_dims)}")
        if any(d % self.n_groups for d in self.down_dims):
            _fail("model", "down_dims", f"widths must be multiples of n_groups={self.n_groups}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            _fail("model", "kernel_size", f"must be odd and positive, got {self.kernel_size}")
        if self.n_groups < 1:
            _fail("model", "n_groups", f"must be positive, got {self.n_groups}")
        if self.step_embed_dim < 2 or self.step_embed_dim % 2:
            _fail("model", "step_embed_dim", f"must be even and >= 2, got {self.step_embed_dim}")

    @property
    def crop_size(self) -> int:
        """Side of the crop, px."""
        return max(8, int(round(self.crop_fraction * self.image_size)))


@dataclass(frozen=True)
class DiffusionConfig:
    """``[diffusion]``: noise schedules.

    Attributes:
        train_steps: DDPM diffusion steps at training time.
        beta_schedule: diffusers beta schedule name.
        beta_start, beta_end: Beta range (used by ``linear`` / ``scaled_linear``).
        prediction_type: ``"epsilon"`` (predict the noise) or ``"sample"``.
        clip_sample: Clip denoised samples to [-1, 1] (the normalised action range).
        inference_scheduler: ``"ddim"`` or ``"dpmsolver"`` (DPM-Solver++ multistep).
        inference_steps: Denoising steps per chunk at inference time.
    """

    train_steps: int = 100
    beta_schedule: str = "squaredcos_cap_v2"
    beta_start: float = 1e-4
    beta_end: float = 0.02
    prediction_type: str = "epsilon"
    clip_sample: bool = True
    inference_scheduler: str = "ddim"
    inference_steps: int = 10

    def __post_init__(self) -> None:
        if not 2 <= self.train_steps <= 10000:
            _fail("diffusion", "train_steps", f"must be in [2, 10000], got {self.train_steps}")
        if self.beta_schedule not in BETA_SCHEDULES:
            _fail("diffusion", "beta_schedule", f"must be one of {list(BETA_SCHEDULES)}, got {self.beta_schedule!r}")
        if not 0 < self.beta_start < self.beta_end < 1:
            _fail("diffusion", "beta_start/beta_end", "need 0 < beta_start < beta_end < 1")
        if self.prediction_type not in PREDICTION_TYPES:
            _fail("diffusion", "prediction_type", f"must be one of {list(PREDICTION_TYPES)}")
        if self.inference_scheduler not in INFERENCE_SCHEDULERS:
            _fail("diffusion", "inference_scheduler", f"must be one of {list(INFERENCE_SCHEDULERS)}")
        if not 1 <= self.inference_steps <= self.train_steps:
            _fail("diffusion", "inference_steps", f"must be in [1, train_steps={self.train_steps}]")


@dataclass(frozen=True)
class TrainConfig:
    """``[train]``: optimisation and bookkeeping.

    Attributes:
        batch_size: Global batch (split across ``torchrun`` processes), windows.
        lr: Peak AdamW learning rate.
        betas: AdamW betas.
        weight_decay: AdamW weight decay.
        warmup_steps: Linear warm-up steps before the cosine decay.
        max_steps: Optimiser steps in total (the cosine schedule ends here).
        max_epochs: Stop after this many epochs (0 = no limit).
        max_minutes: Stop (and finish) after this much training wall time, min (0 = no limit).
        patience: Stop after this many epochs without a lower validation loss (0 = never).
        ema_power, ema_inv_gamma, ema_max: EMA decay ``min(max, 1 - (1 + step / inv_gamma) ** -power)``.
        checkpoint_every: Optimiser steps between resumable checkpoints.
        keep_checkpoints: Resumable checkpoints kept (the oldest are deleted).
        val_windows: Validation windows evaluated per epoch (evenly spaced over the held-out episodes).
        log_every: Steps between CSV log rows.
        seed: Seed of initialisation, batches, noise and crops.
        threads: torch CPU threads per process (0 = torch's default).
        tensorboard: Also write TensorBoard event files (needs the ``tensorboard`` package).
    """

    batch_size: int = 64
    lr: float = 1e-4
    betas: tuple[float, float] = (0.95, 0.999)
    weight_decay: float = 1e-6
    warmup_steps: int = 500
    max_steps: int = 100_000
    max_epochs: int = 0
    max_minutes: float = 0.0
    patience: int = 0
    ema_power: float = 0.75
    ema_inv_gamma: float = 1.0
    ema_max: float = 0.9999
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    val_windows: int = 1024
    log_every: int = 10
    seed: int = 0
    threads: int = 0
    tensorboard: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        checks = {
            "batch_size": self.batch_size >= 1, "lr": self.lr > 0, "weight_decay": self.weight_decay >= 0,
            "warmup_steps": self.warmup_steps >= 0, "max_steps": self.max_steps >= 1,
            "max_epochs": self.max_epochs >= 0, "max_minutes": self.max_minutes >= 0, "patience": self.patience >= 0,
            "ema_power": self.ema_power > 0, "ema_inv_gamma": self.ema_inv_gamma > 0,
            "ema_max": 0 <= self.ema_max < 1, "checkpoint_every": self.checkpoint_every >= 1,
            "keep_checkpoints": self.keep_checkpoints >= 1, "val_windows": self.val_windows >= 1,
            "log_every": self.log_every >= 1, "seed": self.seed >= 0, "threads": self.threads >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                _fail("train", name, f"out of range: {getattr(self, name)!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            _fail("train", "betas", f"two numbers in [0, 1), got {list(self.betas)}")


@dataclass(frozen=True)
class ExecutorConfig:
    """``[executor]``: defaults of :class:`~dexsim.policy.executor.DiffusionPolicyExecutor`.

    Attributes:
        temporal_ensemble: ACT-style ensembling of overlapping chunks' targets for the same tick with weights
            ``exp(-k * i)`` (``i = 0`` the oldest chunk); 0 = off (each tick uses the newest chunk only).
        asynchronous: Compute the next chunk in a background thread while the current one executes.
        latency_margin_ticks: Extra ticks of lead time beyond the measured latency when starting the next chunk.
    """

    temporal_ensemble: float = 0.0
    asynchronous: bool = False
    latency_margin_ticks: int = 1

    def __post_init__(self) -> None:
        if self.temporal_ensemble < 0:
            _fail("executor", "temporal_ensemble", f"must be >= 0, got {self.temporal_ensemble}")
        if not 0 <= self.latency_margin_ticks <= 16:
            _fail("executor", "latency_margin_ticks", f"must be in [0, 16], got {self.latency_margin_ticks}")


_SECTIONS: Final = {
    "policy": PolicySection,
    "inputs": InputsConfig,
    "data": DataConfig,
    "horizon": HorizonConfig,
    "model": ModelConfig,
    "diffusion": DiffusionConfig,
    "train": TrainConfig,
    "executor": ExecutorConfig,
}


@dataclass(frozen=True)
class PolicyConfig:
    """A whole policy configuration (one attribute per TOML section)."""

    policy: PolicySection = field(default_factory=PolicySection)
    inputs: InputsConfig = field(default_factory=InputsConfig)
    data: DataConfig = field(default_factory=DataConfig)
    horizon: HorizonConfig = field(default_factory=HorizonConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def __post_init__(self) -> None:
        levels = len(self.model.down_dims) - 1
        if self.horizon.horizon % (2**levels):
            _fail("horizon", "horizon", f"{self.horizon.horizon} must be divisible by 2^{levels} "
                  f"(len(model.down_dims) - 1 downsamplings)")

    # ------------------------------------------------------------------------------------ conversions
    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> PolicyConfig:
        """Build from nested dicts (TOML or JSON); errors name ``where`` and the section/field at fault."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a table of sections, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_SECTIONS))
        if unknown:
            raise ValueError(f"{where}: unknown sections {unknown}; known: {list(_SECTIONS)}")
        sections: dict[str, Any] = {}
        try:
            for name, section_type in _SECTIONS.items():
                sections[name] = _build_section(name, section_type, data.get(name, {}))
            return cls(**sections)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dicts (lists for tuples), the inverse of :meth:`from_dict`."""
        return {name: _plain(dataclasses.asdict(getattr(self, name))) for name in _SECTIONS}

    def with_overrides(self, overrides: list[str] | tuple[str, ...], where: str = "--set") -> PolicyConfig:
        """A copy with ``section.key=value`` overrides applied (validated again)."""
        data = self.to_dict()
        for text in overrides:
            section, key, value = parse_override(text)
            if section not in data:
                raise ValueError(f"{where} {text!r}: unknown section {section!r}; known: {list(_SECTIONS)}")
            if key not in data[section]:
                raise ValueError(f"{where} {text!r}: [{section}] has no field {key!r}; "
                                 f"known: {sorted(data[section])}")
            data[section][key] = value
        return PolicyConfig.from_dict(data, where)

    def differences(self, other: PolicyConfig) -> list[str]:
        """``section.key`` of every field that differs from ``other``."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{s}.{k}" for s in mine for k in mine[s] if mine[s][k] != theirs[s].get(k)]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _build_section(name: str, section_type: type, values: Any) -> Any:
    if not isinstance(values, dict):
        raise ValueError(f"[{name}] must be a table, got {type(values).__name__}")
    hints = get_type_hints(section_type)
    known = {f.name for f in dataclasses.fields(section_type)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"[{name}] unknown fields {unknown}; known: {sorted(known)}")
    converted = {}
    for key, value in values.items():
        converted[key] = _convert(name, key, hints[key], value)
    return section_type(**converted)


def _convert(section: str, key: str, hint: Any, value: Any) -> Any:
    """Check ``value`` against the field's annotation (TOML gives ints where floats are meant: accept them)."""
    text = str(hint)
    bad = f"[{section}] {key}: expected {getattr(hint, '__name__', text)}, got {value!r}"
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(bad)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(bad)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(bad)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(bad)
        return value
    if text.startswith("tuple"):
        if not isinstance(value, (list, tuple)):
            raise ValueError(bad)
        inner = hint.__args__[0]
        return tuple(_convert(section, key, inner, v) for v in value)
    return value


def parse_override(text: str) -> tuple[str, str, Any]:
    """Split ``section.key=value``; the value is parsed as a TOML value (a bare word is a string)."""
    target, sep, raw = text.partition("=")
    section, dot, key = target.strip().partition(".")
    if not sep or not dot or not section or not key:
        raise ValueError(f"--set {text!r}: expected section.key=value (e.g. train.max_steps=2000)")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return section, key, value


def load_policy_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> PolicyConfig:
    """Read and validate ``policies/<name>.toml`` (plus ``--set`` overrides).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: Malformed TOML or a bad field (the message names the file, section and field).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"policy config {path} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    config = PolicyConfig.from_dict(data, str(path))
    return config.with_overrides(list(overrides), f"{path} --set") if overrides else config
