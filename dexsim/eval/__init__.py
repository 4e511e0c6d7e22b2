"""Evaluation of policies on a fixed, seeded set of randomised placements (``dexsim eval``).

Every policy is evaluated on the same placements: trial ``i`` resets the env with seed ``EVAL_SEED_BASE + i``, so
two result files pair up trial by trial (see :mod:`dexsim.eval.stats` for the paired comparison). Demonstrations use
seeds ``0..n-1``, far below :data:`EVAL_SEED_BASE`, so evaluation placements are never training placements.

Modules: ``placements`` (seeds and the placement each seed draws), ``sources`` (what to evaluate: the scripted
expert or a checkpoint, and the env it needs), ``trials`` (one trial -> :class:`TrialResult`), ``parallel`` (trials
in worker processes), ``stats`` (Wilson intervals, McNemar, paired bootstrap), ``results`` (CSV, JSON, markdown),
``video`` (per-trial videos), ``real`` (operator-guided trials on the hand), ``cli`` (``dexsim eval``,
``dexsim eval-compare``).
"""

from __future__ import annotations

from typing import Final

__all__ = ["EVAL_SEED_BASE"]

EVAL_SEED_BASE: Final = 1_000_000
"""Seed of evaluation trial 0; trial ``i`` uses ``EVAL_SEED_BASE + i`` (CONTRACTS item 2)."""
