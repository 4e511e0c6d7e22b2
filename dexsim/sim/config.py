"""Configuration of the MuJoCo twin: the shared control settings plus physics and randomisation ranges."""

from __future__ import annotations

from dataclasses import dataclass

from dexsim.interface import ControlConfig

__all__ = ["SimConfig"]


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(f"{name} must be (min, max) with {low} <= min <= max <= {high}, got {value}")


@dataclass(frozen=True)
class SimConfig(ControlConfig):
    """Settings of ``AllegroUnscrew-sim``; every range is sampled uniformly per ``reset(seed=...)``.

    Attributes (beyond :class:`~dexsim.interface.ControlConfig`):
        physics_dt: MuJoCo timestep, s (the real hand's PD loop runs at 333 Hz; 2 ms is finer).
        palm_tilt_deg: Pitch of the upturned palm, deg; positive puts the fingertips lower than the wrist,
            so gravity rolls the bottle into the cage of curled fingers instead of off the wrist end.
        bottle_radius_m: Range of the bottle body radius, m.
        bottle_length_m: Range of the bottle body length, m.
        lid_radius_inset_m: The lid radius is the bottle radius minus this, m (a narrower lid does not rub the palm).
        placement_y_m: Range of the bottle's offset along the palm width (towards the index side), m.
        placement_z_m: Range of the bottle's offset along the fingers (towards the fingertips), m.
        thread_friction_nm: Range of the thread's friction torque, N m.
        thread_pitch_m: Lid rise per turn, m.
        engaged_turns: Turns after which the thread releases the lid (success), turns.
        max_tighten_turns: How far the lid can be turned the wrong way (tightened) before it stops, turns.
        settle_s: Seconds simulated at reset so the bottle comes to rest on the palm.

    View randomisation (what the cameras see; :mod:`dexsim.sim.view_randomization`; zero/one = none):
        camera_position_noise_m: Each camera moves by up to this along each of its own axes, m.
        camera_rotation_noise_deg: Each camera turns by up to this about each of its own axes, deg.
        camera_fovy_noise_deg: Each camera's vertical field of view changes by up to this, deg.
        light_direction_noise_deg: Each scene light's direction turns by up to this about each world axis, deg.
        light_intensity_scale: Range of one factor on every light's diffuse level (headlight included).
        light_ambient_scale: Range of one factor on the ambient light level.
    """

    physics_dt: float = 0.002
    palm_tilt_deg: float = 0.0
    bottle_radius_m: tuple[float, float] = (0.031, 0.035)
    bottle_length_m: tuple[float, float] = (0.095, 0.105)
    lid_radius_inset_m: float = 0.006
    placement_y_m: tuple[float, float] = (-0.01, 0.01)
    placement_z_m: tuple[float, float] = (-0.01, 0.01)
    thread_friction_nm: tuple[float, float] = (0.005, 0.03)
    thread_pitch_m: float = 0.003
    engaged_turns: float = 1.75
    max_tighten_turns: float = 0.25
    settle_s: float = 0.3
    camera_position_noise_m: float = 0.0
    camera_rotation_noise_deg: float = 0.0
    camera_fovy_noise_deg: float = 0.0
    light_direction_noise_deg: float = 0.0
    light_intensity_scale: tuple[float, float] = (1.0, 1.0)
    light_ambient_scale: tuple[float, float] = (1.0, 1.0)

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
        _check_range("thread_friction_nm", self.thread_friction_nm, 0.0, 0.1)
        if not 0.002 <= self.lid_radius_inset_m <= 0.012:
            raise ValueError(f"lid_radius_inset_m must be in [0.002, 0.012] m, got {self.lid_radius_inset_m}")
        if not 0.0005 <= self.thread_pitch_m <= 0.01:
            raise ValueError(f"thread_pitch_m must be in [0.0005, 0.01] m, got {self.thread_pitch_m}")
        if not 0.1 <= self.engaged_turns <= 5.0:
            raise ValueError(f"engaged_turns must be in [0.1, 5] turns, got {self.engaged_turns}")
        if not 0.0 <= self.max_tighten_turns <= 1.0:
            raise ValueError(f"max_tighten_turns must be in [0, 1] turns, got {self.max_tighten_turns}")
        if not 0.0 <= self.settle_s <= 5.0:
            raise ValueError(f"settle_s must be in [0, 5] s, got {self.settle_s}")
        self._check_view_randomization()

    def _check_view_randomization(self) -> None:
        if not 0.0 <= self.camera_position_noise_m <= 0.03:
            raise ValueError(f"camera_position_noise_m must be in [0, 0.03] m, got {self.camera_position_noise_m}")
        if not 0.0 <= self.camera_rotation_noise_deg <= 10.0:
            raise ValueError(f"camera_rotation_noise_deg must be in [0, 10] deg, got {self.camera_rotation_noise_deg}")
        if not 0.0 <= self.camera_fovy_noise_deg <= 10.0:
            raise ValueError(f"camera_fovy_noise_deg must be in [0, 10] deg, got {self.camera_fovy_noise_deg}")
        if not 0.0 <= self.light_direction_noise_deg <= 60.0:
            raise ValueError(f"light_direction_noise_deg must be in [0, 60] deg, got {self.light_direction_noise_deg}")
        _check_range("light_intensity_scale", self.light_intensity_scale, 0.2, 3.0)
        _check_range("light_ambient_scale", self.light_ambient_scale, 0.2, 3.0)

    @property
    def physics_steps_per_control(self) -> int:
        """MuJoCo steps per env step."""
        return int(round(self.control_dt / self.physics_dt))
