"""What the operator sees: the twin's scene plus four fingertip-target markers (mocap bodies), in MuJoCo's viewer.

The markers are added here, at run time, to a *display* copy of the twin's scene (``dexsim.sim.scene`` is not
changed): :class:`TeleopDisplay` mirrors the hand (the sim's whole state, or the real hand's measured joints) into
it each tick. With hand input the markers show the retargeted fingertip targets; with mouse input they *are* the
input: double-click a marker to select it and Ctrl + right-drag moves it (MuJoCo's mocap perturbation), and
:meth:`TeleopDisplay.read_targets` returns where they are, in the hand frame. Marker colour shows the state: green
tracking, grey tracking lost, red recording. Without a window (headless, tests) the same object runs the same
loop: a caller moves the markers by writing ``mocap_pos``.

Viewer keys (GLFW codes in :data:`KEYS`): Insert start recording, End stop (save), Delete discard, Home reset the
episode, Page Up next grasp preset (mouse input).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Final

import mujoco
import numpy as np
from numpy.typing import NDArray

from dexsim.hand import JOINT_NAMES
from dexsim.interface import OBS_JOINT_POSITIONS
from dexsim.sim.config import SimConfig
from dexsim.sim.scene import build_scene, compile_scene, hand_name
from dexsim.teleop.live import Key, TickInput

__all__ = ["KEYS", "MARKER_NAMES", "TeleopDisplay", "build_display_model"]

log = logging.getLogger(__name__)

KEYS: Final[dict[int, Key]] = {260: Key.START, 269: Key.STOP, 261: Key.DISCARD, 268: Key.RESET, 266: Key.PRESET}
"""GLFW key code -> command: Insert, End, Delete, Home, Page Up."""

MARKER_NAMES: Final = ("target_index", "target_middle", "target_ring", "target_thumb")
_MARKER_RADIUS: Final = 0.008
_COLOURS: Final = {
    "tracking": (0.1, 0.85, 0.2, 0.7),
    "lost": (0.5, 0.5, 0.5, 0.5),
    "recording": (0.95, 0.1, 0.1, 0.8),
}


def build_display_model(config: SimConfig | None = None) -> mujoco.MjModel:
    """The twin's scene with four mocap marker spheres (no collisions, no mass) for the fingertip targets."""
    root = build_scene(config or SimConfig())
    for name in MARKER_NAMES:
        body = root.worldbody.add("body", name=name, mocap=True, pos=[0.0, 0.0, 0.0])
        body.add(
            "geom", name=f"{name}_geom", type="sphere", size=[_MARKER_RADIUS], rgba=_COLOURS["tracking"],
            contype=0, conaffinity=0, mass=0.0,
        )
    return compile_scene(root)


