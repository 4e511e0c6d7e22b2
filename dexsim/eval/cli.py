"""``dexsim eval POLICY --trials N`` and ``dexsim eval-compare A B``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _default_out(policy: str, backend: str) -> Path:
    if policy == "expert":
        return Path("eval") / f"expert-{backend}"
    path = Path(policy)
    run_dir = path if path.is_dir() else path.parent
    return run_dir / f"eval-{backend}"


def _eval(args: argparse.Namespace) -> int:
    from dexsim.eval.evaluate import evaluate
    from dexsim.eval.parallel import default_workers
    from dexsim.eval.results import SUMMARY_JSON, TRIALS_CSV
    from dexsim.eval.sources import EnvSpec, parse_env_overrides, resolve_policy

    for option, value in (("--trials", args.trials), ("--torch-threads", args.torch_threads),
                          ("--workers", args.workers), ("--inference-steps", args.inference_steps)):
        if value is not None and value < 1:
            raise ValueError(f"{option} must be >= 1, got {value}")
    if args.time_limit is not None and not args.time_limit > 0:
        raise ValueError(f"--time-limit must be > 0 s, got {args.time_limit}")
    source = resolve_policy(args.policy, privileged=not args.proprioceptive, device=args.device,
                            inference_steps=args.inference_steps)
    overrides = parse_env_overrides(args.sim or [], args.env)
    if args.time_limit is not None:
        overrides["time_limit_s"] = args.time_limit
    spec = EnvSpec(args.env, args.preset, overrides, args.hardware, render_video=args.video)
    out = Path(args.out) if args.out else _default_out(args.policy, args.env)
    for name in (SUMMARY_JSON, TRIALS_CSV):
        if (out / name).exists() and not args.overwrite:
            raise ValueError(f"--out {out}: holds results already ({name}); pass --overwrite or choose another --out")
    workers = args.workers if args.workers is not None else default_workers(args.trials)
    command = "dexsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else None
    summary, _ = evaluate(source, spec, args.trials, out, first_trial=args.first_trial, workers=workers,
                          video=args.video, torch_threads=args.torch_threads, progress=not args.no_progress,
                          command=command)
    median = summary.median_time_to_success_s
    print(f"{summary.label}: {summary.successes}/{summary.trials} successes ({100 * summary.rate:.0f}%, Wilson 95% "
          f"[{100 * summary.ci_low:.0f}%, {100 * summary.ci_high:.0f}%]); outcomes {summary.outcomes}"
          + ("" if median != median else f"; median time to success {median:.1f} s")
          + f"; {summary.extra['wall_s']:.1f} s with {summary.extra['workers']} worker(s); results in {out}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from dexsim.eval.results import read_summary, read_trials
    from dexsim.eval.stats import compare_paired

    if args.out and Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is a directory: give a file path (e.g. {Path(args.out) / 'compare.md'})")
    if args.resamples < 1:
        raise ValueError(f"--resamples must be >= 1, got {args.resamples}")
    sides = []
    for path in (args.a, args.b):
        trials = read_trials(path)
        base = Path(path) if Path(path).is_dir() else Path(path).parent
        try:
            label = read_summary(base).label
        except FileNotFoundError:
            label = base.name
        sides.append((label, {t.seed: t.success for t in trials}))
    (label_a, a), (label_b, b) = sides
    if label_a == label_b:
        label_a, label_b = f"A ({label_a})", f"B ({label_b})"
    comparison = compare_paired(label_a, a, label_b, b, resamples=args.resamples, seed=args.seed)
    unpaired = len(set(a) ^ set(b))
    text = comparison.to_markdown() + (f"\n\n{unpaired} trial(s) present in only one file were left out." if unpaired
                                       else "")
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


def register(subparsers: Any) -> None:
    """Add ``eval`` and ``eval-compare`` to the ``dexsim`` command line."""
    parser = subparsers.add_parser(
        "eval", help="evaluate a policy (run dir, checkpoint or 'expert') on seeded randomised placements",
        description="Evaluate a policy on N seeded randomised placements (trial i: seed 1000000 + i, the same for "
        "every policy) and write trials.csv, summary.json and results.md with a Wilson 95% interval.")
    parser.add_argument("policy", metavar="POLICY", help="run directory, checkpoint, or 'expert'")
    parser.add_argument("--trials", type=int, default=50, help="trials (placements) to run (default: 50)")
    parser.add_argument("--first-trial", type=int, default=0,
                        help="index of the first trial, to extend an earlier evaluation (default: 0)")
    parser.add_argument("--preset", default=None,
                        help="sim preset (dexsim.sim.config.PRESETS, e.g. eval); default: the SimConfig defaults")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes, each with its own env and policy (default: one per core, "
                        "at most one per 4 trials)")
    parser.add_argument("--out", default=None,
                        help="results directory (default: RUN_DIR/eval-sim, or eval/expert-sim for the expert)")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    parser.add_argument("--video", action="store_true", help="write a video per trial into OUT/videos/")
    parser.add_argument("--env", choices=("sim", "real"), default="sim",
                        help="sim: the twin; real: the hand, trial by trial with operator prompts")
    parser.add_argument("--hardware", default=None, help="hardware YAML or profile for --env real")
    parser.add_argument("--time-limit", type=float, default=None, help="episode time limit, s (default: the env's)")
    parser.add_argument("--sim", action="append", metavar="FIELD=VALUE",
                        help="set an env config field, e.g. --sim placement_y_m=-0.015,0.015 (repeatable)")
    parser.add_argument("--proprioceptive", action="store_true",
                        help="expert only: locate the lid by proprioception instead of reading the twin's state")
    parser.add_argument("--device", default="cpu", help="torch device of a trained policy (default: cpu)")
    parser.add_argument("--inference-steps", type=int, default=None,
                        help="denoising steps of a trained policy (default: the checkpoint's)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch threads per worker; fixed so results do not depend on --workers (default: 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_eval)

    compare = subparsers.add_parser(
        "eval-compare", help="paired comparison of two evaluations (exact McNemar + paired bootstrap)",
        description="Compare two evaluations trial by trial on the seeds both ran: exact McNemar test on the "
        "discordant trials and a paired bootstrap interval of the difference in success rate.")
    compare.add_argument("a", help="evaluation directory or trials.csv of policy A")
    compare.add_argument("b", help="evaluation directory or trials.csv of policy B")
    compare.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default: 10000)")
    compare.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    compare.add_argument("--out", default=None, help="also write the markdown report to this file")
    compare.set_defaults(handler=_compare)
