"""Compose the unscrewing scene in code from the MJCF assets (``dm_control.mjcf``).

The hand (``assets/allegro_right.xml``) is attached palm-up to a fixed mount; joint ranges, PD actuators and
torque limits are written onto it from the joint table (:mod:`dexsim.hand.joints`); the bottle
(``assets/bottle.xml``) is attached as a free body; the top and wrist cameras are added here.

Names in the compiled model carry the sub-model prefix: ``allegro_right/index_0``, ``bottle/lid_twist``. Use
:func:`hand_name` and :func:`bottle_name` instead of spelling prefixes.
"""

from __future__ import annotations

import math
from pathlib import Path

import mujoco
import numpy as np
from dm_control import mjcf

from dexsim.hand import JOINTS
from dexsim.sim.config import SimConfig

__all__ = [
    "ASSETS_DIR",
    "HAND_XML",
    "BOTTLE_XML",
    "HAND_MODEL",
    "BOTTLE_MODEL",
    "PALM_HEIGHT_M",
    "SKIRT_SEGMENTS",
    "hand_name",
    "bottle_name",
    "load_asset",
    "apply_joint_table",
    "hand_mount_quat",
    "build_scene",
    "compile_scene",
]

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
HAND_XML = ASSETS_DIR / "allegro_right.xml"
BOTTLE_XML = ASSETS_DIR / "bottle.xml"
HAND_MODEL = "allegro_right"
BOTTLE_MODEL = "bottle"
PALM_HEIGHT_M = 0.25
"""Height of the hand frame's origin (the knuckle line) above the floor, m."""
SKIRT_SEGMENTS = 8
"""Capsules ``lid_skirt0..7`` forming the lid's inner wall in collisions (they hold a released lid on the neck);
sized per reset by :mod:`dexsim.sim.simulation`."""


def hand_name(name: str) -> str:
    """Full name in the compiled scene of an element of the hand model."""
    return f"{HAND_MODEL}/{name}"


def bottle_name(name: str) -> str:
    """Full name in the compiled scene of an element of the bottle model."""
    return f"{BOTTLE_MODEL}/{name}"


def load_asset(path: str | Path) -> mjcf.RootElement:
    """Parse an MJCF file; a missing or malformed file raises an error that names it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MJCF asset not found: {path}")
    try:
        return mjcf.from_path(str(path))
    except Exception as exc:  # the parser's own errors do not always name the file
        raise ValueError(f"cannot parse MJCF asset {path}: {exc}") from exc


def apply_joint_table(hand: mjcf.RootElement) -> None:
    """Write joint ranges and PD position actuators from :data:`dexsim.hand.JOINTS` onto ``hand``.

    Each actuator is the real hand's joint PD loop: ``tau = clip(kp (q_target - q) - kd qdot, -tau_max, tau_max)``,
    so ``data.actuator_force`` is the same quantity the V4 driver reports as effort.
    """
    for joint in JOINTS:
        element = hand.find("joint", joint.name)
        if element is None:
            raise ValueError(f"hand model {HAND_XML} has no joint named {joint.name!r}")
        element.range = (joint.lower, joint.upper)
        hand.actuator.add(
            "general",
            name=joint.name,
            joint=element,
            gaintype="fixed",
            gainprm=(joint.kp,),
            biastype="affine",
            biasprm=(0.0, -joint.kp, -joint.kd),
            ctrlrange=(joint.lower, joint.upper),
            forcerange=(-joint.torque_limit, joint.torque_limit),
        )


def hand_mount_quat(palm_tilt_deg: float) -> np.ndarray:
    """World orientation (w, x, y, z) of the hand frame: palm up, fingers along world +x, tilted down by the pitch.

    Hand +x (grasping side of the palm) points up, hand +z (fingers) along world +x, hand +y along world -y;
    a positive tilt rotates about world +y so the fingertips go down.
    """
    upright = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])  # columns: hand x, y, z in world
    tilt = math.radians(palm_tilt_deg)
    pitch = np.array([[math.cos(tilt), 0.0, math.sin(tilt)], [0.0, 1.0, 0.0], [-math.sin(tilt), 0.0, math.cos(tilt)]])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, (pitch @ upright).ravel())
    return quat


def build_scene(config: SimConfig) -> mjcf.RootElement:
    """The whole scene as an MJCF tree: world, lights, floor, mounted hand, free bottle, cameras."""
    root = mjcf.RootElement(model="allegro_unscrew")
    root.compiler.angle = "radian"
    root.option.timestep = config.physics_dt
    root.option.cone = "elliptic"
    root.option.impratio = 10.0
    root.option.integrator = "implicitfast"
    # Rendering cost on CPU (Mesa llvmpipe) is dominated by shadows, multisampling and the tessellation of
    # primitive geoms: shadows and multisampling off, coarser capsules/cylinders (invisible at 96-128 px).
    root.visual.quality.shadowsize = 0
    root.visual.quality.offsamples = 0
    root.visual.quality.numslices = 12
    root.visual.quality.numstacks = 6
    size = max(config.image_size, 640)
    getattr(root.visual, "global").offwidth = size
    getattr(root.visual, "global").offheight = size
    root.visual.headlight.ambient = (0.35, 0.35, 0.35)
    root.visual.headlight.diffuse = (0.4, 0.4, 0.4)

    root.worldbody.add("geom", name="floor", type="plane", size=(0.5, 0.5, 0.01), rgba=(0.5, 0.48, 0.45, 1))
    root.worldbody.add("light", name="key", pos=(0.1, -0.2, 0.8), dir=(-0.1, 0.2, -0.8), diffuse=(0.6, 0.6, 0.6),
                       castshadow=False)

    hand = load_asset(HAND_XML)
    apply_joint_table(hand)
    mount = root.worldbody.add("site", name="hand_mount", pos=(0.0, 0.0, PALM_HEIGHT_M),
                               quat=hand_mount_quat(config.palm_tilt_deg), size=(0.002,), group=4)
    mount.attach(hand)
    palm = hand.find("body", "palm")
    # Wrist camera: rigid on the hand base, behind the wrist end of the palm and above it, looking along the
    # fingers at the lid (index side). Pose in the hand frame: x up from the palm, z towards the fingertips.
    palm.add("camera", name="wrist", mode="fixed", pos=(0.12, 0.035, -0.17), xyaxes=(0.0, 1.0, 0.0, 0.87, 0.0, 0.5),
             fovy=55)

    bottle = load_asset(BOTTLE_XML)
    lid = bottle.find("body", "lid")
    for k in range(SKIRT_SEGMENTS):
        lid.add("geom", name=f"lid_skirt{k}", dclass="lid_skirt", size=(0.002, 0.008))
    frame = root.worldbody.attach(bottle)
    frame.add("freejoint", name="bottle_free")

    root.worldbody.add("camera", name="top", mode="fixed", pos=(0.02, -0.02, PALM_HEIGHT_M + 0.32),
                       xyaxes=(0.0, -1.0, 0.0, 1.0, 0.0, 0.0), fovy=45)
    return root


def compile_scene(root: mjcf.RootElement) -> mujoco.MjModel:
    """Compile an MJCF tree into a MuJoCo model."""
    return mujoco.MjModel.from_xml_string(root.to_xml_string(), root.get_assets())
