"""The plan of ``dexsim reproduce`` (commands, seeds, shared placements) and the report it writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PIL import Image

from dexsim.cli import main
from dexsim.data.collect import collect_expert_demos
from dexsim.data.store import DatasetStore
from dexsim.data.subsets import save_subset
from dexsim.eval import EVAL_SEED_BASE
from dexsim.eval.results import summarize, write_results
from dexsim.eval.trials import TrialResult
from dexsim.reproduce.plan import FILTER_SUBSETS, plan_study
from dexsim.reproduce.report import CHART_FILE, HISTOGRAM_FILE
from dexsim.reproduce.scales import POLICY_CONFIGS, SCALES
from dexsim.reproduce.steps import Step
from dexsim.reproduce.study import run_study
from dexsim.sim.config import SimConfig


@pytest.fixture
def policies(tmp_path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    for name in POLICY_CONFIGS:
        (folder / f"{name}.toml").write_text(f"# {name}\n")
    return folder


def test_plan_runs_the_contract_commands_in_order(tmp_path, policies) -> None:
    plan = plan_study(SCALES["tiny"], tmp_path / "out", configs=POLICY_CONFIGS, policies_dir=policies, seed=3,
                      workers=2, presets=("nominal", "train", "eval"))
    names = [s.name for s in plan.steps]
    assert names == ["collect", "filter", *(f"train/{c}" for c in POLICY_CONFIGS), "eval/expert",
                     *(f"eval/{c}" for c in POLICY_CONFIGS)]
    collect, filtering = plan.steps[0], plan.steps[1]
    assert collect.argv[:2] == ("collect", str(plan.data)) and "--defect-mix" in collect.argv
    assert collect.argv[collect.argv.index("--preset") + 1] == "train"
    assert collect.restart_clean == ("data",)
    assert filtering.argv[:2] == ("filter", str(plan.data))
    assert {f"data/subsets/{name}.json" for name in FILTER_SUBSETS} <= set(filtering.outputs)
    for config in POLICY_CONFIGS:
        train = next(s for s in plan.steps if s.name == f"train/{config}")
        assert train.argv[:6] == ("train", str(policies / f"{config}.toml"), "--data", str(plan.data), "--out",
                                  str(plan.run_dir(config)))
        assert train.argv[train.argv.index("--seed") + 1] == "3"
        assert train.argv.count("--set") == len(SCALES["tiny"].train_overrides)
    evals = [s for s in plan.steps if s.name.startswith("eval/")]
    # every policy on the same placements, with the same settings
    assert len({s.argv[4:] for s in evals}) == 1  # after "eval POLICY --out DIR"
    assert all(s.argv[s.argv.index("--trials") + 1] == "2" and s.argv[s.argv.index("--preset") + 1] == "eval"
               for s in evals)
    assert all(s.argv[s.argv.index("--workers") + 1] == "2" for s in evals)  # the caller's choice wins
    without_presets = plan_study(SCALES["tiny"], tmp_path / "o2", configs=("all_inputs",), policies_dir=policies,
                                 presets=())
    assert all("--preset" not in s.argv for s in without_presets.steps)
    tiny_evals = [s for s in without_presets.steps if s.name.startswith("eval/")]
    assert all(s.argv[s.argv.index("--workers") + 1] == "1" for s in tiny_evals)  # the scale's default
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        plan_study(SCALES["tiny"], tmp_path / "o3", configs=("nope",), policies_dir=policies)


def test_dry_run_and_bad_configs_on_the_command_line(tmp_path, policies, capsys) -> None:
    out = tmp_path / "out"
    assert main(["reproduce", "--scale", "small", "--out", str(out), "--policies", str(policies), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"dexsim collect {out.resolve()}/data -n 100 ")
    assert sum(line.startswith("dexsim train ") for line in lines) == 7
    assert main(["reproduce", "--scale", "tiny", "--out", str(out), "--configs", "all_inputs,bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["reproduce", "--scale", "tiny", "--out", str(tmp_path / "file"), "--dry-run"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["reproduce", "--scale", "tiny", "--out", str(out), "--workers", "0", "--dry-run"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["reproduce", "--scale", "small", "--out", str(out), "--policies", str(policies), "--stages", "train",
                 "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7 and all(line.startswith("dexsim train ") for line in lines)
    assert main(["reproduce", "--scale", "tiny", "--out", str(out), "--stages", "collect,trian", "--dry-run"]) == 2
    assert "--stages" in capsys.readouterr().err


def _trials(successes: list[bool]) -> list[TrialResult]:
    return [TrialResult(i, EVAL_SEED_BASE + i, ok, "success" if ok else ("dropped" if i % 2 else "timeout"),
                        8.0 + i if ok else math.nan, 8.0 + i if ok else 40.0, 100, 1.75, 1.0, -1.0, 0.5)
            for i, ok in enumerate(successes)]


def _fake_runner(plan):
    """Writes each step's artefacts as the real commands would (evaluations through the real results writer)."""
    patterns = {"all_inputs": [True] * 9 + [False], "no_effort": [False] * 8 + [True, True], "expert": [True] * 10}

    def run(step: Step, log: Path) -> int:
        if step.name == "collect":
            collect_expert_demos(plan.data, 4, config=SimConfig(cameras=(), time_limit_s=0.5),
                                 defect_mix={"jitter": 0.25}, progress=False)
        elif step.name.startswith("eval/"):
            name = step.name.split("/", 1)[1]
            results = _trials(patterns.get(name, [True, False] * 5))
            write_results(plan.eval_dir(name), summarize(name, results, {"wall_s": 1.0}), results)
        elif step.name.startswith("train/"):
            run_dir = plan.run_dir(step.name.split("/", 1)[1])
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.json").write_text(json.dumps({
                "format": "dexsim-diffusion-policy", "version": 1, "config": {}, "dataset": {}, "training": {
                "steps": 20, "epochs": 1, "stopped": "max_steps", "wall_s": 150.0, "device": "NVIDIA H100 80GB HBM3",
                "best_val_loss": 0.01904}}))
        elif step.name == "filter":
            histogram = plan.data / "filter" / "histogram.png"
            histogram.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (40, 30), "white").save(histogram)
            (plan.data / "filter" / "evaluation.md").write_text("| scorer | AUROC |\n|---|---|\n| glosh | 0.9 |\n")
            for name, keep in zip(FILTER_SUBSETS, ([0, 1, 2], [0, 1], [0]), strict=True):
                save_subset(plan.data, name, keep)
        for output in step.outputs:
            path = plan.out / output
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("artefact")
        return 0

    return run


