"""Wilson intervals, the exact McNemar test and the paired bootstrap against hand-computed values."""

import math

import pytest

from dexsim.eval.stats import compare_paired, mcnemar_exact, paired_bootstrap, wilson_interval


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (8, 10, 0.4902, 0.9433),    # (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), z = 1.95996
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (1, 2, 0.0945, 0.9055),
    (45, 50, 0.7864, 0.9565),
])
def test_wilson_interval_matches_the_formula(k, n, low, high) -> None:
    got_low, got_high = wilson_interval(k, n)
    assert got_low == pytest.approx(low, abs=1e-4)
    assert got_high == pytest.approx(high, abs=1e-4)


def test_wilson_interval_rejects_bad_counts() -> None:
    for k, n in ((1, 0), (-1, 5), (6, 5)):
        with pytest.raises(ValueError):
            wilson_interval(k, n)


def test_mcnemar_exact_two_sided_binomial() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_exact(9, 1) == pytest.approx(2 * (1 + 10) / 1024)
    assert mcnemar_exact(1, 9) == mcnemar_exact(9, 1)
    assert mcnemar_exact(3, 3) == 1.0  # capped at 1
    assert mcnemar_exact(2, 5) == pytest.approx(2 * sum(math.comb(7, i) for i in range(3)) / 128)


def test_paired_bootstrap_is_reproducible_and_brackets_the_difference() -> None:
    a = [True] * 18 + [False] * 2
    b = [True] * 10 + [False] * 10
    first = paired_bootstrap(a, b, resamples=2000, seed=3)
    assert first == paired_bootstrap(a, b, resamples=2000, seed=3)
    difference, low, high = first
    assert difference == pytest.approx(0.4)
    assert low < 0.4 < high and low > 0.0
    assert paired_bootstrap(a, a) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        paired_bootstrap(a, b[:-1])


def test_compare_paired_uses_the_shared_seeds_only() -> None:
    a = {1: True, 2: True, 3: False, 4: True, 9: True}
    b = {1: True, 2: False, 3: False, 4: False, 7: False}
    result = compare_paired("A", a, "B", b, resamples=500)
    assert (result.trials, result.both, result.only_a, result.only_b, result.neither) == (4, 1, 2, 0, 1)
    assert result.mcnemar_p == pytest.approx(0.5)
    assert result.difference == pytest.approx(0.5)
    assert "| 4 | 3/4 | 1/4 |" in result.to_markdown()
    with pytest.raises(ValueError, match="share no evaluation seed"):
        compare_paired("A", {1: True}, "B", {2: True})
