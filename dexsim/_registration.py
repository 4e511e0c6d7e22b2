"""Gymnasium registration of the dexsim envs (import-light: no env module is imported here)."""

from __future__ import annotations

import gymnasium as gym

SIM_ENV_ID = "AllegroUnscrew-sim"
REAL_ENV_ID = "AllegroUnscrew-real"


def register_envs() -> None:
    """Register both envs once; safe to call repeatedly."""
    if SIM_ENV_ID not in gym.registry:
        gym.register(id=SIM_ENV_ID, entry_point="dexsim.sim.env:AllegroUnscrewSimEnv")
    if REAL_ENV_ID not in gym.registry:
        gym.register(id=REAL_ENV_ID, entry_point="dexsim.real.env:make_real_env")
