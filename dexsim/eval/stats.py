"""Statistics of success rates: Wilson score intervals and paired comparisons of two policies.

Two policies evaluated on the same placements (the same seeds) pair up trial by trial; a paired test uses that
pairing and is far more sensitive than comparing two independent intervals.

* :func:`wilson_interval`: the Wilson score interval of a binomial proportion (good coverage at small n and at
  rates near 0 or 1, where the normal "Wald" interval fails).
* :func:`mcnemar_exact`: the exact (binomial) McNemar test on the discordant pairs: under "no difference" each
  trial that only one policy solved is equally likely to be either's, so the count ``b`` of "only A" among
  ``n = b + c`` discordant trials is Binomial(n, 1/2); two-sided p = min(1, 2 P[X <= min(b, c)]).
* :func:`paired_bootstrap`: percentile interval of the difference of success rates, resampling trials (pairs)
  with replacement.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = ["wilson_interval", "mcnemar_exact", "paired_bootstrap", "PairedComparison", "compare_paired"]


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` of a success rate, as fractions in [0, 1].

    Raises:
        ValueError: ``trials`` < 1, ``successes`` outside ``[0, trials]`` or ``confidence`` outside (0, 1).
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in [0, {trials}], got {successes}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # exact bounds at the ends (avoid 1e-17 round-off showing as "0.0000000001 %")
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided p-value of the exact McNemar test from the discordant counts.

    Args:
        only_a: Trials policy A solved and policy B did not.
        only_b: Trials policy B solved and policy A did not.
    """
    if only_a < 0 or only_b < 0:
        raise ValueError(f"discordant counts must be >= 0, got {only_a}, {only_b}")
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def paired_bootstrap(a: Sequence[bool], b: Sequence[bool], *, resamples: int = 10_000, seed: int = 0,
                     confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference of success rates ``rate(a) - rate(b)`` with a paired percentile bootstrap interval.

    Args:
        a: Per-trial success of policy A.
        b: Per-trial success of policy B on the same trials (same order).
        resamples: Bootstrap resamples.
        seed: Seed of the resampling (the interval is reproducible).
        confidence: Interval coverage.

    Returns:
        ``(difference, low, high)`` as fractions.
    """
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if first.shape != second.shape or first.ndim != 1 or first.size == 0:
        raise ValueError(f"paired outcomes must be two equally long non-empty lists, got {first.shape}, {second.shape}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    differences = first - second
    rng = np.random.default_rng(seed)
    index = rng.integers(0, differences.size, size=(resamples, differences.size))
    means = differences[index].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(differences.mean()), float(low), float(high)


@dataclass(frozen=True)
class PairedComparison:
    """Two policies on the trials (seeds) both were evaluated on.

    Attributes:
        label_a: Name of policy A.
        label_b: Name of policy B.
        trials: Paired trials (seeds present in both).
        successes_a: Successes of A on them.
        successes_b: Successes of B on them.
        both: Trials both solved.
        only_a: Trials only A solved.
        only_b: Trials only B solved.
        neither: Trials neither solved.
        difference: ``rate(A) - rate(B)``.
        bootstrap_low: Lower end of the paired bootstrap 95 % interval of ``difference``.
        bootstrap_high: Upper end of that interval.
        mcnemar_p: Two-sided exact McNemar p-value.
    """

    label_a: str
    label_b: str
    trials: int
    successes_a: int
    successes_b: int
    both: int
    only_a: int
    only_b: int
    neither: int
    difference: float
    bootstrap_low: float
    bootstrap_high: float
    mcnemar_p: float

    def to_markdown(self) -> str:
        """A short markdown report of the comparison."""
        a, b, n = self.label_a, self.label_b, self.trials
        verdict = ("no significant difference" if self.mcnemar_p >= 0.05
                   else f"{a if self.difference > 0 else b} is better (p < 0.05)")
        return "\n".join([
            f"| paired trials | {a} | {b} | both | only {a} | only {b} | neither |",
            "|---|---|---|---|---|---|---|",
            f"| {n} | {self.successes_a}/{n} | {self.successes_b}/{n} | {self.both} | {self.only_a} | "
            f"{self.only_b} | {self.neither} |",
            "",
            f"Difference {a} - {b}: {100 * self.difference:+.1f} points, paired bootstrap 95% interval "
            f"[{100 * self.bootstrap_low:+.1f}, {100 * self.bootstrap_high:+.1f}]; exact McNemar p = "
            f"{self.mcnemar_p:.3g} ({verdict}).",
        ])


def compare_paired(label_a: str, outcomes_a: dict[int, bool], label_b: str, outcomes_b: dict[int, bool], *,
                   resamples: int = 10_000, seed: int = 0) -> PairedComparison:
    """Compare two policies on the seeds both were evaluated on.

    Args:
        label_a: Name of policy A.
        outcomes_a: Seed -> success of policy A.
        label_b: Name of policy B.
        outcomes_b: Seed -> success of policy B.
        resamples: Bootstrap resamples.
        seed: Bootstrap seed.

    Raises:
        ValueError: The two share no seed (not evaluated on the same placements).
    """
    seeds = sorted(set(outcomes_a) & set(outcomes_b))
    if not seeds:
        raise ValueError(f"{label_a} and {label_b} share no evaluation seed: they were not evaluated on the same "
                         "placements")
    a = [bool(outcomes_a[s]) for s in seeds]
    b = [bool(outcomes_b[s]) for s in seeds]
    both = sum(x and y for x, y in zip(a, b, strict=True))
    only_a = sum(x and not y for x, y in zip(a, b, strict=True))
    only_b = sum(y and not x for x, y in zip(a, b, strict=True))
    difference, low, high = paired_bootstrap(a, b, resamples=resamples, seed=seed)
    return PairedComparison(label_a, label_b, len(seeds), sum(a), sum(b), both, only_a, only_b,
                            len(seeds) - both - only_a - only_b, difference, low, high, mcnemar_exact(only_a, only_b))
