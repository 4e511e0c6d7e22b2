"""The scales of ``dexsim reproduce``: every size parameter of the study in one table.

=====  =====  ======  ==========  ======  =======================  ======  ===========  ====================
scale  demos  images  demo limit  stride  training                 trials  trial limit  expected wall time
=====  =====  ======  ==========  ======  =======================  ======  ===========  ====================
tiny   16     32 px   20 s        50      20 steps, UNet 16-32     2       12 s         a few minutes (CI)
small  100    64 px   40 s        5       conv, x0, <= 25 min      50      40 s         ~3 h on 2 cores (or GPU)
paper  300    96 px   40 s        2       the configs as written   100     40 s         a GPU machine
=====  =====  ======  ==========  ======  =======================  ======  ===========  ====================

The ``training`` column is applied with ``dexsim train --set section.key=value`` (CONTRACTS item 6); the keys are
those of the policy configuration in ``dexsim.policy`` (``policies/*.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["Scale", "SCALES", "DEFECT_MIX", "POLICY_CONFIGS", "BASELINE_CONFIG"]

DEFECT_MIX: Final = "jitter=0.05,hesitation=0.05,slip_regrasp=0.04,wrong_direction=0.04,near_drop=0.04,aborted=0.03"
"""A realistic mix of bad demonstrations: 25 % defective across all six defect modes of the scripted expert
(teleoperated datasets of this kind hold roughly a fifth to a third of hesitant, shaky or failed demos)."""

POLICY_CONFIGS: Final = ("all_inputs", "no_top_camera", "no_wrist_camera", "no_effort",
                         "filtered_10", "filtered_25", "filtered_50")
"""The paper's seven policies (Fig. 6), as named in ``policies/<name>.toml`` (CONTRACTS item 5)."""

BASELINE_CONFIG: Final = "all_inputs"
"""The policy every other one is compared with (paired, trial by trial)."""


@dataclass(frozen=True)
class Scale:
    """Size parameters of one reproduction scale.

    Attributes:
        name: ``tiny``, ``small`` or ``paper``.
        demos: Scripted demonstrations collected (seeds ``0..demos-1``).
        image_size: Camera resolution of the demonstrations and of the evaluation env, px.
        demo_time_limit_s: Time limit of a demonstration, s.
        filter_stride: Frame stride of the outlier scorer's feature extraction.
        train_overrides: ``--set`` overrides passed to every ``dexsim train`` (shrink or fit the model).
        eval_trials: Evaluation placements per policy.
        eval_time_limit_s: Time limit of an evaluation trial, s (``None``: the env's).
        eval_workers: Evaluation worker processes (``None``: one per core); 1 where worker start-up (spawn, torch
            import, policy load) would cost more than the few trials it parallelises.
        purpose: What the scale is for and what it takes.
    """

    name: str
    demos: int
    image_size: int
    demo_time_limit_s: float
    filter_stride: int
    train_overrides: tuple[str, ...]
    eval_trials: int
    eval_time_limit_s: float | None
    eval_workers: int | None
    purpose: str


SCALES: Final = {
    "tiny": Scale(
        "tiny", demos=16, image_size=32, demo_time_limit_s=20.0, filter_stride=50,
        train_overrides=("model.encoder=conv", "model.image_size=32", "model.down_dims=[16,32]",
                         "diffusion.inference_steps=4", "train.batch_size=16", "train.warmup_steps=5",
                         "train.max_steps=20", "train.checkpoint_every=10", "train.val_windows=32",
                         "train.log_every=5"),
        eval_trials=2, eval_time_limit_s=12.0, eval_workers=1,
        purpose="CI smoke test of the whole pipeline: every step and artefact, in a few minutes; the success rates "
                "mean nothing"),
    "small": Scale(
        "small", demos=100, image_size=64, demo_time_limit_s=40.0, filter_stride=5,
        train_overrides=("model.encoder=conv", "model.image_size=64", "model.down_dims=[64,128,256]",
                         "diffusion.prediction_type=sample", "diffusion.inference_steps=8", "train.batch_size=64",
                         "train.lr=3e-4", "train.warmup_steps=200", "train.max_steps=2000", "train.max_minutes=25",
                         "train.threads=1"),
        eval_trials=50, eval_time_limit_s=None, eval_workers=None,
        purpose="a 2-core CPU machine in a few hours: the small conv encoder, 64 px images, ~20 min of training "
                "per policy"),
    "paper": Scale(
        "paper", demos=300, image_size=96, demo_time_limit_s=40.0, filter_stride=2,
        train_overrides=(),
        eval_trials=100, eval_time_limit_s=None, eval_workers=None,
        purpose="the paper's data scale and the configs as written (ResNet-18 encoders): a GPU machine"),
}
"""Scale name -> parameters."""