def test_report_has_the_table_chart_histogram_comparisons_commands_and_versions(tmp_path, policies) -> None:
    configs = ("all_inputs", "no_effort", "filtered_10")
    plan = plan_study(SCALES["tiny"], tmp_path / "out", configs=configs, policies_dir=policies, presets=())
    report = run_study(plan, runner=_fake_runner(plan), say=lambda _: None)
    text = report.read_text()
    assert "| all_inputs | 9/10 | 90% | [60%, 98%] | 12.0 s | dropped 1 |" in text
    assert "| no_effort | 2/10 | 20% |" in text and "| expert | 10/10 | 100% | [72%, 100%] |" in text
    # paired with all_inputs on the same seeds: no_effort solved 2 the baseline missed 1 of, lost 8
    assert "| no_effort | 10 | 1 | 8 | -70 pts |" in text
    assert "| glosh | 0.9 |" in text  # the filter's ground-truth evaluation
    # training as its run directory recorded it (the step may have run on another machine)
    assert "| filtered_10 | 20 | 1 | max_steps | 2.5 min | NVIDIA H100 80GB HBM3 | 0.01904 |" in text
    assert "4 demonstrations, 0 with the lid off; labels: clean 3, jitter 1" in text
    labels = {s.episode_id: s.defect for s in DatasetStore.open(plan.data).index()}
    kept_defective = sum(labels[i] != "clean" for i in (0, 1))
    assert f"| outliers-removed-25 | 2/4 | {kept_defective} |" in text
    for step in plan.steps:
        assert f"`{step.display}`" in text
    assert "mujoco" in text and f"{EVAL_SEED_BASE}..{EVAL_SEED_BASE + 1}" in text
    folder = report.parent
    with Image.open(folder / CHART_FILE) as chart:
        assert chart.size[0] > 300 and chart.size[1] > 200
    assert (folder / HISTOGRAM_FILE).read_bytes() == (plan.data / "filter" / "histogram.png").read_bytes()
    commands = (folder / "commands.sh").read_text().splitlines()
    assert commands[3:] == [step.display for step in plan.steps]
    settings = json.loads((plan.out / "reproduce.json").read_text())
    assert settings["scale"]["name"] == "tiny" and settings["configs"] == list(configs)
    # the same directory with other settings is refused; with the same settings every step is reused
    other = plan_study(SCALES["small"], tmp_path / "out", configs=configs, policies_dir=policies, presets=())
    with pytest.raises(ValueError, match="other settings"):
        run_study(other, runner=_fake_runner(other), say=lambda _: None)
    said: list[str] = []
    run_study(plan, runner=lambda step, log: pytest.fail(f"{step.name} ran again"), say=said.append)
    assert sum("skipped" in line for line in said) == len(plan.steps)
