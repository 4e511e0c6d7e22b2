"""Success rate of a trained policy on held-out placements of AllegroUnscrew-sim, with failure reasons.

    python benchmarks/eval_policy.py RUN_DIR [--trials 50] [--preset eval] [--steps K] [--sampler ddim]
        [--asynchronous] [--temporal-ensemble K] [--json OUT.json]

Placements use reset seeds ``1_000_000 + i`` (CONTRACTS item 2: disjoint from the demonstrations' 0..n-1);
``dexsim eval`` (issue 11) is the user-facing command, this script is issue 9's own measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from typing import Any

import torch._dynamo  # noqa: F401  (before MuJoCo/EGL, see facts.md)

EVAL_SEED_BASE = 1_000_000


def make_sim_env(kwargs: dict[str, Any], preset: str | None) -> Any:
    """``AllegroUnscrew-sim`` with the policy's settings, at ``preset`` when this dexsim has presets."""
    import gymnasium as gym

    import dexsim  # noqa: F401  (registers the envs)

    if preset:
        try:
            from dexsim.sim.config import sim_config  # i8a's presets; absent before it lands
        except ImportError:
            print(f"note: this dexsim has no sim presets; using the default SimConfig instead of {preset!r}")
        else:
            return gym.make("AllegroUnscrew-sim", config=sim_config(preset, **kwargs))
    return gym.make("AllegroUnscrew-sim", **kwargs)


def evaluate(path: str, trials: int, preset: str | None, **options: Any) -> dict[str, Any]:
    """Roll the policy out on ``trials`` held-out placements; returns per-episode outcomes and a summary."""
    from dexsim.policy import load
    from dexsim.rollout import run_episode

    torch.set_num_threads(options.pop("threads", 2))
    executor = load(path, **options)
    env = make_sim_env(executor.env_kwargs(), preset)
    episodes = []
    try:
        for i in range(trials):
            seed = EVAL_SEED_BASE + i
            start = time.perf_counter()
            outcome = run_episode(env, executor, seed=seed)
            summary = executor.stats.summary()
            reason = "success" if outcome.success else outcome.termination_reason
            episodes.append({"seed": seed, "success": outcome.success, "reason": reason,
                             "sim_s": round(outcome.duration_s, 2), "lid_turns": round(float(
                                 outcome.final_info.get("lid_turns", float("nan"))), 3),
                             "wall_s": round(time.perf_counter() - start, 1), **{k: round(v, 4) for k, v in
                                                                                  summary.items()}})
            print(f"seed {seed}: {reason:15s} t={outcome.duration_s:5.1f}s turns={episodes[-1]['lid_turns']:.2f}",
                  flush=True)
    finally:
        env.close()
        executor.close()
    successes = sum(e["success"] for e in episodes)
    success_times = sorted(e["sim_s"] for e in episodes if e["success"])
    return {
        "policy": path, "trials": trials, "preset": preset, "successes": successes,
        "success_rate": successes / max(trials, 1),
        "failure_reasons": dict(Counter(e["reason"] for e in episodes if not e["success"])),
        "median_time_to_release_s": success_times[len(success_times) // 2] if success_times else None,
        "episodes": episodes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", help="run dir, checkpoint dir or weights file")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--preset", default="eval", help="sim preset (when this dexsim has presets); '' = default")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps per chunk")
    parser.add_argument("--sampler", default=None, choices=["ddim", "dpmsolver", "ddpm"])
    parser.add_argument("--asynchronous", action="store_true")
    parser.add_argument("--temporal-ensemble", type=float, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None, help="write the result here")
    args = parser.parse_args(argv)
    result = evaluate(args.policy, args.trials, args.preset or None, inference_steps=args.steps,
                      sampler=args.sampler, asynchronous=args.asynchronous or None,
                      temporal_ensemble=args.temporal_ensemble, threads=args.threads)
    print(f"success {result['successes']}/{result['trials']} ({100 * result['success_rate']:.0f} %), failures "
          f"{result['failure_reasons']}, median time to release {result['median_time_to_release_s']} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
