"""Test-wide settings: headless off-screen rendering through EGL (Mesa) unless the caller chose a back-end."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
