"""``dexsim demo`` writes a video in which the lid comes off."""

from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from dexsim.cli import main


def test_demo_writes_video_of_a_successful_unscrew(tmp_path: Path, capsys) -> None:
    output = tmp_path / "demo.mp4"
    assert main(["demo", "--output", str(output), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "success=True" in printed
    reader = imageio.get_reader(str(output))
    frames = reader.count_frames()
    first = reader.get_data(0)
    reader.close()
    assert frames > 40
    assert first.shape[1] == 2 * first.shape[0]  # top and wrist views side by side


def test_overlay_names_the_cameras_and_never_prints_negative_zero() -> None:
    from dexsim.sim.demo import _annotate, _overlay_lines

    info = {"time": 0.0, "lid_angle": -1e-5, "lid_turns": -1e-6, "lid_lift": -1e-7, "success": False,
            "termination_reason": ""}
    text = "\n".join(_overlay_lines(info, "clean"))
    assert "-0.0" not in text and "lid     0.0 deg" in text and "turns  0.00" in text
    assert "lid    -1.0 deg" in "\n".join(_overlay_lines({**info, "lid_angle": np.radians(-1.0)}, "clean"))
    frame = _annotate(np.full((96, 192, 3), 255, np.uint8), ["x"])
    for left in (0, 96):  # a dark label box with light text at the bottom left of each view
        box = frame[-18:, left:left + 60]
        assert (box < 40).mean() > 0.5 and (box > 200).any()
