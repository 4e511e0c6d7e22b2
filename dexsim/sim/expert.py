"""Scripted expert: unscrews the lid by index-finger gaiting while middle and ring fingers cage the bottle.

Strategy (after the measured feasibility probe in ``shared/facts.md``):

1. *Grasp* (first ``grasp_s``): middle and ring curl over the bottle towards fixed joint targets, caging it
   against the palm and the proximal phalanges (their medial and distal joints end up at their torque limits,
   the proximal ones at about half); the index finger rises above the lid; the thumb stays parked.
2. *Gait* (repeated ``cycle_s`` cycles): the index fingertip follows targets on a circle about the lid axis:
   a pressing sweep over the top of the lid from the fingertip side towards the wrist (the unscrewing stroke,
   commanded ``press_depth_m`` inside the lid surface for normal force), a lift, a swing back, a press down.
   The lid centre is re-read every cycle from privileged sim state when the env is the twin (and
   ``privileged=True``); against the real hand, which cannot sense the lid, it is located by touch and tracked
   by proprioception (:mod:`dexsim.sim.probes`; everything from the measured joint positions and the forward
   kinematics): as the cage closes, the thumb sweeps along the palm width onto the lid's end face (where the lid
   is along the palm width); then the index fingertip touches the lid's front and top (its axis along the
   fingers, its height, hence the bottle and lid radius); the gait then starts, and the lid's motion (the
   strokes push the bottle towards the wrist and yaw it) is followed by the caging middle and ring fingertips,
   which rest on the bottle and move with it. The time spent touching does not count towards the defect
   schedule. Every cycle the index root joint is set so that the finger's plane crosses the lid where it does
   at the nominal position.

Targets are turned into the env's delta actions with :func:`dexsim.interface.target_to_action`, so the expert
drives either env.

Defect modes (:class:`DefectMode`) make realistic bad demonstrations with a ground-truth label, for
evaluating outlier filtering.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.hand import FINGER_JOINT_SLICES, Finger, home_pose
from dexsim.hand.ik import FingerIKConfig, solve_fingertips
from dexsim.hand.kinematics import fingertip_positions
from dexsim.interface import OBS_JOINT_POSITIONS, env_config, target_to_action
from dexsim.sim.probes import FINGERTIP_RADIUS_M, LidTouchConfig, LidTouches, ThumbProbe, ThumbProbeConfig
from dexsim.sim.simulation import BOTTLE_NOMINAL_Z_M, LID_TARGET_Y_M, PALM_FACE_X_M

__all__ = ["DefectMode", "ExpertConfig", "UnscrewExpert", "CLEAN_LABEL"]

CLEAN_LABEL = "clean"
"""Label of a demonstration made without a defect."""

_FINGERTIP_RADIUS_M = FINGERTIP_RADIUS_M
_NOMINAL_BOTTLE_RADIUS_M = 0.033
_LID_HALF_HEIGHT_M = 0.011
_LID_INSET_M = 0.006
"""The lid's radius is the bottle's minus this, m (``SimConfig.lid_radius_inset_m``; the lab's bottles)."""
_BOTTLE_RADIUS_BOUNDS_M = (0.025, 0.04)
"""Bottle radii the lid touches may return, m (a wider span than the lab's bottles, 31-35 mm)."""
_ABDUCTION_CANDIDATES = np.linspace(-0.3, 0.47, 12)
_REMOVAL_STROKE_S = 1.2


class DefectMode(str, enum.Enum):
    """Ways an operator's demonstration goes wrong; the value is the recorded label."""

    JITTER = "jitter"
    """Shaky operator: noisy, low-pass filtered joint targets throughout."""
    HESITATION = "hesitation"
    """Long pauses (1.5-3 s) where the hand freezes mid-task."""
    SLIP_REGRASP = "slip_regrasp"
    """The caging fingers open mid-task, the bottle slips, then they regrasp."""
    WRONG_DIRECTION = "wrong_direction"
    """Several cycles turning the lid the wrong way (tightening) before correcting."""
    NEAR_DROP = "near_drop"
    """The grasp loosens and the bottle rolls towards the wrist edge before being caught."""
    ABORTED = "aborted"
    """The operator gives up midway: the hand opens and idles until the time limit."""


@dataclass(frozen=True)
class ExpertConfig:
    """Gait parameters (lengths in m, angles in deg, times in s; ``index_abduction`` and ``cage_targets`` in rad).

    ``index_abduction`` is the index finger's fixed root joint during the gait (the IK holds it, as the paper's
    teleoperation does): 0.1 rad tilts the finger's plane of motion onto the lid's outer half (0.0: 25/30
    successes, 0.1: 100/100, 0.25: 93/100 over seeded resets).

    Proprioceptive mode (``privileged=False`` or no twin) only:

    * ``thumb_probe``: the thumb probe that finds the lid's end face (``None``: none, and no lid touches).
    * ``lid_touch``: the index touches on the lid's front and top after it (``None``: none; the lid's z then comes
      from the caging fingertips alone, off by up to +-17 mm at ``train``).
    * ``caging_filter_s``: time constant of the low-pass filter on the caging fingertips' positions, s.
    * Fallback when the thumb probe meets nothing: a pressing stroke whose fingertip sinks, on average over the
      middle of the sweep, more than ``missed_stroke_sink_m`` inside the expected lid surface missed the lid; the
      lid-position estimate then moves ``search_step_m`` towards the ring finger, at most ``search_range_m`` from
      the nominal position (tuned on `train` seeds 200-259, before the probes: 0.005 / 0.008 / 0.025 m).
    """

    grasp_s: float = 1.0
    cycle_s: float = 0.6
    sweep_start_deg: float = 60.0
    sweep_end_deg: float = -60.0
    press_depth_m: float = 0.015
    lift_m: float = 0.012
    aim_outward_m: float = 0.006
    cage_targets: tuple[float, float, float, float] = (0.0, 1.3, 1.4, 1.4)
    index_abduction: float = 0.1
    missed_stroke_sink_m: float = 0.005
    search_step_m: float = 0.008
    search_range_m: float = 0.025
    thumb_probe: ThumbProbeConfig | None = ThumbProbeConfig()
    lid_touch: LidTouchConfig | None = LidTouchConfig()
    caging_filter_s: float = 0.5

    def __post_init__(self) -> None:
        if self.grasp_s < 0 or self.cycle_s <= 0:
            raise ValueError("grasp_s must be >= 0 and cycle_s > 0")
        if not self.sweep_end_deg < self.sweep_start_deg:
            raise ValueError("the sweep must run from a larger to a smaller angle")
        if self.missed_stroke_sink_m <= 0 or self.search_step_m < 0 or self.search_range_m < 0:
            raise ValueError("missed_stroke_sink_m must be > 0, search_step_m and search_range_m >= 0")
        if self.caging_filter_s <= 0:
            raise ValueError(f"caging_filter_s must be > 0, got {self.caging_filter_s}")


class UnscrewExpert:
    """A scripted controller for ``AllegroUnscrew-sim`` and ``AllegroUnscrew-real``.

    Args:
        env: The env it drives (wrapped or not).
        defect: Defect mode to inject, or ``None`` for a clean demonstration.
        config: Gait parameters.
        privileged: Read the lid pose from the twin's state when the env is the twin; with ``False`` (or an
            env without a ``simulation``, such as the real hand) locate it by touch and proprioception only.
    """

    def __init__(self, env: gym.Env[Any, Any], defect: DefectMode | None = None,
                 config: ExpertConfig | None = None, privileged: bool = True) -> None:
        self.env = env
        self.defect = DefectMode(defect) if defect is not None else None
        self.config = config or ExpertConfig()
        self._simulation = getattr(env.unwrapped, "simulation", None) if privileged else None
        control = env_config(env)
        self._dt = control.control_dt
        self._max_delta = control.max_joint_delta
        self._ik_config = FingerIKConfig(abduction=(self.config.index_abduction, 0.0, 0.0))
        self._rng = np.random.default_rng()
        self.reset()

    @property
    def label(self) -> str:
        """Ground-truth label of the demonstration this expert makes."""
        return self.defect.value if self.defect is not None else CLEAN_LABEL

    @property
    def lid_y_estimate_m(self) -> float:
        """Where the proprioceptive mode takes the lid's mid-plane along the palm width (hand y), m."""
        return self._lid_y

    def reset(self, seed: int | None = None) -> None:
        """Start a new demonstration (call after ``env.reset``); ``seed`` drives the defect timing and noise."""
        self._rng = np.random.default_rng(seed)
        self._step = 0
        self._task_t = 0.0
        self._index_q = home_pose().copy()
        self._ik_config = FingerIKConfig(abduction=(self.config.index_abduction, 0.0, 0.0))
        self._lid_y = LID_TARGET_Y_M  # proprioceptive estimate of the lid's mid-plane along the palm width, m
        self._stroke_sink: list[float] = []
        self._z_offset: float | None = None  # lid z minus the caging fingertips' track, from the lid touches, m
        self._axis_x = PALM_FACE_X_M + _NOMINAL_BOTTLE_RADIUS_M  # proprioceptive lid axis height, m
        self._lid_radius = _NOMINAL_BOTTLE_RADIUS_M - _LID_INSET_M  # proprioceptive lid radius, m
        self._search_y = True  # the stroke-outcome search moves the lid y estimate (until a probe finds the lid)
        self._probe: ThumbProbe | None = None
        self._sensing_s = 0.0  # time spent on the thumb probe and lid touches after the cage closed, s
        self._touches: LidTouches | None = None
        self._touches_done = False
        self._touch_caging_z: float | None = None  # the caging fingertips' track at the front touch, m
        self._gait_start_s = self.config.grasp_s  # task time at which the gait's first cycle starts, s
        self._lid_centre = self._nominal_lid_centre()
        self._q_measured = home_pose().copy()
        self._caging_tips = fingertip_positions(home_pose())[[Finger.MIDDLE, Finger.RING]]
        self._noise = np.zeros(16)
        self._frozen: NDArray[np.float64] | None = None
        # Defect schedule: one window, in seconds since reset, after the grasp has closed.
        start = self.config.grasp_s + float(self._rng.uniform(0.5, 3.0))
        if self.defect is DefectMode.WRONG_DIRECTION:  # the operator starts off turning the wrong way
            start = self.config.grasp_s + float(self._rng.uniform(0.0, 0.5))
        self._window = (start, start + float(self._rng.uniform(1.5, 3.0)))
        second = self._window[1] + float(self._rng.uniform(0.5, 2.0))
        self._second_window = (second, second + float(self._rng.uniform(1.5, 3.0)))

    # ------------------------------------------------------------------------------------------------ act
    def act(self, obs: dict[str, NDArray[Any]], info: dict[str, Any] | None = None) -> NDArray[np.float32]:
        """The next action (delta joint positions) for observation ``obs``."""
        q_measured = np.asarray(obs[OBS_JOINT_POSITIONS], dtype=np.float64)
        self._q_measured = q_measured
        tips = fingertip_positions(q_measured)[[Finger.MIDDLE, Finger.RING]]
        if self._step == 0:
            self._caging_tips = tips
        else:  # low-pass: the axis estimate amplifies fingertip noise ~10x
            self._caging_tips = self._caging_tips + min(1.0, self._dt / self.config.caging_filter_s) * (
                tips - self._caging_tips)
        t = self._step * self._dt
        self._step += 1
        target = self._planned_target(t)
        if self.defect is DefectMode.JITTER:
            self._noise = 0.6 * self._noise + 0.4 * self._rng.normal(0.0, 0.2, size=16)
            target = target + self._noise
        return target_to_action(target, q_measured, self._max_delta)

    def _planned_target(self, t: float) -> NDArray[np.float64]:
        """Target at wall time ``t``: the clean plan on the task clock, bent by the defect mode (whose schedule
        runs on the wall clock less the time spent probing the lid, so that it falls on the gait as in the
        privileged mode)."""
        defect = self.defect
        t = t - self._sensing_s
        in_window = self._window[0] <= t < self._window[1]
        if defect is DefectMode.HESITATION and (in_window or self._second_window[0] <= t < self._second_window[1]):
            if self._frozen is None:
                self._frozen = self.clean_target(self._task_t)
            return self._frozen  # the task clock stands still while the operator hesitates
        self._frozen = None
        if defect is DefectMode.ABORTED and t >= self._window[0]:
            return home_pose().copy()
        if defect in (DefectMode.SLIP_REGRASP, DefectMode.NEAR_DROP) and in_window:
            self._task_t = 0.0  # after the window the grasp starts over: a regrasp
            return self._released_grasp(defect, t - self._window[0])
        target = self.clean_target(self._task_t, reverse=defect is DefectMode.WRONG_DIRECTION and in_window)
        self._task_t += self._dt
        return target

    def _released_grasp(self, defect: DefectMode, since: float) -> NDArray[np.float64]:
        """Targets while the grasp is let go: the cage opens; for a near drop the index pushes the bottle away."""
        target = home_pose().copy()
        if defect is DefectMode.NEAR_DROP:
            for finger in (Finger.MIDDLE, Finger.RING):
                target[FINGER_JOINT_SLICES[finger]] = 0.0
            centre, radius = self._lid_centre
            push = min(1.0, since / 1.0)
            # Index tip sweeps behind the top of the lid, pushing the bottle towards the wrist edge.
            point = centre + np.array([radius * 0.9, self.config.aim_outward_m, -0.01 - 0.03 * push])
            self._index_q = self._solve_index(point)
            target[FINGER_JOINT_SLICES[Finger.INDEX]] = self._index_q[FINGER_JOINT_SLICES[Finger.INDEX]]
        return target

    def lid_removal_target(self, since_release: float) -> NDArray[np.float64]:
        """Targets that take a released lid off the bottle, ``since_release`` s after the thread let go.

        Repeated 1.2 s strokes: the index fingertip presses on the top of the lid, the index root joint swings
        outwards (towards the lid end of the bottle), dragging the lid along the neck by friction, then the tip
        lifts and swings back over the lid's new position; the cage holds the bottle.
        """
        target = self.clean_target(self.config.grasp_s)  # caging fingers closed
        self._lid_centre = self._measured_lid_centre()
        centre, radius = self._lid_centre
        phase = max(0.0, since_release - 0.4) % _REMOVAL_STROKE_S
        if phase < self._dt:
            self._aim_index_plane()  # over the lid where it is now
        pressing = phase < 0.8 * _REMOVAL_STROKE_S
        press = centre + np.array([radius + _FINGERTIP_RADIUS_M - (0.003 if pressing else -0.012), 0.0, 0.0])
        self._index_q = self._solve_index(press)
        index = FINGER_JOINT_SLICES[Finger.INDEX]
        target[index] = self._index_q[index]
        start, end = self._ik_config.abduction[0], 0.47
        swing = min(1.0, phase / (0.6 * _REMOVAL_STROKE_S)) if pressing else 0.0
        target[index.start] = start + swing * (end - start)
        return target

    def clean_target(self, t: float, reverse: bool = False) -> NDArray[np.float64]:
        """Absolute joint targets of the clean strategy ``t`` s into the task (``reverse``: tightening gait)."""
        cfg = self.config
        target = home_pose().copy()
        cage = np.array(cfg.cage_targets)
        grasp_fraction = min(1.0, t / cfg.grasp_s) if cfg.grasp_s > 0 else 1.0
        for finger in (Finger.MIDDLE, Finger.RING):
            sl = FINGER_JOINT_SLICES[finger]
            target[sl] = home_pose()[sl] + grasp_fraction * (cage - home_pose()[sl])
        if t < cfg.grasp_s:
            self._gait_start_s = cfg.grasp_s
        point = self._probe_point(t, target)
        phase_time = t - self._gait_start_s
        if point is not None:
            self._sensing_s += self._dt
        elif phase_time < 0:
            point = self._gait_point(lifted=True, angle_deg=cfg.sweep_start_deg)
            self._sensing_s += self._dt if t >= cfg.grasp_s else 0.0
        else:
            u = (phase_time / cfg.cycle_s) % 1.0
            if u < self._dt / cfg.cycle_s + 1e-9:
                self._lid_centre = self._measured_lid_centre()
                self._aim_index_plane()
            self._monitor_stroke(u)
            point = self._gait_point_at(u, reverse)
        self._index_q = self._solve_index(point)
        sl = FINGER_JOINT_SLICES[Finger.INDEX]
        target[sl] = self._index_q[sl]
        return target

    def _probe_point(self, t: float, target: NDArray[np.float64]) -> NDArray[np.float64] | None:
        """Proprioceptive mode: run the thumb probe (writing the thumb's targets into ``target``) and then the
        lid touches; the index fingertip point while the touches run, else ``None``. Both start over after a
        regrasp."""
        cfg = self.config
        if self._simulation is not None or cfg.thumb_probe is None:
            return None
        if t < self._probe_start_s():
            self._probe = None
            self._touches, self._touches_done = None, False
            self._z_offset = None  # the cage closes anew: the track's constant changes
            return None
        if self._probe is None:
            self._start_probe(cfg.thumb_probe)
        assert self._probe is not None
        if not self._probe.done:
            target[FINGER_JOINT_SLICES[Finger.THUMB]] = self._probe.step(self._q_measured)
            if not self._probe.clear_of_lid:
                self._gait_start_s = t + self._dt  # the index waits above the lid until the thumb is out
            if self._probe.end_face_y_m is not None:
                self._lid_y = self._probe.end_face_y_m - _LID_HALF_HEIGHT_M
                self._search_y = False
        if self._probe.end_face_y_m is not None or self._probe.done:
            return self._lid_touch_point(t)
        return None

    def _lid_touch_point(self, t: float) -> NDArray[np.float64] | None:
        """Index fingertip point while the lid touches run (``None`` once they are over); they set the lid axis
        height, the lid radius and the z offset of the caging estimate."""
        cfg = self.config.lid_touch
        if cfg is None or self._touches_done:
            return None
        tip = fingertip_positions(self._q_measured)[Finger.INDEX]
        if self._touches is None:
            self._lid_centre = self._measured_lid_centre()
            self._aim_index_plane()
            centre, radius = self._lid_centre
            self._touch_caging_z = None
            self._touches = LidTouches(cfg, self._dt, axis_x_m=float(centre[0]), axis_z_m=float(centre[2]),
                                       surface_m=radius + _FINGERTIP_RADIUS_M, start_tip=tip)
        touches = self._touches
        x, z = touches.step(tip)
        if touches.front_z_m is not None and self._touch_caging_z is None:
            self._touch_caging_z = self._caging_track_z()  # where the caging fingertips were at the touch
        if not touches.done:
            self._gait_start_s = t + self._dt
            return np.array([x, self._lid_y + self.config.aim_outward_m, z])
        self._touches_done = True
        if touches.front_z_m is not None and touches.top_x_m is not None and touches.top_z_m is not None:
            # The bottle rests on the palm: its axis is r_b above the palm face, and the fingertip stopped on the
            # lid at (a, d) from (palm face, axis z), r_b + k from the axis (k = r_tip - lid inset):
            # (a - r_b)^2 + d^2 = (r_b + k)^2. The axis z is from the front touch (nominal radius; d is small).
            above = touches.top_x_m - PALM_FACE_X_M
            reach = _FINGERTIP_RADIUS_M - _LID_INSET_M
            ahead = touches.top_z_m - (touches.front_z_m - self._lid_radius - _FINGERTIP_RADIUS_M)
            bottle_radius = float(np.clip((above**2 + ahead**2 - reach**2) / (2.0 * (above + reach)),
                                          *_BOTTLE_RADIUS_BOUNDS_M))
            self._axis_x = PALM_FACE_X_M + bottle_radius
            self._lid_radius = bottle_radius - _LID_INSET_M
        if touches.front_z_m is not None and self._touch_caging_z is not None:
            self._z_offset = touches.front_z_m - self._lid_radius - _FINGERTIP_RADIUS_M - self._touch_caging_z
        self._lid_centre = self._measured_lid_centre()
        self._aim_index_plane()
        self._gait_start_s = t + cfg.move_s  # first to the lifted start of the sweep (not across the lid's top)
        return None

    def _probe_start_s(self) -> float:
        """Task time at which the thumb probe starts: its approach ends as the cage closes, s."""
        probe = self.config.thumb_probe
        approach = probe.approach_s if probe is not None else 0.0
        return max(self._dt, self.config.grasp_s - approach)

    def _start_probe(self, config: ThumbProbeConfig) -> None:
        """Start touching the lid's end face with the thumb, at the lid axis the caging fingertips give."""
        centre, _ = self._proprioceptive_lid_centre()
        self._probe = ThumbProbe(config, self._dt, height_m=float(centre[0]), along_m=float(centre[2]),
                                 parked=home_pose()[FINGER_JOINT_SLICES[Finger.THUMB]])

    def _monitor_stroke(self, u: float) -> None:
        """Proprioceptive mode without a thumb-probe result: move the stroke plane inwards after a stroke that
        found no lid under it.

        During the middle of each pressing sweep (cycle fraction 0.1-0.4) the measured index fingertip's distance
        from the estimated lid axis is compared with the lid surface (lid radius + fingertip radius). On the lid
        the fingertip stops at the surface; with the lid inboard of the stroke plane (bottle placed towards the
        ring finger) the stroke passes beyond the lid's end and the fingertip sinks towards its target, 15 mm
        inside. After a stroke that sinks more than ``missed_stroke_sink_m`` the plane steps ``search_step_m``
        towards the ring finger, down to ``search_range_m`` from the nominal position.
        """
        if self._simulation is not None or not self._search_y:
            return
        centre, radius = self._lid_centre
        if 0.1 <= u < 0.4:
            tip = fingertip_positions(self._q_measured)[Finger.INDEX]
            self._stroke_sink.append(math.hypot(tip[0] - centre[0], tip[2] - centre[2]) - radius - _FINGERTIP_RADIUS_M)
        elif u >= 0.5 and self._stroke_sink:
            sink = float(np.mean(self._stroke_sink))
            self._stroke_sink = []
            if sink < -self.config.missed_stroke_sink_m:
                self._lid_y = max(LID_TARGET_Y_M - self.config.search_range_m, self._lid_y - self.config.search_step_m)

    def _aim_index_plane(self) -> None:
        """Turn the index root joint so that the finger's plane of motion crosses the lid where it did at the
        nominal lid position (0.1 rad there): the IK holds the root joint and drops a target's out-of-plane part,
        so without this a bottle placed along the palm width puts the strokes off the lid's end."""
        centre, radius = self._lid_centre
        wanted = self._plane_y(self.config.index_abduction, self._nominal_lid_centre()) + (
            centre[1] - self._nominal_lid_centre()[0][1])
        candidates = _ABDUCTION_CANDIDATES
        reached = np.array([self._plane_y(a, (centre, radius)) for a in candidates])
        order = np.argsort(reached)
        abduction = float(np.interp(wanted, reached[order], candidates[order]))
        self._ik_config = FingerIKConfig(abduction=(abduction, 0.0, 0.0))

    def _plane_y(self, abduction: float, lid: tuple[NDArray[np.float64], float]) -> float:
        """Hand-frame y the index fingertip reaches at the top of the lid's pressing sweep with this root angle, m."""
        centre, radius = lid
        point = centre + np.array([radius + _FINGERTIP_RADIUS_M - self.config.press_depth_m,
                                   self.config.aim_outward_m, 0.0])
        targets = fingertip_positions(self._index_q)
        targets[Finger.INDEX] = point
        q = solve_fingertips(targets, self._index_q, FingerIKConfig(abduction=(abduction, 0.0, 0.0))).q
        return float(fingertip_positions(q)[Finger.INDEX][1])

    def _solve_index(self, point: NDArray[np.float64]) -> NDArray[np.float64]:
        """Joint angles putting the index fingertip at ``point`` (hand frame, m); other fingers keep theirs."""
        targets = fingertip_positions(self._index_q)
        targets[Finger.INDEX] = point
        return solve_fingertips(targets, self._index_q, self._ik_config).q

    # ------------------------------------------------------------------------------------------- the gait
    def _gait_point_at(self, u: float, reverse: bool = False) -> NDArray[np.float64]:
        """Fingertip target at cycle fraction ``u`` in [0, 1); ``reverse`` swaps the stroke's direction."""
        cfg = self.config
        start, end = cfg.sweep_start_deg, cfg.sweep_end_deg
        if reverse:
            start, end = end, start
        if u < 0.5:  # pressing sweep: the unscrewing stroke
            return self._gait_point(lifted=False, angle_deg=start + (end - start) * (u / 0.5))
        if u < 0.6:  # lift off
            return self._gait_point(lifted=True, angle_deg=end, lift_fraction=(u - 0.5) / 0.1)
        if u < 0.85:  # swing back above the lid
            return self._gait_point(lifted=True, angle_deg=end + (start - end) * ((u - 0.6) / 0.25))
        return self._gait_point(lifted=True, angle_deg=start, lift_fraction=1.0 - (u - 0.85) / 0.15)

    def _gait_point(self, lifted: bool, angle_deg: float, lift_fraction: float = 1.0) -> NDArray[np.float64]:
        """Point on the circle about the lid axis; angle from hand +x (up) towards +z (the fingertips)."""
        cfg = self.config
        centre, lid_radius = self._lid_centre
        radius = lid_radius + _FINGERTIP_RADIUS_M - cfg.press_depth_m
        if lifted:
            radius += lift_fraction * (cfg.press_depth_m + cfg.lift_m)
        angle = math.radians(angle_deg)
        return centre + np.array([radius * math.cos(angle), cfg.aim_outward_m, radius * math.sin(angle)])

    def _nominal_lid_centre(self) -> tuple[NDArray[np.float64], float]:
        # Where the caging grasp typically pulls the bottle: 18 mm towards the fingertips from its drop spot.
        return (np.array([PALM_FACE_X_M + _NOMINAL_BOTTLE_RADIUS_M, LID_TARGET_Y_M, BOTTLE_NOMINAL_Z_M + 0.018]),
                _NOMINAL_BOTTLE_RADIUS_M - _LID_INSET_M)

    def _measured_lid_centre(self) -> tuple[NDArray[np.float64], float]:
        sim = self._simulation
        if sim is not None and sim.scene_params is not None:
            return sim.lid_position_in_hand(), sim.scene_params.lid_radius
        return self._proprioceptive_lid_centre()

    def _proprioceptive_lid_centre(self) -> tuple[NDArray[np.float64], float]:
        """Lid centre and radius from proprioception, hand frame, m.

        Along the palm width: the thumb probe (or the stroke-outcome search). Along the fingers: once the lid
        touches have run, where they found the axis, moved since as the caging fingertips moved
        (:meth:`_caging_track_z`); before, the caging fingertips' own estimate (:meth:`_caging_axis_z`).
        Height and radius: from the lid touches (nominal until then).
        """
        nominal, _ = self._nominal_lid_centre()
        if self._z_offset is not None:
            track = self._caging_track_z()
            lid_z = (track if track is not None else nominal[2]) + self._z_offset
        else:
            axis = self._caging_axis_z()
            lid_z = axis if axis is not None else nominal[2]
        return np.array([self._axis_x, self._lid_y, lid_z]), self._lid_radius

    def _caging_axis_z(self) -> float | None:
        """Lid axis along the fingers (hand z) at the estimated lid mid-plane from the caging fingertips, m.

        A caging fingertip rests on the front of the bottle's top: in the plane the finger curls in, its centre
        is ``r_bottle + r_tip`` from the bottle axis, which lies ``r_bottle`` above the palm face (nominal
        radius). That puts the axis under each of the two fingers; the line through both is extrapolated along
        the bottle to the lid's mid-plane. Off by up to +-17 mm at ``train``: the fingertips rest 4-19 deg past
        the top of the bottle, where 1 mm of bottle radius (or of fingertip height) moves the result by ~10 mm.
        ``None`` when a fingertip does not rest on the bottle.
        """
        reach = _NOMINAL_BOTTLE_RADIUS_M + _FINGERTIP_RADIUS_M
        axis_x = PALM_FACE_X_M + _NOMINAL_BOTTLE_RADIUS_M
        axis_points = []
        for tip in self._caging_tips:
            if abs(tip[0] - axis_x) >= reach:
                return None
            axis_points.append((tip[1], tip[2] - math.sqrt(reach**2 - (tip[0] - axis_x) ** 2)))
        (y_middle, z_middle), (y_ring, z_ring) = axis_points
        slope = (z_middle - z_ring) / (y_middle - y_ring)
        return z_middle + slope * (self._lid_y - y_middle)

    def _caging_track_z(self) -> float | None:
        """Where the caging fingertips put the lid along the fingers (hand z), up to a constant, m.

        When the strokes push the bottle towards the wrist or yaw it, the caging fingertips resting on it move
        with it: the line through them, extrapolated along the bottle to the estimated lid mid-plane, follows
        the lid's z. The constant between the two is what the lid touches measure. ``None`` when a fingertip is
        below the bottle axis height (not resting on top of the bottle).
        """
        (y_middle, z_middle), (y_ring, z_ring) = self._caging_tips[:, 1:].tolist()
        if min(self._caging_tips[:, 0]) < PALM_FACE_X_M + _NOMINAL_BOTTLE_RADIUS_M or abs(y_middle - y_ring) < 0.01:
            return None
        slope = (z_middle - z_ring) / (y_middle - y_ring)
        return z_middle + slope * (self._lid_y - y_middle)
