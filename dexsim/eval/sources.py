"""What ``dexsim eval`` evaluates (the scripted expert or a trained policy) and the env it runs in.

Both are small picklable descriptions, so each worker process builds its own env and its own policy copy from them.
The env's settings are layered: the sim preset (or ``SimConfig`` defaults), then what the policy needs
(``executor.env_kwargs()``: cameras, image size, control rate), then the user's explicit overrides; a policy whose
cameras, image size or rate the resulting env does not provide is refused with a :class:`ValueError`.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym

from dexsim.interface import ControlConfig, Controller

__all__ = [
    "EXPERT",
    "LoadedPolicy",
    "PolicySource",
    "ExpertSource",
    "CheckpointSource",
    "resolve_policy",
    "EnvSpec",
    "parse_env_overrides",
    "check_env_matches",
]

EXPERT = "expert"
"""The POLICY argument that selects the scripted expert."""

SIM_ENV_ID = "AllegroUnscrew-sim"
REAL_ENV_ID = "AllegroUnscrew-real"


@dataclass
class LoadedPolicy:
    """A policy ready to drive envs in this process.

    Attributes:
        env_kwargs: The env settings the policy needs (``ControlConfig`` field -> value).
        make_controller: Builds the controller for one env (called once per env).
    """

    env_kwargs: dict[str, Any]
    make_controller: Callable[[gym.Env[Any, Any]], Controller]


class PolicySource(Protocol):
    """A picklable recipe for a policy: every worker process calls :meth:`load` once."""

    @property
    def label(self) -> str: ...

    def load(self) -> LoadedPolicy: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ExpertSource:
    """The scripted :class:`~dexsim.sim.expert.UnscrewExpert`.

    Attributes:
        privileged: Read the lid pose from the twin's state (``False``: locate it by proprioception, the code
            path used on the real hand).
    """

    privileged: bool = True

    @property
    def label(self) -> str:
        return EXPERT if self.privileged else f"{EXPERT} (proprioceptive)"

    def load(self) -> LoadedPolicy:
        from dexsim.sim.expert import UnscrewExpert

        privileged = self.privileged
        # The expert reads no images: a state-only env is an order of magnitude faster.
        return LoadedPolicy({"cameras": ()}, lambda env: UnscrewExpert(env, privileged=privileged))

    def describe(self) -> dict[str, Any]:
        return {"policy": EXPERT, "privileged": self.privileged}


@dataclass(frozen=True)
class CheckpointSource:
    """A trained policy loaded with ``dexsim.policy.load`` (a run directory or a checkpoint).

    Attributes:
        path: Run directory, checkpoint directory or checkpoint file.
        device: Torch device of the policy.
        inference_steps: Denoising steps at inference (``None``: the checkpoint's setting).
    """

    path: Path
    device: str = "cpu"
    inference_steps: int | None = None

    @property
    def label(self) -> str:
        path = Path(self.path)
        return path.name if path.is_dir() else f"{path.parent.name}/{path.name}"

    def load(self) -> LoadedPolicy:
        try:
            policy_module = importlib.import_module("dexsim.policy")
            load = policy_module.load
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"policy {self.path}: evaluating a trained policy needs dexsim.policy "
                             f"(pip install 'dexsim[policy]'), which cannot be imported here: {exc}") from None
        executor = load(self.path, device=self.device, inference_steps=self.inference_steps)
        return LoadedPolicy(dict(executor.env_kwargs()), lambda env: executor)

    def describe(self) -> dict[str, Any]:
        return {"policy": str(self.path), "device": self.device, "inference_steps": self.inference_steps}


def resolve_policy(text: str, *, privileged: bool = True, device: str = "cpu",
                   inference_steps: int | None = None) -> PolicySource:
    """The source for ``dexsim eval``'s POLICY argument: ``expert``, a run directory or a checkpoint.

    Raises:
        FileNotFoundError: ``text`` is neither ``expert`` nor an existing path (the message names it).
    """
    if text == EXPERT:
        return ExpertSource(privileged=privileged)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(f"policy {text}: no such run directory or checkpoint (or use '{EXPERT}')")
    return CheckpointSource(path, device=device, inference_steps=inference_steps)


def _field_types(config_type: type[ControlConfig]) -> dict[str, Any]:
    instance = config_type()
    return {f.name: getattr(instance, f.name) for f in dataclasses.fields(config_type)}


def _parse_value(name: str, text: str, default: Any) -> Any:
    try:
        if isinstance(default, tuple):
            parts = [p.strip() for p in text.split(",") if p.strip()]
            if default and all(isinstance(v, (int, float)) for v in default):
                return tuple(float(p) for p in parts)
            return tuple(parts)
        if isinstance(default, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "1")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        raise ValueError(f"--sim {name}={text}: {text!r} is not a valid {type(default).__name__}") from None
    return text


def parse_env_overrides(items: Sequence[str], backend: str = "sim") -> dict[str, Any]:
    """``["time_limit_s=20", "cameras=wrist"]`` -> typed ``SimConfig`` (or ``ControlConfig``) field values.

    Tuple fields take comma-separated values (``placement_y_m=-0.01,0.01``; ``cameras=`` for none).

    Raises:
        ValueError: An item without ``=`` or an unknown field (the known ones are listed).
    """
    if backend == "sim":
        from dexsim.sim.config import SimConfig

        known = _field_types(SimConfig)
    else:
        known = _field_types(ControlConfig)
    overrides: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(f"--sim {item!r} must look like FIELD=VALUE")
        if name not in known:
            raise ValueError(f"--sim {name}: unknown env setting; known: {', '.join(sorted(known))}")
        overrides[name] = _parse_value(name, text.strip(), known[name])
    return overrides


def check_env_matches(policy_label: str, needs: Mapping[str, Any], config: ControlConfig) -> None:
    """Refuse an env that does not provide what the policy was trained on.

    Args:
        policy_label: Names the policy in the message.
        needs: The policy's env settings (``executor.env_kwargs()``).
        config: The env's configuration.

    Raises:
        ValueError: A camera the policy reads is not rendered, or the image size or control rate differs.
    """
    cameras = tuple(needs.get("cameras", ()))
    missing = [c for c in cameras if c not in config.cameras]
    if missing:
        raise ValueError(f"policy {policy_label} reads cameras {list(cameras)} but the env renders "
                         f"{list(config.cameras)} (missing: {missing})")
    if cameras and "image_size" in needs and int(needs["image_size"]) != config.image_size:
        raise ValueError(f"policy {policy_label} was trained on {needs['image_size']} px images but the env "
                         f"renders {config.image_size} px")
    if "control_hz" in needs and abs(float(needs["control_hz"]) - config.control_hz) > 1e-9:
        raise ValueError(f"policy {policy_label} runs at {needs['control_hz']} Hz but the env at "
                         f"{config.control_hz} Hz")


@dataclass(frozen=True)
class EnvSpec:
    """How to build the evaluation env (picklable, for worker processes).

    Attributes:
        backend: ``"sim"`` (``AllegroUnscrew-sim``) or ``"real"`` (``AllegroUnscrew-real``).
        preset: Sim preset of ``dexsim.sim.config.PRESETS`` (``None``: ``SimConfig`` defaults).
        overrides: Config fields set explicitly by the user; they win over the policy's needs.
        hardware: Hardware YAML, profile name or ``HardwareConfig`` of the real hand (``None``: the default).
        render_video: Build the sim env with ``render_mode="rgb_array"`` for per-trial videos.
    """

    backend: str = "sim"
    preset: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    hardware: Any = None
    render_video: bool = False

    def __post_init__(self) -> None:
        if self.backend not in ("sim", "real"):
            raise ValueError(f"--env must be 'sim' or 'real', got {self.backend!r}")
        if self.backend == "real" and self.render_video:
            raise ValueError("--video renders the twin; it is not available with --env real")

    def config(self, policy_needs: Mapping[str, Any] | None = None) -> ControlConfig:
        """The env configuration: preset, then ``policy_needs``, then :attr:`overrides`.

        A ``preset`` among the policy's needs (the randomisation it was trained with) is ignored: the evaluation's
        randomisation is :attr:`preset`.
        """
        needs = {k: v for k, v in (policy_needs or {}).items() if k != "preset"}
        fields = {**needs, **self.overrides}
        if "cameras" in fields:
            fields["cameras"] = tuple(fields["cameras"])
        if self.backend == "real":
            if self.preset is not None:
                raise ValueError("--preset selects sim randomisation; it does not apply to --env real")
            known = {f.name for f in dataclasses.fields(ControlConfig)}
            return ControlConfig(**{k: v for k, v in fields.items() if k in known})
        return sim_config(self.preset, fields)

    def make(self, policy_needs: Mapping[str, Any] | None = None) -> gym.Env[Any, Any]:
        """Build the env for a policy with the given needs (not yet checked against them)."""
        import dexsim  # noqa: F401  (registers the envs)

        config = self.config(policy_needs)
        if self.backend == "real":
            return gym.make(REAL_ENV_ID, config=config, hardware=self.hardware)
        return gym.make(SIM_ENV_ID, config=config, render_mode="rgb_array" if self.render_video else None)

    def describe(self) -> dict[str, Any]:
        hardware = self.hardware if self.hardware is None or isinstance(self.hardware, str) else repr(self.hardware)
        return {"backend": self.backend, "preset": self.preset, "overrides": dict(self.overrides),
                "hardware": hardware}


def sim_config(preset: str | None, fields: Mapping[str, Any]) -> Any:
    """A ``SimConfig`` from a preset name (``None``: defaults) and field values.

    Raises:
        ValueError: Unknown preset, a dexsim without presets, or an unknown / invalid field.
    """
    from dexsim.sim import config as config_module

    known = {f.name for f in dataclasses.fields(config_module.SimConfig)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ValueError(f"unknown sim settings {unknown}")
    if preset is None:
        return config_module.SimConfig(**fields)
    presets = getattr(config_module, "PRESETS", None)
    make = getattr(config_module, "sim_config", None)
    if presets is None or make is None:
        raise ValueError(f"--preset {preset}: this dexsim has no sim presets (dexsim.sim.config.PRESETS is "
                         "missing); leave --preset out to use the SimConfig defaults")
    if preset not in presets:
        raise ValueError(f"--preset {preset}: unknown preset; known: {', '.join(sorted(presets))}")
    return make(preset, **fields)
