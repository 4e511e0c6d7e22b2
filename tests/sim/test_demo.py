"""``dexsim demo`` writes a video in which the lid comes off."""

from pathlib import Path

import imageio.v2 as imageio

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