class TeleopDisplay:
    """The display scene, with or without a window.

    Args:
        config: The twin's config (scene shape); default :class:`SimConfig`.
        window: Open MuJoCo's passive viewer (needs a display); ``False`` runs headless.
        on_key: Called with each viewer key's :class:`Key` (from the viewer's thread).
        mouse: The markers are the input (not overwritten with targets).
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        window: bool = False,
        on_key: Callable[[Key], None] | None = None,
        mouse: bool = False,
    ) -> None:
        self.model = build_display_model(config)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self._hand_qpos = np.array([m.joint(hand_name(n)).qposadr[0] for n in JOINT_NAMES])
        self._mocap = np.array([m.body_mocapid[m.body(name).id] for name in MARKER_NAMES])
        self._geoms = np.array([m.geom(f"{name}_geom").id for name in MARKER_NAMES])
        self._palm = m.body(hand_name("palm")).id
        self.mouse = mouse
        self.on_key = on_key
        self.state = "tracking"
        mujoco.mj_forward(m, self.data)
        self.viewer: Any = None
        if window:
            from mujoco import viewer as mujoco_viewer  # needs a display

            before = set(threading.enumerate())
            self.viewer = mujoco_viewer.launch_passive(m, self.data, key_callback=self._key)
            self._viewer_threads = [t for t in threading.enumerate() if t not in before]

    def _key(self, keycode: int) -> None:
        key = KEYS.get(keycode)
        if key is not None and self.on_key is not None:
            self.on_key(key)

    @property
    def running(self) -> bool:
        """False once the window was closed (always True headless)."""
        return self.viewer is None or bool(self.viewer.is_running())

    # --- frames --------------------------------------------------------------------------------------
    def _palm_pose(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return self.data.xpos[self._palm].copy(), self.data.xmat[self._palm].reshape(3, 3).copy()

    def hand_to_world(self, points: NDArray[np.floating]) -> NDArray[np.float64]:
        """(..., 3) points from the hand frame (body ``palm``) to the world, m."""
        position, rotation = self._palm_pose()
        return np.asarray(points, dtype=np.float64) @ rotation.T + position

    def world_to_hand(self, points: NDArray[np.floating]) -> NDArray[np.float64]:
        """(..., 3) points from the world to the hand frame, m."""
        position, rotation = self._palm_pose()
        return (np.asarray(points, dtype=np.float64) - position) @ rotation

    def read_targets(self) -> NDArray[np.float64]:
        """Where the four markers are, hand frame (4, 3), m (the mouse input)."""
        if self.viewer is not None:
            with self.viewer.lock():
                return self.world_to_hand(self.data.mocap_pos[self._mocap])
        return self.world_to_hand(self.data.mocap_pos[self._mocap])

    def place_targets(self, targets: NDArray[np.floating]) -> None:
        """Put the markers at fingertip targets (4, 3), hand frame, m."""
        self.data.mocap_pos[self._mocap] = self.hand_to_world(targets)

    # --- per tick ------------------------------------------------------------------------------------
    def show(self, qpos: NDArray[np.floating] | None, joints: NDArray[np.floating] | None) -> None:
        """Mirror the hand: the sim's full ``qpos`` if given, else the 16 measured ``joints`` (real hand)."""
        if qpos is not None:
            self.data.qpos[: len(qpos)] = qpos
        elif joints is not None:
            self.data.qpos[self._hand_qpos] = joints
        mujoco.mj_kinematics(self.model, self.data)

    def update(self, tick: TickInput, obs: dict[str, Any], recording: bool, qpos: NDArray | None = None) -> None:
        """One tick: mirror the hand, place (or keep) the markers, colour them by state, redraw."""
        lock = self.viewer.lock() if self.viewer is not None else None
        if lock is not None:
            lock.__enter__()
        try:
            self.show(qpos, None if qpos is not None else obs.get(OBS_JOINT_POSITIONS))
            if not self.mouse and tick.fingertips is not None:
                self.place_targets(tick.fingertips)
            state = "recording" if recording else ("lost" if tick.lost and not self.mouse else "tracking")
            if state != self.state:
                self.model.geom_rgba[self._geoms] = _COLOURS[state]
                self.state = state
        finally:
            if lock is not None:
                lock.__exit__(None, None, None)
        if self.viewer is not None:
            label = {"recording": "REC", "lost": "tracking lost: holding", "tracking": "live"}[state]
            try:
                self.viewer.set_texts((None, None, "dexsim teleop", label))
            except (AttributeError, TypeError):  # older viewers: the colour says it
                pass
            self.viewer.sync()

    def reset_markers(self, fingertips: NDArray[np.floating]) -> None:
        """Put the markers on the hand's fingertips (start of an episode)."""
        mujoco.mj_kinematics(self.model, self.data)
        self.place_targets(fingertips)

    def close(self) -> None:
        """Close the window (if any)."""
        if self.viewer is not None:
            self.viewer.close()
            # close() only asks the viewer's thread to stop; wait for it to tear the window down, or GLFW's
            # exit-time terminate races it (a segfault at exit).
            for thread in getattr(self, "_viewer_threads", []):
                thread.join(timeout=5.0)
            self.viewer = None
