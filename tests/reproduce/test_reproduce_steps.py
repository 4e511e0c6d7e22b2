"""Completion markers: finished steps are skipped, a killed run resumes with the step it was in."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dexsim.reproduce.steps import Pipeline, Step, StepFailed


def _python_runner(calls: list[str]):
    """Runs a step's argv[0] as Python code in a real subprocess (stands in for the dexsim command)."""

    def run(step: Step, log: Path) -> int:
        calls.append(step.name)
        with log.open("a") as handle:
            return subprocess.run([sys.executable, "-c", step.argv[0]], stdout=handle, stderr=subprocess.STDOUT,
                                  cwd=log.parent.parent).returncode

    return run


def _writes(*paths: str, fail: bool = False) -> str:
    code = "from pathlib import Path\n" + "".join(
        f"Path({p!r}).parent.mkdir(parents=True, exist_ok=True); Path({p!r}).write_text('x')\n" for p in paths)
    return code + ("raise SystemExit(3)\n" if fail else "")


def _steps(fail_third: bool = False) -> list[Step]:
    return [
        Step("collect", (_writes("data/partial", "data/dataset.json"),), outputs=("data/dataset.json",),
             restart_clean=("data",)),
        Step("filter", (_writes("data/filter/histogram.png"),), outputs=("data/filter/histogram.png",)),
        Step("train/a", (_writes("runs/a/model.safetensors", fail=fail_third),), outputs=("runs/a/model.safetensors",)),
        Step("eval/a", (_writes("eval/a/summary.json"),), outputs=("eval/a/summary.json",)),
    ]


def test_failed_step_keeps_finished_ones_and_the_rerun_continues_there(tmp_path) -> None:
    calls: list[str] = []
    with pytest.raises(StepFailed, match=r"step train/a failed \(exit status 3\).*train__a.log"):
        Pipeline(tmp_path, _steps(fail_third=True), runner=_python_runner(calls), say=lambda _: None).run()
    assert calls == ["collect", "filter", "train/a"]
    assert (tmp_path / "steps" / "collect.json").is_file() and not (tmp_path / "steps" / "train__a.json").exists()
    calls.clear()
    said: list[str] = []
    records = Pipeline(tmp_path, _steps(), runner=_python_runner(calls), say=said.append).run()
    assert calls == ["train/a", "eval/a"]
    assert [r["step"] for r in records] == ["collect", "filter", "train/a", "eval/a"]
    assert "skipped" in said[0] and "skipped" in said[1]
    calls.clear()
    Pipeline(tmp_path, _steps(), runner=_python_runner(calls), say=lambda _: None).run()
    assert calls == []  # everything finished: nothing runs again


def test_a_step_whose_outputs_vanished_runs_again_and_missing_outputs_fail(tmp_path) -> None:
    calls: list[str] = []
    Pipeline(tmp_path, _steps(), runner=_python_runner(calls), say=lambda _: None).run()
    (tmp_path / "eval" / "a" / "summary.json").unlink()
    calls.clear()
    Pipeline(tmp_path, _steps(), runner=_python_runner(calls), say=lambda _: None).run()
    assert calls == ["eval/a"]
    lazy = [Step("lazy", ("pass",), outputs=("never.txt",))]
    with pytest.raises(StepFailed, match=r"did not write \['never.txt'\]"):
        Pipeline(tmp_path, lazy, runner=_python_runner([]), say=lambda _: None).run()


def test_changed_command_in_the_same_directory_is_refused(tmp_path) -> None:
    Pipeline(tmp_path, _steps()[:1], runner=_python_runner([]), say=lambda _: None).run()
    changed = [Step("collect", (_writes("data/dataset.json") + "# other settings\n",), outputs=("data/dataset.json",))]
    with pytest.raises(ValueError, match="step collect was run as"):
        Pipeline(tmp_path, changed, runner=_python_runner([]), say=lambda _: None).run()


_DRIVER = textwrap.dedent("""
    import subprocess, sys
    from pathlib import Path
    from dexsim.reproduce.steps import Pipeline, Step

    out = Path(sys.argv[1])
    def run(step, log):
        with (out / "calls.txt").open("a") as calls:
            calls.write(step.name + "\\n")
        return subprocess.run([sys.executable, "-c", step.argv[0]], cwd=out).returncode

    def writes(path, seconds=0.0):
        return (f"import time; from pathlib import Path; Path({path!r}).parent.mkdir(parents=True, exist_ok=True); "
                f"Path({path!r}.replace('done', 'partial')).write_text('x'); time.sleep({seconds}); "
                f"Path({path!r}).write_text('x')")

    steps = [Step("collect", (writes("data/done"),), outputs=("data/done",), restart_clean=("data",)),
             Step("slow", (writes("slow/done", seconds=float(sys.argv[2])),), outputs=("slow/done",),
                  restart_clean=("slow",)),
             Step("last", (writes("last/done"),), outputs=("last/done",))]
    Pipeline(out, steps, runner=run).run()
    print("PIPELINE DONE", flush=True)
""")


def test_a_killed_run_resumes_where_it_stopped(tmp_path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER)
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen([sys.executable, str(driver), str(out), "60"], start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / "slow" / "partial").exists():  # the slow step is under way
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # reproduce and its running step die at once
        process.wait()
    assert json.loads((out / "steps" / "collect.json").read_text())["exit_status"] == 0
    assert not (out / "steps" / "slow.json").exists() and not (out / "slow" / "done").exists()
    resumed = subprocess.run([sys.executable, str(driver), str(out), "0"], capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0 and "PIPELINE DONE" in resumed.stdout, resumed.stdout + resumed.stderr
    assert "collect: done" in resumed.stdout and "skipped" in resumed.stdout
    assert "removing the partial" in resumed.stdout  # the killed step's partial artefacts were cleared
    assert (out / "calls.txt").read_text().split() == ["collect", "slow", "slow", "last"]
    assert all((out / name / "done").exists() for name in ("data", "slow", "last"))


def test_stages_run_a_prefix_here_and_the_rest_later_as_on_two_machines(tmp_path) -> None:
    calls: list[str] = []
    said: list[str] = []
    pipeline = Pipeline(tmp_path, _steps(), runner=_python_runner(calls), say=said.append)
    assert pipeline.stage_names() == ("collect", "filter", "train", "eval")
    records = pipeline.run({"collect", "filter"})
    assert calls == ["collect", "filter"] and [r["step"] for r in records] == ["collect", "filter"]
    assert not pipeline.finished() and any("left for a later run" in line for line in said)
    with pytest.raises(ValueError, match=r"step train/a has not finished.*stage 'train' first"):
        Pipeline(tmp_path, _steps(), runner=_python_runner(calls), say=lambda _: None).run({"eval"})
    assert calls == ["collect", "filter"]  # nothing ran
    calls.clear()
    Pipeline(tmp_path, _steps(), runner=_python_runner(calls), say=lambda _: None).run({"train"})
    assert calls == ["train/a"]
    calls.clear()
    finished = Pipeline(tmp_path, _steps(), runner=_python_runner(calls), say=lambda _: None)
    finished.run()
    assert calls == ["eval/a"] and finished.finished()


def test_an_unknown_stage_is_refused_before_anything_runs(tmp_path) -> None:
    calls: list[str] = []
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['trian'\]"):
        Pipeline(tmp_path, _steps(), runner=_python_runner(calls), say=lambda _: None).run({"trian"})
    assert calls == []
