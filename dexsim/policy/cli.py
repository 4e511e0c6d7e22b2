"""``dexsim train CONFIG --data DIR --out RUN_DIR``: train (or resume) a diffusion policy.

Runs under ``torchrun --nproc-per-node N -m dexsim.cli train ...`` for data-parallel training (gloo on CPUs,
nccl on GPUs); the global batch is ``[train] batch_size`` whatever N is.
"""

from __future__ import annotations

import argparse
import os
import shlex
from typing import Any

__all__ = ["register"]


def _train(args: argparse.Namespace) -> int:
    from dexsim.sim.gl_order import load_triton_before_gl

    load_triton_before_gl()  # before anything loads MuJoCo/EGL (see dexsim.sim.gl_order)

    from dexsim.policy.configuration import load_policy_config
    from dexsim.policy.training import train_policy

    overrides = list(args.set or [])
    if args.subset is not None:
        overrides += [f"data.subset={args.subset!r}".replace("'", '"'), "data.episode_ids=[]"]
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    config = load_policy_config(args.config, overrides)
    words = ["dexsim", "train", args.config, "--data", args.data, "--out", args.out]
    words += [w for name in (args.set or []) for w in ("--set", name)]
    words += ["--subset", args.subset] if args.subset is not None else []
    words += ["--seed", str(args.seed)] if args.seed is not None else []
    command = shlex.join(words)
    result = train_policy(config, args.data, args.out, progress=not args.no_progress, command=command)
    if os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 reports
        return 0
    if result.stopped == "finished":
        print(f"{args.out} has already finished training ({result.steps} steps); nothing to do")
    else:
        print(f"trained {result.steps} steps ({result.epochs} epochs, {result.wall_s / 60:.1f} min), stopped by "
              f"{result.stopped}; best validation loss {result.best_val_loss:.4g}; policy in {args.out}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``train`` to the ``dexsim`` command line."""
    train = subparsers.add_parser("train", help="train a diffusion policy on a dataset (resumes a killed run)",
                                  description=__doc__.splitlines()[0])
    train.add_argument("config", help="policy config, e.g. policies/all_inputs.toml")
    train.add_argument("--data", required=True, help="dataset directory (dexsim collect)")
    train.add_argument("--out", required=True, help="run directory (checkpoints, logs, final model)")
    train.add_argument("--subset", default=None, metavar="NAME",
                       help="train on this subset of the dataset (overrides [data] subset/episode_ids)")
    train.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                       help="override a config field (repeatable), e.g. --set train.max_steps=2000")
    train.add_argument("--seed", type=int, default=None, help="seed (overrides [train] seed)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)
