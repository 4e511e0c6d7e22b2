"""The MuJoCo twin: scene composition, physics, randomisation, the ``AllegroUnscrew-sim`` env, scripted expert.

Importing this package first loads ``triton`` where it is installed (CUDA builds of torch), before anything here
loads PyOpenGL / EGL: see :mod:`dexsim.sim.gl_order`.
"""

from dexsim.sim.gl_order import load_triton_before_gl

load_triton_before_gl()
