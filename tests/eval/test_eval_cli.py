"""``dexsim eval`` / ``dexsim eval-compare`` on the command line, and clear errors for bad policies and settings."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from dexsim.cli import main
from dexsim.eval.sources import (
    CheckpointSource,
    EnvSpec,
    check_env_matches,
    parse_env_overrides,
    resolve_policy,
    sim_config,
)
from dexsim.interface import ControlConfig

HAS_POLICY = importlib.util.find_spec("dexsim.policy") is not None


def test_eval_and_compare_from_the_command_line(tmp_path, capsys) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["eval", "expert", "--trials", "2", "--workers", "1", "--out", str(a), "--no-progress"]) == 0
    assert "expert: 2/2 successes" in capsys.readouterr().out
    assert main(["eval", "expert", "--trials", "3", "--workers", "1", "--out", str(b), "--no-progress",
                 "--time-limit", "2"]) == 0
    capsys.readouterr()
    assert main(["eval-compare", str(a), str(b / "trials.csv"), "--out", str(tmp_path / "cmp.md")]) == 0
    text = capsys.readouterr().out
    assert "| 2 | 2/2 | 0/2 | 0 | 2 | 0 | 0 |" in text  # paired on the 2 shared seeds; the third left out
    assert "1 trial(s) present in only one file" in text
    assert (tmp_path / "cmp.md").read_text().startswith("| paired trials")
    assert main(["eval-compare", str(a), str(b), "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    for bad in (["--trials", "0"], ["--workers", "0"], ["--time-limit", "-1"]):
        assert main(["eval", "expert", *bad, "--out", str(tmp_path / "bad")]) == 2
        assert bad[0] in capsys.readouterr().err
    # finished results are not overwritten by accident
    assert main(["eval", "expert", "--trials", "1", "--out", str(a)]) == 2
    assert "holds results already" in capsys.readouterr().err


def test_missing_checkpoint_is_a_one_line_error(tmp_path) -> None:
    missing = tmp_path / "runs" / "nothing"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        resolve_policy(str(missing))
    done = subprocess.run([sys.executable, "-m", "dexsim.cli", "eval", str(missing), "--trials", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and str(missing) in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(HAS_POLICY, reason="dexsim.policy is installed: the missing-package error cannot occur")
def test_checkpoint_without_the_policy_package_says_so(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ValueError, match="needs dexsim.policy"):
        CheckpointSource(run).load()


def test_env_overrides_and_presets_are_checked() -> None:
    assert parse_env_overrides(["time_limit_s=20", "cameras=wrist", "placement_y_m=-0.015,0.015",
                                "image_size=64"]) == {"time_limit_s": 20.0, "cameras": ("wrist",),
                                                      "placement_y_m": (-0.015, 0.015), "image_size": 64}
    assert parse_env_overrides(["cameras="]) == {"cameras": ()}
    with pytest.raises(ValueError, match="unknown env setting"):
        parse_env_overrides(["no_such_field=1"])
    with pytest.raises(ValueError, match="not a valid int"):
        parse_env_overrides(["image_size=big"])
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        parse_env_overrides(["time_limit_s"])
    with pytest.raises(ValueError, match="--preset no-such-preset"):
        sim_config("no-such-preset", {})
    with pytest.raises(ValueError, match="not available with --env real"):
        EnvSpec("real", render_video=True)
    assert sim_config(None, {"time_limit_s": 5.0}).time_limit_s == 5.0


def test_check_env_matches_names_what_differs() -> None:
    config = ControlConfig(cameras=("wrist",), image_size=64, control_hz=20.0)
    check_env_matches("p", {"cameras": ("wrist",), "image_size": 64, "control_hz": 20.0}, config)
    check_env_matches("p", {"cameras": (), "image_size": 96}, config)  # state-only: image size irrelevant
    with pytest.raises(ValueError, match=r"policy p reads cameras \['top', 'wrist'\].*missing: \['top'\]"):
        check_env_matches("p", {"cameras": ("top", "wrist")}, config)
    with pytest.raises(ValueError, match="runs at 10.0 Hz but the env at 20.0 Hz"):
        check_env_matches("p", {"control_hz": 10.0}, config)


PRETRAINED = sorted(Path(__file__).resolve().parents[2].glob("policies/pretrained/*/model.safetensors"))


@pytest.mark.skipif(not HAS_POLICY or not PRETRAINED,
                    reason="needs dexsim.policy and a committed checkpoint under policies/pretrained/")
def test_committed_checkpoint_evaluates_and_refuses_a_camera_mismatch(tmp_path, capsys) -> None:
    run = str(PRETRAINED[0].parent)
    assert main(["eval", run, "--trials", "1", "--workers", "1", "--time-limit", "2", "--out", str(tmp_path / "ok"),
                 "--no-progress"]) == 0
    from dexsim.policy import load

    if load(run).env_kwargs().get("cameras"):
        assert main(["eval", run, "--trials", "1", "--sim", "cameras=", "--out", str(tmp_path / "bad")]) == 2
        assert "but the env renders []" in capsys.readouterr().err
