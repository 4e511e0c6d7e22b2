"""``dexsim eval --env real``: operator-guided trials against the twin served over DDS (it plays the operator)."""

from __future__ import annotations

import pytest

from dexsim.eval import EVAL_SEED_BASE
from dexsim.eval.evaluate import evaluate
from dexsim.eval.placements import eval_seeds, plan_placements
from dexsim.eval.sources import EnvSpec, ExpertSource
from dexsim.real.config import load_hardware_config

from .twin_process import twin_process

pytest.importorskip("cyclonedds")


def test_real_trial_prompts_the_placement_and_records_the_operators_verdict(domain_id, tmp_path) -> None:
    hardware = load_hardware_config(None, domain_id=domain_id, transport="cyclonedds", ready_timeout_s=30.0)
    prompts: list[str] = []
    with twin_process(domain_id):
        # The twin answers `reset <id> <seed>` by resetting its scene with that seed and sending `ready`, and sends
        # `success` when the thread releases: the operator's part, played by the twin.
        summary, results = evaluate(ExpertSource(), EnvSpec("real", overrides={"cameras": (), "time_limit_s": 25.0},
                                                            hardware=hardware),
                                    1, tmp_path, progress=False, say=prompts.append)
    placement = plan_placements(eval_seeds(1))[0]
    assert placement.describe() in prompts[0] and f"seed {EVAL_SEED_BASE}" in prompts[0]
    assert "dexsim operator ready" in prompts[0]
    result = results[0]
    assert result.seed == EVAL_SEED_BASE and result.success and result.outcome == "success", result
    assert (result.placement_y_mm, result.placement_z_mm) == (placement.y_mm, placement.z_mm)
    assert summary.extra["env"]["backend"] == "real" and (tmp_path / "trials.csv").is_file()
