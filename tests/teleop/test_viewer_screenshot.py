"""The teleop viewer in a real window under Xvfb: the scene and the fingertip markers are drawn, red while recording.

Skipped where Xvfb is not installed (the headless path of the same loop is covered by test_live.py)."""

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from PIL import ImageGrab
    from dexsim.teleop.live import TickInput
    from dexsim.teleop.viewer import TeleopDisplay

    display = TeleopDisplay(window=True, mouse=True)
    for i in range(40):
        display.update(TickInput(), {}, recording=i >= 20, qpos=None)
        time.sleep(0.05)
    image = ImageGrab.grab(xdisplay=sys.argv[1])
    image.save(sys.argv[2])
    display.close()
    """
)


def test_viewer_window_under_xvfb(tmp_path):
    np = pytest.importorskip("numpy")
    number = next(n for n in range(90 + os.getpid() % 40, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1024x768x24"], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        shot = tmp_path / "viewer.png"
        env = dict(os.environ, DISPLAY=f":{number}", MUJOCO_GL="glfw")
        result = subprocess.run([sys.executable, "-c", SCRIPT, f":{number}", str(shot)], env=env, timeout=120,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
        # The CLI's mouse session with its window ends cleanly (no crash while the viewer tears down).
        cli = [sys.executable, "-m", "dexsim.cli", "teleop", "live", "--source", "mouse", "--steps", "10"]
        result = subprocess.run(cli, env=env, timeout=120, capture_output=True, text=True)
        assert result.returncode == 0 and "live teleop: 10 steps" in result.stdout, result.stderr[-2000:]
    finally:
        server.kill()
        server.wait()
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.std() > 5  # a rendered scene, not a blank screen
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert red.sum() > 0  # the recording-coloured fingertip markers
