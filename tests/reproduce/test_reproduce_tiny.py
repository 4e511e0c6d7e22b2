"""``dexsim reproduce --scale tiny`` end to end: every real step, every artefact, then a resume that reuses them."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from dexsim.eval.results import read_summary
from dexsim.reproduce.plan import FILTER_SUBSETS
from dexsim.reproduce.scales import POLICY_CONFIGS, SCALES


def _missing_stages() -> list[str]:
    missing = []
    for module in ("dexsim.policy", "dexsim.filtering"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    return missing


MISSING = _missing_stages()


@pytest.mark.slow
@pytest.mark.skipif(bool(MISSING), reason=f"cannot import {', '.join(MISSING)}: `dexsim train`/`dexsim filter` "
                    "are needed for the end-to-end reproduction")
def test_reproduce_tiny_end_to_end_and_resume(tmp_path) -> None:
    out = tmp_path / "study"
    command = [sys.executable, "-m", "dexsim.cli", "reproduce", "--scale", "tiny", "--out", str(out)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=1500)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    for name in ("dataset.json", "index.json", "filter/histogram.png", "filter/scores.csv", "filter/scores.json",
                 *(f"subsets/{subset}.json" for subset in FILTER_SUBSETS)):
        assert (out / "data" / name).is_file(), name
    trials = SCALES["tiny"].eval_trials
    for config in POLICY_CONFIGS:
        for name in ("model.safetensors", "config.json", "stats.json"):
            assert (out / "runs" / config / name).is_file(), (config, name)
        summary = read_summary(out / "eval" / config)
        assert summary.trials == trials and summary.first_seed == 1_000_000
    assert read_summary(out / "eval" / "expert").trials == trials
    report = out / "report"
    for name in ("report.md", "success_rates.png", "outlier_histogram.png", "commands.sh"):
        assert (report / name).is_file(), name
    text = (report / "report.md").read_text()
    assert all(f"| {config} |" in text for config in POLICY_CONFIGS)
    assert "dexsim collect" in first.stdout and "dexsim train" in first.stdout  # the log shows the commands
    markers = sorted(p.name for p in (out / "steps").glob("*.json"))
    assert len(markers) == 2 + 2 * len(POLICY_CONFIGS) + 1
    assert json.loads((out / "reproduce.json").read_text())["scale"]["name"] == "tiny"
    # a second run reuses every finished step
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert again.stdout.count("skipped") == len(markers)
