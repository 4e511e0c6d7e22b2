"""Configuration of the MuJoCo twin: the shared control settings, physics, and the randomisation section.

Randomisation: every range field of :class:`SimConfig` below "randomisation" is sampled uniformly, once per
``reset(seed=...)``, by :func:`dexsim.sim.randomization.sample_scene_params`; the noise fields are standard
deviations of per-step Gaussian noise drawn from a generator seeded by the same reset seed. A range ``(a, a)``
switches a knob off. Three named presets bundle the knobs (:data:`PRESETS`, :func:`sim_config`):

========================  ===============  ===============  ===============
knob                      ``nominal``      ``eval``         ``train``
========================  ===============  ===============  ===============
placement_y_m/_z_m        ±10 mm           ±15 mm           ±20 mm
bottle_yaw_deg            0                ±5 deg           ±10 deg
thread_friction_nm        0.005-0.03       0.005-0.045      0.005-0.06
contact_friction_scale    1                0.85-1.15        0.7-1.3
bottle_mass_kg            0.1              0.08-0.15        0.06-0.2
lid_mass_kg               0.01             0.008-0.015      0.006-0.02
pd_gain_scale             1                0.9-1.1          0.8-1.2 (per joint)
latency_steps             0                0-1              0-2
joint_position_noise_rad  0                0.003            0.005
joint_effort_noise_nm     0                0.005            0.01
========================  ===============  ===============  ===============

``eval`` is the spread expected on the lab's hand, ``train`` is wider (robustness margin), ``nominal`` is the
mild default the unit tests and the ROS twin use. Camera-pose and lighting knobs are added by their owner.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from dexsim.interface import ControlConfig

__all__ = ["SimConfig", "PRESETS", "PRESET_NAMES", "sim_config"]


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(f"{name} must be (min, max) with {low} <= min <= max <= {high}, got {value}")


@dataclass(frozen=True)
class SimConfig(ControlConfig):
    """Settings of ``AllegroUnscrew-sim``; every range is sampled uniformly per ``reset(seed=...)``.

    Attributes (beyond :class:`~dexsim.interface.ControlConfig`):
        physics_dt: MuJoCo timestep, s (the real hand's PD loop runs at 333 Hz; 2 ms is finer).
        palm_tilt_deg: Pitch of the upturned palm, deg; positive puts the fingertips lower than the wrist.
        bottle_radius_m: Range of the bottle body radius, m.
        bottle_length_m: Range of the bottle body length, m.
        lid_radius_inset_m: The lid radius is the bottle radius minus this, m (a narrower lid does not rub the palm).
        thread_pitch_m: Lid rise per turn, m.
        thread_load_friction_m: Thread friction torque per newton of axial load, N m/N (= m): mu r_thread /
            cos(flank half-angle); 0.003 for mu 0.2 on a 28 mm finish. Above pitch/2pi (0.00048) the thread
            self-locks: no axial force can turn it.
        engaged_turns: Turns after which the thread releases the lid, turns.
        max_tighten_turns: How far the lid can be turned the wrong way (tightened) before it stops, turns.
        settle_s: Seconds simulated at reset so the bottle comes to rest on the palm.

    Randomisation (ranges are (min, max), sampled per reset; noise fields are standard deviations):
        placement_y_m: Offset of the bottle along the palm width (towards the index side), m.
        placement_z_m: Offset of the bottle along the fingers (towards the fingertips), m.
        bottle_yaw_deg: Rotation of the bottle about the palm normal (+ = lid end towards the fingertips), deg.
        thread_friction_nm: Load-independent thread friction torque (liner, seal), N m.
        contact_friction_scale: Factor on the sliding friction of every hand, bottle and lid geom.
        bottle_mass_kg: Mass of the bottle (with its contents), kg.
        lid_mass_kg: Mass of the lid, kg.
        pd_gain_scale: Factor on each joint's kp and kd (drawn per joint), dimensionless.
        latency_steps: Control steps between an action and its targets reaching the PD loops (integers).
        joint_position_noise_rad: Gaussian noise on the observed joint positions, rad.
        joint_effort_noise_nm: Gaussian noise on the observed joint efforts, N m (clipped to the torque limits).
    """

    physics_dt: float = 0.002
    palm_tilt_deg: float = 0.0
    bottle_radius_m: tuple[float, float] = (0.031, 0.035)
    bottle_length_m: tuple[float, float] = (0.095, 0.105)
    lid_radius_inset_m: float = 0.006
    thread_pitch_m: float = 0.003
    thread_load_friction_m: float = 0.003
    engaged_turns: float = 1.75
    max_tighten_turns: float = 0.25
    settle_s: float = 0.3
    # ---- randomisation
    placement_y_m: tuple[float, float] = (-0.01, 0.01)
    placement_z_m: tuple[float, float] = (-0.01, 0.01)
    bottle_yaw_deg: tuple[float, float] = (0.0, 0.0)
    thread_friction_nm: tuple[float, float] = (0.005, 0.03)
    contact_friction_scale: tuple[float, float] = (1.0, 1.0)
    bottle_mass_kg: tuple[float, float] = (0.1, 0.1)
    lid_mass_kg: tuple[float, float] = (0.01, 0.01)
    pd_gain_scale: tuple[float, float] = (1.0, 1.0)
    latency_steps: tuple[int, int] = (0, 0)
    joint_position_noise_rad: float = 0.0
    joint_effort_noise_nm: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0005 <= self.physics_dt <= 0.01:
            raise ValueError(f"physics_dt must be in [0.0005, 0.01] s, got {self.physics_dt}")
        steps = self.control_dt / self.physics_dt
        if abs(steps - round(steps)) > 1e-6:
            raise ValueError(
                f"control period {self.control_dt} s must be a whole number of physics steps of {self.physics_dt} s"
            )
        if not -30.0 <= self.palm_tilt_deg <= 30.0:
            raise ValueError(f"palm_tilt_deg must be in [-30, 30], got {self.palm_tilt_deg}")
        _check_range("bottle_radius_m", self.bottle_radius_m, 0.02, 0.045)
        _check_range("bottle_length_m", self.bottle_length_m, 0.06, 0.14)
        _check_range("placement_y_m", self.placement_y_m, -0.02, 0.02)
        _check_range("placement_z_m", self.placement_z_m, -0.02, 0.02)
        _check_range("bottle_yaw_deg", self.bottle_yaw_deg, -30.0, 30.0)
        _check_range("thread_friction_nm", self.thread_friction_nm, 0.0, 0.1)
        _check_range("contact_friction_scale", self.contact_friction_scale, 0.2, 3.0)
        _check_range("bottle_mass_kg", self.bottle_mass_kg, 0.02, 1.0)
        _check_range("lid_mass_kg", self.lid_mass_kg, 0.002, 0.1)
        _check_range("pd_gain_scale", self.pd_gain_scale, 0.2, 3.0)
        _check_range("latency_steps", self.latency_steps, 0, 10)
        if any(int(v) != v for v in self.latency_steps):
            raise ValueError(f"latency_steps must be whole control steps, got {self.latency_steps}")
        if not 0.0 <= self.joint_position_noise_rad <= 0.1:
            raise ValueError(f"joint_position_noise_rad must be in [0, 0.1] rad, got {self.joint_position_noise_rad}")
        if not 0.0 <= self.joint_effort_noise_nm <= 0.1:
            raise ValueError(f"joint_effort_noise_nm must be in [0, 0.1] N m, got {self.joint_effort_noise_nm}")
        if not 0.002 <= self.lid_radius_inset_m <= 0.012:
            raise ValueError(f"lid_radius_inset_m must be in [0.002, 0.012] m, got {self.lid_radius_inset_m}")
        if not 0.0005 <= self.thread_pitch_m <= 0.01:
            raise ValueError(f"thread_pitch_m must be in [0.0005, 0.01] m, got {self.thread_pitch_m}")
        if not 0.0 <= self.thread_load_friction_m <= 0.02:
            raise ValueError(f"thread_load_friction_m must be in [0, 0.02] m, got {self.thread_load_friction_m}")
        if not 0.1 <= self.engaged_turns <= 5.0:
            raise ValueError(f"engaged_turns must be in [0.1, 5] turns, got {self.engaged_turns}")
        if not 0.0 <= self.max_tighten_turns <= 1.0:
            raise ValueError(f"max_tighten_turns must be in [0, 1] turns, got {self.max_tighten_turns}")
        if not 0.0 <= self.settle_s <= 5.0:
            raise ValueError(f"settle_s must be in [0, 5] s, got {self.settle_s}")

    @property
    def physics_steps_per_control(self) -> int:
        """MuJoCo steps per env step."""
        return int(round(self.control_dt / self.physics_dt))


PRESETS: Final[MappingProxyType[str, MappingProxyType[str, Any]]] = MappingProxyType({
    "nominal": MappingProxyType({}),
    "eval": MappingProxyType({
        "placement_y_m": (-0.015, 0.015),
        "placement_z_m": (-0.015, 0.015),
        "bottle_yaw_deg": (-5.0, 5.0),
        "thread_friction_nm": (0.005, 0.045),
        "contact_friction_scale": (0.85, 1.15),
        "bottle_mass_kg": (0.08, 0.15),
        "lid_mass_kg": (0.008, 0.015),
        "pd_gain_scale": (0.9, 1.1),
        "latency_steps": (0, 1),
        "joint_position_noise_rad": 0.003,
        "joint_effort_noise_nm": 0.005,
    }),
    "train": MappingProxyType({
        "placement_y_m": (-0.02, 0.02),
        "placement_z_m": (-0.02, 0.02),
        "bottle_yaw_deg": (-10.0, 10.0),
        "thread_friction_nm": (0.005, 0.06),
        "contact_friction_scale": (0.7, 1.3),
        "bottle_mass_kg": (0.06, 0.2),
        "lid_mass_kg": (0.006, 0.02),
        "pd_gain_scale": (0.8, 1.2),
        "latency_steps": (0, 2),
        "joint_position_noise_rad": 0.005,
        "joint_effort_noise_nm": 0.01,
    }),
})
"""Preset name -> the :class:`SimConfig` fields it sets (the rest keep their defaults)."""
PRESET_NAMES: Final = tuple(PRESETS)


def sim_config(preset: str = "nominal", **overrides: Any) -> SimConfig:
    """The :class:`SimConfig` of a named preset, with any fields overridden.

    Raises:
        ValueError: Unknown preset or field name (both named), or an invalid value.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown sim preset {preset!r}; known: {list(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(SimConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown SimConfig field(s) {unknown}")
    return SimConfig(**{**PRESETS[preset], **overrides})
