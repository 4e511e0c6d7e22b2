"""``evaluate``: validate, run the trials (twin: in parallel; hand: one by one, operator-guided), write results."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dexsim.eval.parallel import TrialRunner, run_trials
from dexsim.eval.placements import eval_seeds, plan_placements
from dexsim.eval.results import Summary, TrialLog, summarize, write_results
from dexsim.eval.sources import EnvSpec, PolicySource, check_env_matches
from dexsim.eval.trials import TrialResult

__all__ = ["evaluate", "operator_prompt", "versions"]


def versions() -> dict[str, str]:
    """Versions of dexsim and the libraries that decide results."""
    import importlib.metadata as metadata

    import dexsim

    found = {"dexsim": dexsim.__version__, "python": platform.python_version()}
    for package in ("mujoco", "numpy", "gymnasium", "torch", "diffusers"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


def operator_prompt(trial: int, trials: int, seed: int, where: str) -> str:
    """What the operator is told before a real-hand trial."""
    return (f"\ntrial {trial + 1}/{trials} (seed {seed}): place the bottle {where}, then send "
            "`dexsim operator ready` (key r).\n  During the trial send `dexsim operator success` (s) when the lid "
            "is off, `bottle_dropped` (d) or `failure` (f) otherwise; the time limit ends it too.")


def evaluate(
    source: PolicySource,
    spec: EnvSpec,
    trials: int,
    out: str | Path,
    *,
    first_trial: int = 0,
    workers: int = 1,
    video: bool = False,
    torch_threads: int = 1,
    progress: bool = True,
    command: str | None = None,
    say: Callable[[str], None] = print,
) -> tuple[Summary, list[TrialResult]]:
    """Evaluate ``source`` on trials ``first_trial ..`` (seeds ``EVAL_SEED_BASE + i``) and write results to ``out``.

    Args:
        source: The policy.
        spec: The env (``spec.backend == "real"`` runs trial by trial with operator prompts).
        trials: Number of trials.
        out: Results directory (``trials.csv``, ``summary.json``, ``results.md``, ``videos/``).
        first_trial: Index of the first trial (placements are indexed from 0 for every policy).
        workers: Worker processes for the twin.
        video: Write a video per trial (twin only).
        torch_threads: torch threads per worker.
        progress: Show a progress bar.
        command: The command line, stored with the results.
        say: Where operator prompts go (real hand).

    Raises:
        FileNotFoundError: Missing checkpoint.
        ValueError: Bad settings, a policy that cannot be loaded, or an env that does not match the policy.
    """
    seeds = eval_seeds(trials, first_trial)
    # Load once here: errors (missing checkpoint, no dexsim.policy, camera mismatch) surface before any worker starts.
    loaded = source.load()
    config = spec.config(loaded.env_kwargs)
    check_env_matches(source.label, loaded.env_kwargs, config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = TrialLog(out)
    start = time.perf_counter()
    from tqdm import tqdm

    bar = tqdm(total=trials, unit="trial", desc=f"eval {source.label}", disable=not progress or spec.backend == "real")
    successes = 0

    def on_result(result: TrialResult) -> None:
        nonlocal successes
        log.append(result)
        successes += result.success
        bar.update(1)
        bar.set_postfix(success=f"{successes}/{bar.n}")

    pairs = list(zip(range(first_trial, first_trial + trials), seeds, strict=True))
    try:
        if spec.backend == "real":
            results = _run_real(source, spec, pairs, loaded, out if video else None, say, on_result)
        else:
            results = run_trials(source, spec, pairs, workers=workers, video_dir=out if video else None,
                                 torch_threads=torch_threads, loaded=loaded, on_result=on_result)
    finally:
        bar.close()
        log.close()
    wall = time.perf_counter() - start
    extra: dict[str, Any] = {
        "policy": source.describe(),
        "env": {**spec.describe(), "config": _jsonable(asdict(config))},
        "workers": workers if spec.backend == "sim" else 1,
        "torch_threads": torch_threads,
        "wall_s": wall,
        "versions": versions(),
    }
    if command:
        extra["command"] = command
    summary = summarize(source.label, results, extra)
    write_results(out, summary, results)
    return summary, results


def _run_real(source: PolicySource, spec: EnvSpec, pairs: list[tuple[int, int]], loaded: Any,
              video_dir: Path | None, say: Callable[[str], None],
              on_result: Callable[[TrialResult], None]) -> list[TrialResult]:
    """Trials on the hand, one at a time: prompt the placement, let the env wait for ``ready``, record."""
    placements = plan_placements([seed for _, seed in pairs])
    runner = TrialRunner(source, spec, video_dir, loaded=loaded)
    results = []
    try:
        for (trial, seed), placement in zip(pairs, placements, strict=True):
            say(operator_prompt(trial - pairs[0][0], len(pairs), seed, placement.describe()))
            result = runner.run(trial, seed, placement)
            say(f"  trial {trial}: {result.outcome} after {result.duration_s:.1f} s")
            on_result(result)
            results.append(result)
    finally:
        runner.close()
    return results


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
