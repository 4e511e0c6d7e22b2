"""``dexsim reproduce --scale tiny|small|paper --out DIR``: the seven-policy study in the twin, resumable."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _reproduce(args: argparse.Namespace) -> int:
    from dexsim.reproduce.plan import default_policies_dir, plan_study
    from dexsim.reproduce.scales import POLICY_CONFIGS, SCALES
    from dexsim.reproduce.steps import STAGES, StepFailed
    from dexsim.reproduce.study import run_study

    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is a file, expected a directory")
    configs = tuple(c.strip() for c in args.configs.split(",") if c.strip()) if args.configs else POLICY_CONFIGS
    unknown = [c for c in configs if c not in POLICY_CONFIGS]
    if unknown:
        raise ValueError(f"--configs: unknown {unknown}; the study's configs: {', '.join(POLICY_CONFIGS)}")
    stages = None
    if args.stages:
        stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
        unknown = [s for s in stages if s not in STAGES]
        if unknown or not stages:
            raise ValueError(f"--stages: unknown {unknown or args.stages!r}; the stages: {', '.join(STAGES)}")
    plan = plan_study(SCALES[args.scale], args.out, configs=configs,
                      policies_dir=args.policies or default_policies_dir(), seed=args.seed, workers=args.workers)
    if args.dry_run:
        for step in plan.steps:
            if stages is None or step.stage in stages:
                print(step.display)
        return 0
    try:
        run_study(plan, stages=stages)
    except StepFailed as exc:
        print(f"dexsim reproduce: {exc}")
        return 1
    return 0


def register(subparsers: Any) -> None:
    """Add ``reproduce`` to the ``dexsim`` command line."""
    parser = subparsers.add_parser(
        "reproduce", help="collect -> filter -> train the seven configs -> evaluate -> report (resumable)",
        description="Reproduce the paper's seven-policy study (Fig. 6) in the twin: collect scripted demonstrations "
        "with a realistic defect mix, score outliers, train the seven configs of policies/, evaluate each on the same "
        "placements and write OUT/report/. Each step is a dexsim command; a killed run continues where it stopped.")
    parser.add_argument("--scale", choices=("tiny", "small", "paper"), required=True,
                        help="tiny: CI minutes; small: a 2-core machine in hours; paper: a GPU machine")
    parser.add_argument("--out", required=True, help="output directory (re-use it to resume)")
    parser.add_argument("--configs", default=None,
                        help="comma-separated subset of the seven configs (default: all seven)")
    parser.add_argument("--policies", default=None, help="directory of the policy configs (default: policies/)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    parser.add_argument("--workers", type=int, default=None,
                        help="evaluation workers (default: the scale's: 1 for tiny, else one per core)")
    parser.add_argument("--stages", default=None, metavar="STAGE[,STAGE]",
                        help="run only these stages of collect,filter,train,eval (e.g. collect,filter here and "
                             "train on a GPU machine with the same --out); the report follows a run of every stage")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and stop")
    parser.set_defaults(handler=_reproduce)
