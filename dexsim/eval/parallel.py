"""Run evaluation trials in worker processes, each with its own env and its own policy copy.

Workers are started with the ``spawn`` method (no state inherited from the parent: MuJoCo, EGL and torch are
set up afresh). A trial's result depends only on its seed: the env and the controller are reset with it, and torch
runs on a fixed number of threads per worker whatever the worker count, so results are identical with one worker
or several (only ``wall_s`` differs). With one worker the trials run in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dexsim.eval.placements import Placement
from dexsim.eval.sources import EnvSpec, ExpertSource, LoadedPolicy, PolicySource, check_env_matches
from dexsim.eval.trials import TrialResult, run_trial
from dexsim.interface import env_config

__all__ = ["TrialRunner", "run_trials", "default_workers"]


TRIALS_PER_WORKER = 4
"""A worker's start-up (spawn, imports, env, policy load: seconds) pays off only over a few trials."""


def default_workers(trials: int) -> int:
    """One worker per CPU core this process may use, but at least :data:`TRIALS_PER_WORKER` trials per worker."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, trials // TRIALS_PER_WORKER))


@dataclass
class TrialRunner:
    """One env plus one policy copy: runs trials one after another (what each worker holds).

    Args:
        source: The policy to load.
        spec: The env to build.
        video_dir: Write one video per trial here (``None``: no videos).
        torch_threads: Threads torch may use in this process (only set when the policy uses torch).
        loaded: An already loaded policy to use instead of loading ``source`` again.
    """

    source: PolicySource
    spec: EnvSpec
    video_dir: Path | None = None
    torch_threads: int = 1
    loaded: LoadedPolicy | None = None

    def __post_init__(self) -> None:
        if not _is_expert(self.source):
            import torch

            torch.set_num_threads(self.torch_threads)
        self.loaded = self.loaded or self.source.load()
        self.env = self.spec.make(self.loaded.env_kwargs)
        try:
            check_env_matches(self.source.label, self.loaded.env_kwargs, env_config(self.env))
            self.controller = self.loaded.make_controller(self.env)
        except BaseException:
            self.env.close()
            raise

    def run(self, trial: int, seed: int, placement: Placement | None = None) -> TrialResult:
        """Run one trial (reset seed ``seed``; ``placement``: the one the operator was asked for, real hand)."""
        video = None
        if self.video_dir is not None:
            video = self.video_dir / "videos" / f"trial_{trial:04d}_seed_{seed}.mp4"
        return run_trial(self.env, self.controller, trial, seed, placement=placement, video_path=video,
                         video_root=self.video_dir)

    def close(self) -> None:
        self.env.close()


def _is_expert(source: PolicySource) -> bool:
    return isinstance(source, ExpertSource)


_RUNNER: TrialRunner | None = None


def _init_worker(source: PolicySource, spec: EnvSpec, video_dir: Path | None, torch_threads: int) -> None:
    global _RUNNER
    if not _is_expert(source):
        from dexsim.sim.gl_order import load_triton_before_gl

        load_triton_before_gl()  # before MuJoCo/EGL (see dexsim.sim.gl_order)
    _RUNNER = TrialRunner(source, spec, video_dir, torch_threads)


def _run_in_worker(trial: int, seed: int) -> TrialResult:
    assert _RUNNER is not None, "worker not initialised"
    return _RUNNER.run(trial, seed)


def run_trials(
    source: PolicySource,
    spec: EnvSpec,
    trials: Sequence[tuple[int, int]],
    *,
    workers: int = 1,
    video_dir: str | Path | None = None,
    torch_threads: int = 1,
    loaded: LoadedPolicy | None = None,
    on_result: Callable[[TrialResult], None] | None = None,
) -> list[TrialResult]:
    """Run ``(trial index, seed)`` pairs and return their results sorted by trial index.

    Args:
        source: The policy.
        spec: The env.
        trials: ``(trial, seed)`` pairs.
        workers: Worker processes (1: run here, in this process).
        video_dir: Results directory; videos go to ``video_dir/videos/`` (``None``: no videos).
        torch_threads: torch threads per worker (fixed so results do not depend on ``workers``).
        loaded: The policy already loaded in this process (reused when ``workers == 1``).
        on_result: Called in this process with each result as it arrives (any order).
    """
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    video = Path(video_dir) if video_dir is not None else None
    results: list[TrialResult] = []

    def collect(result: TrialResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    if workers == 1 or len(trials) <= 1:
        runner = TrialRunner(source, spec, video, torch_threads, loaded)
        try:
            for trial, seed in trials:
                collect(runner.run(trial, seed))
        finally:
            runner.close()
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(trials)), mp_context=context,
                                 initializer=_init_worker, initargs=(source, spec, video, torch_threads)) as pool:
            pending: set[Future[Any]] = {pool.submit(_run_in_worker, trial, seed) for trial, seed in trials}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        collect(future.result())
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    return sorted(results, key=lambda r: r.trial)
