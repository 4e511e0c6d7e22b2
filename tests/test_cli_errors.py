"""The ``dexsim`` command line: bad invocations end with exit 2 and one line naming the option or file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dexsim import __version__
from dexsim.cli import main

QUICK_COLLECT = ["--image-size", "32", "--no-progress"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset (2 episodes, one 32 px camera), a stream, a header-only stream, a file and a directory."""
    root = tmp_path_factory.mktemp("cli")
    assert main(["collect", str(root / "ds"), "-n", "2", "--cameras", "top", "--time-limit", "6", *QUICK_COLLECT]) == 0
    assert main(["teleop", "synth", str(root / "s.handstream.jsonl"), "--seconds", "1"]) == 0
    header = (root / "s.handstream.jsonl").read_text().splitlines()[0]
    (root / "header.handstream.jsonl").write_text(header + "\n")
    (root / "FILE").write_text("not a directory")
    (root / "DIR").mkdir()
    return root


# (arguments with {ws} for the workspace, text the one-line message must hold)
BAD_INVOCATIONS = [
    ("collect {ws}/FILE -n 1", "dataset directory {ws}/FILE is a file"),
    ("collect {ws}/new -n 0", "-n/--episodes must be >= 1"),
    ("collect {ws}/new -n 1 --seed -1", "--seed must be >= 0"),
    ("collect {ws}/ds -n 1 --seed 1", "already holds episodes with seeds [1]"),
    ("collect {ws}/new --seed x", "argument --seed: invalid int value: 'x'"),
    ("dataset check {ws}/FILE", "dataset directory {ws}/FILE is a file"),
    ("dataset check {ws}/missing", "dataset directory {ws}/missing does not exist"),
    ("dataset info {ws}/FILE", "dataset directory {ws}/FILE is a file"),
    ("dataset info {ws}/DIR", "{ws}/DIR is not a dexsim dataset"),
    ("dataset export-lerobot {ws}/ds {ws}/FILE", "{ws}/FILE is a file, not a directory"),
    ("dataset export-lerobot {ws}/ds {ws}/ds --overwrite", "is, contains or sits inside the dataset"),
    ("dataset export-lerobot {ws}/ds {ws} --overwrite", "is, contains or sits inside the dataset"),
    ("dataset export-lerobot {ws}/ds {ws}/e --episodes 0,99", "has no episodes [99]"),
    ("dataset export-lerobot {ws}/ds {ws}/e --episodes -1", "has no episodes [-1]"),
    ("dataset export-lerobot {ws}/ds {ws}/e --episodes 0,0", "episodes [0] are listed more than once"),
    ("dataset export-lerobot {ws}/ds {ws}/e --episodes @{ws}/missing.json", "missing.json"),
    ("teleop replay {ws}/DIR", "stream {ws}/DIR is a directory"),
    ("teleop replay {ws}/missing.jsonl", "stream {ws}/missing.jsonl does not exist"),
    ("teleop replay {ws}/header.handstream.jsonl", "holds no samples (only its header)"),
    ("teleop replay {ws}/s.handstream.jsonl --steps -3", "--steps must be >= 1"),
    ("teleop replay {ws}/s.handstream.jsonl --seed -1", "--seed must be >= 0"),
    ("teleop replay {ws}/s.handstream.jsonl --record {ws}/FILE", "--record {ws}/FILE is a file"),
    ("teleop synth {ws}/DIR", "output {ws}/DIR is a directory"),
    ("teleop synth {ws}/s.handstream.jsonl", "already exists"),
    ("teleop urdf {ws}/DIR", "output {ws}/DIR is a directory"),
    ("teleop urdf {ws}/FILE/x.urdf", "{ws}/FILE is a file, not a directory"),
    ("demo --output {ws}/FILE/x.mp4", "{ws}/FILE is a file, not a directory"),
    ("demo --output {ws}/newdir/", "--output {ws}/newdir/ is a directory"),
    ("demo --output {ws}/DIR", "--output {ws}/DIR is a directory"),
    ("demo --output {ws}/d.mp4 --seed -1", "--seed must be >= 0"),
    ("twin --seed -1", "--seed must be >= 0"),
    ("operator nonsense", "operator event must be"),
]


def test_bad_invocations_exit_2_with_one_line(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.relative_to(workspace) for p in workspace.rglob("*"))
    failures = []
    for args, expected in BAD_INVOCATIONS:
        argv = args.format(ws=workspace).split()
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse's own errors
            status = exc.code
        except Exception as exc:  # noqa: BLE001 - collected below: a traceback is the failure under test
            status = f"raised {exc!r}"
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        message = expected.format(ws=workspace)
        if status != 2 or len(lines) != 1 or message not in err or not lines[0].startswith("dexsim "):
            failures.append(f"{args}: exit {status}, stderr {err!r}")
    assert not failures, "\n".join(failures)
    # nothing was created or deleted by the failed commands (no stray mp4, no partial export)
    assert sorted(p.relative_to(workspace) for p in workspace.rglob("*")) == before


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "dexsim.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_entry_point_prints_no_traceback(workspace: Path, tmp_path: Path) -> None:
    """The real process: a corrupted shard read by the export gives one line, not asyncio's pages at exit."""
    corrupt = tmp_path / "corrupt"
    subprocess.run(["cp", "-r", str(workspace / "ds"), str(corrupt)], check=True)
    shard = corrupt / "episodes" / "episode_000001.zarr" / "top_image" / "c" / "1" / "0" / "0" / "0"
    shard.write_bytes(shard.read_bytes()[: len(shard.read_bytes()) // 2])
    result = _run("dataset", "export-lerobot", str(corrupt), str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{shard} truncated or corrupted" in result.stderr
    assert not (tmp_path / "out").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["corrupt"]
    result = _run("teleop", "replay", str(workspace / "DIR"), cwd=tmp_path)
    assert (result.returncode, result.stderr.count("\n")) == (2, 1) and "Traceback" not in result.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"dexsim {__version__}"
