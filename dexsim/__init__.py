"""dexsim: learn one-handed in-hand skills on the Allegro Hand, in a MuJoCo twin and on hardware.

Importing :mod:`dexsim` registers the Gymnasium envs ``AllegroUnscrew-sim`` and
``AllegroUnscrew-real``.
"""

from dexsim._registration import register_envs

__version__ = "0.1.0"

register_envs()

__all__ = ["__version__"]
