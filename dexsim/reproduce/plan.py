"""The study as a list of ``dexsim`` commands: collect -> filter -> train the seven configs -> evaluate each.

Layout of the output directory ``OUT``:

==========================  ===============================================================================
path                        contents
==========================  ===============================================================================
``data/``                   the demonstrations (``dexsim collect``); ``data/filter/`` and ``data/subsets/``
                            from ``dexsim filter``
``runs/<config>/``          one training run per policy config (``dexsim train``)
``eval/<config>/``          its evaluation (``dexsim eval``); ``eval/expert/`` the scripted expert's
``steps/``, ``logs/``       completion markers and logs of the steps
``report/``                 ``report.md``, the Fig. 6-style chart, the outlier histogram, the commands
==========================  ===============================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dexsim.reproduce.scales import DEFECT_MIX, Scale
from dexsim.reproduce.steps import Step

__all__ = ["StudyPlan", "plan_study", "available_presets", "default_policies_dir", "FILTER_SUBSETS"]

FILTER_SUBSETS = ("outliers-removed-10", "outliers-removed-25", "outliers-removed-50")
"""Subsets ``dexsim filter`` writes (CONTRACTS item 3)."""


def available_presets() -> tuple[str, ...]:
    """Sim presets this dexsim has (``dexsim.sim.config.PRESETS``; empty before presets existed)."""
    from dexsim.sim import config

    return tuple(getattr(config, "PRESETS", ()))


def default_policies_dir() -> Path:
    """``policies/`` beside the ``dexsim`` package (the repository's configs)."""
    import dexsim

    return Path(dexsim.__file__).resolve().parent.parent / "policies"


@dataclass(frozen=True)
class StudyPlan:
    """The steps of one reproduction and where their artefacts land.

    Attributes:
        out: Output directory (absolute).
        scale: The scale.
        configs: Policy config names, in report order.
        seed: Training seed.
        steps: The commands, in order.
    """

    out: Path
    scale: Scale
    configs: tuple[str, ...]
    seed: int
    steps: tuple[Step, ...]

    @property
    def data(self) -> Path:
        return self.out / "data"

    def run_dir(self, config: str) -> Path:
        return self.out / "runs" / config

    def eval_dir(self, name: str) -> Path:
        return self.out / "eval" / name


def plan_study(scale: Scale, out: str | Path, *, configs: Sequence[str], policies_dir: str | Path, seed: int = 0,
               workers: int | None = None, presets: Sequence[str] | None = None) -> StudyPlan:
    """The commands of a reproduction at ``scale`` into ``out``.

    Args:
        scale: Size parameters.
        out: Output directory.
        configs: Policy config names (``policies_dir/<name>.toml`` must exist).
        policies_dir: Directory of the policy configs.
        seed: Training seed of every config.
        workers: Evaluation worker processes (``None``: the scale's, else ``dexsim eval``'s default).
        presets: Sim presets available (default: :func:`available_presets`); ``train`` is used for collection
            and ``eval`` for evaluation when present.

    Raises:
        FileNotFoundError: A config file is missing (named).
    """
    out = Path(out).resolve()
    policies = Path(policies_dir).resolve()
    presets = tuple(available_presets() if presets is None else presets)
    data = out / "data"
    size = str(scale.image_size)
    collect = ["collect", str(data), "-n", str(scale.demos), "--seed", "0", "--defect-mix", DEFECT_MIX,
               "--image-size", size, "--cameras", "top,wrist", "--time-limit", f"{scale.demo_time_limit_s:g}",
               "--no-progress"]
    if "train" in presets:
        collect += ["--preset", "train"]
    steps = [Step("collect", tuple(collect), outputs=("data/dataset.json", "data/index.json"),
                  restart_clean=("data",))]
    filter_outputs = ("data/filter/histogram.png", "data/filter/scores.csv",
                      *(f"data/subsets/{name}.json" for name in FILTER_SUBSETS))
    steps.append(Step("filter", ("filter", str(data), "--stride", str(scale.filter_stride), "--evaluate"),
                      outputs=filter_outputs))
    for config in configs:
        path = policies / f"{config}.toml"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such policy config (the paper's seven live in policies/)")
        train = ["train", str(path), "--data", str(data), "--out", str(out / "runs" / config), "--seed", str(seed)]
        for override in scale.train_overrides:
            train += ["--set", override]
        steps.append(Step(f"train/{config}", tuple(train),
                          outputs=tuple(f"runs/{config}/{name}" for name in
                                        ("model.safetensors", "config.json", "stats.json"))))
    evaluate = ["--trials", str(scale.eval_trials), "--overwrite", "--no-progress"]
    workers = workers if workers is not None else scale.eval_workers
    if workers is not None:
        evaluate += ["--workers", str(workers)]
    if "eval" in presets:
        evaluate += ["--preset", "eval"]
    if scale.eval_time_limit_s is not None:
        evaluate += ["--time-limit", f"{scale.eval_time_limit_s:g}"]
    steps.append(Step("eval/expert", ("eval", "expert", "--out", str(out / "eval" / "expert"), *evaluate),
                      outputs=("eval/expert/summary.json",)))
    for config in configs:
        steps.append(Step(f"eval/{config}", ("eval", str(out / "runs" / config), "--out", str(out / "eval" / config),
                                             *evaluate), outputs=(f"eval/{config}/summary.json",)))
    return StudyPlan(out, scale, tuple(configs), seed, tuple(steps))
