"""Run a planned study: check the output directory's settings, run the pending steps, write the report."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import asdict
from pathlib import Path

from dexsim.eval import EVAL_SEED_BASE
from dexsim.eval.evaluate import versions
from dexsim.reproduce.plan import StudyPlan
from dexsim.reproduce.report import ReportInputs, write_report
from dexsim.reproduce.steps import Pipeline, StepRunner

__all__ = ["SETTINGS_FILE", "run_study"]

SETTINGS_FILE = "reproduce.json"


def _check_settings(plan: StudyPlan) -> None:
    """Record the study's settings in ``OUT/reproduce.json``; refuse a directory made with other settings."""
    settings = {"scale": asdict(plan.scale), "configs": list(plan.configs), "seed": plan.seed}
    path = plan.out / SETTINGS_FILE
    if path.is_file():
        try:
            previous = json.loads(path.read_text())
        except json.JSONDecodeError:
            previous = None
        if previous is not None and previous != json.loads(json.dumps(settings)):
            changed = sorted(k for k in settings if previous.get(k) != json.loads(json.dumps(settings[k])))
            raise ValueError(f"--out {plan.out}: holds a reproduction with other settings ({', '.join(changed)} "
                             f"differ; see {path}); use another --out")
    plan.out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=1) + "\n")


def run_study(plan: StudyPlan, *, stages: Collection[str] | None = None, runner: StepRunner | None = None,
              say: Callable[[str], None] = print) -> Path | None:
    """Run the unfinished steps of ``plan`` (resuming a killed run) and write the report; returns report.md.

    Args:
        plan: The study.
        stages: Run only these stages (see :meth:`Pipeline.run`), e.g. ``collect``/``filter`` on a CPU machine and
            ``train`` on a GPU machine that shares the output directory; ``None``: all.
        runner: Runs one step (default: a ``dexsim`` subprocess).
        say: Where progress lines go.

    Returns:
        The report's path, or ``None`` when steps are left for a later run (the report needs every step).

    Raises:
        ValueError: ``plan.out`` holds a study with other settings, or a selected stage lacks an earlier one.
        StepFailed: A step failed (finished steps keep their markers; the same command resumes).
    """
    _check_settings(plan)
    pipeline = Pipeline(plan.out, plan.steps, runner=runner, say=say)
    records = pipeline.run(stages)
    left = pipeline.pending()
    if left:
        say(f"steps left for a later run: {', '.join(s.name for s in left)}; the report is written "
            "once every step has finished (run the same command without --stages)")
        return None
    scale = plan.scale
    table = {
        "scale": scale.name, "purpose": scale.purpose, "demonstrations": scale.demos,
        "image size": f"{scale.image_size} px", "demonstration time limit": f"{scale.demo_time_limit_s:g} s",
        "filter frame stride": scale.filter_stride,
        "training overrides": " ".join(f"`--set {o}`" for o in scale.train_overrides) or "none (configs as written)",
        "evaluation trials per policy": scale.eval_trials,
        "evaluation time limit": f"{scale.eval_time_limit_s:g} s" if scale.eval_time_limit_s else "the env's",
    }
    seeds = {"demonstrations": f"0..{scale.demos - 1} (`dexsim collect --seed 0`)",
             "training": f"{plan.seed} (`dexsim train --seed {plan.seed}`)",
             "evaluation placements": f"{EVAL_SEED_BASE}..{EVAL_SEED_BASE + scale.eval_trials - 1} "
                                      "(the same for every policy)"}
    report = write_report(ReportInputs(plan.out, scale.name, table, plan.configs, plan.steps, tuple(records), seeds,
                                       versions()))
    say(f"report: {report}")
    return report
