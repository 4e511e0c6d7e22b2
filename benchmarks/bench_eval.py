"""Benchmark of ``dexsim eval``: trials/s with 1, 2, ... worker processes, side by side, and the same results.

Run: ``.venv/bin/python benchmarks/bench_eval.py [--trials 40] [--workers 1,2] [--cameras]``

Evaluates the scripted expert (state-only by default; ``--cameras`` renders both 96 px cameras in every step, the
cost a visuomotor policy's env pays) on the same seeded placements with each worker count, in one run, and prints
wall time, trials/s, the speed-up over one worker (goal: close to the core count on an idle machine; worker
start-up — spawn, imports, env construction — is included) and whether every run gave identical trial results.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

from dexsim.eval.evaluate import evaluate  # noqa: E402
from dexsim.eval.parallel import default_workers  # noqa: E402
from dexsim.eval.sources import EnvSpec, ExpertSource, LoadedPolicy  # noqa: E402
from dexsim.eval.trials import DETERMINISTIC_FIELDS  # noqa: E402


class _ExpertWithCameras(ExpertSource):
    """The expert in an env that renders both cameras (the rendering cost of an image policy's env)."""

    def load(self) -> LoadedPolicy:
        loaded = super().load()
        return LoadedPolicy({"cameras": ("top", "wrist")}, loaded.make_controller)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="trials per worker count")
    parser.add_argument("--workers", default=None, help="comma-separated worker counts (default: 1 and the cores)")
    parser.add_argument("--cameras", action="store_true", help="render both 96 px cameras every step")
    args = parser.parse_args()
    counts = ([int(w) for w in args.workers.split(",")] if args.workers
              else sorted({1, default_workers(args.trials)}))
    source = _ExpertWithCameras() if args.cameras else ExpertSource()
    print(f"expert, {args.trials} trials, {'two 96 px cameras' if args.cameras else 'state only'}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'workers':>8}{'wall s':>9}{'trials/s':>10}{'speed-up':>10}{'successes':>11}")
    baseline, reference = None, None
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            start = time.perf_counter()
            summary, results = evaluate(source, EnvSpec(), args.trials, Path(folder) / str(count), workers=count,
                                        progress=False)
            wall = time.perf_counter() - start
            baseline = baseline or wall
            key = [tuple(getattr(r, f) for f in DETERMINISTIC_FIELDS) for r in results]
            reference = reference or key
            print(f"{count:>8}{wall:>9.1f}{args.trials / wall:>10.2f}{baseline / wall:>9.2f}x"
                  f"{summary.successes:>7}/{summary.trials}" + ("" if key == reference else "  RESULTS DIFFER"))


if __name__ == "__main__":
    main()
