"""dexsim: learn one-handed in-hand skills on the Allegro Hand, in a MuJoCo twin and on hardware.

Importing :mod:`dexsim` registers the Gymnasium envs ``AllegroUnscrew-sim`` and
``AllegroUnscrew-real``. On a machine without a display it selects MuJoCo's EGL
off-screen back-end (``MUJOCO_GL=egl``) unless ``MUJOCO_GL`` is already set.
"""

import os as _os

# Headless machines (CI, servers) have no display for GLFW: render off-screen with EGL unless told otherwise.
if "MUJOCO_GL" not in _os.environ and not (_os.environ.get("DISPLAY") or _os.environ.get("WAYLAND_DISPLAY")):
    _os.environ["MUJOCO_GL"] = "egl"

from dexsim._registration import register_envs  # noqa: E402

__version__ = "0.1.0"

register_envs()

__all__ = ["__version__"]
