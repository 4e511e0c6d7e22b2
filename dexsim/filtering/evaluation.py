"""Ground-truth comparison of outlier scores with the labelled defects of simulated demonstrations.

Positives are episodes whose ``defect`` label names a defect mode, negatives are ``"clean"`` ones; unlabelled
episodes (``defect`` = ``None``, e.g. real recordings) are left out.

- AUROC: probability that a random defective demonstration scores above a random clean one (ties count half).
- Precision at a cut: the fraction of defective demonstrations among those the cut removes.
- Length-controlled AUROC: the same probability over the *length-matched* (defective, clean) pairs only, whose
  episode lengths differ by at most ``match_tolerance`` (10 %) of the longer one. Defects make episodes longer,
  so a score that only tracks length reaches a high plain AUROC but ~0.5 here (coarse quantile strata do not
  achieve that: within a wide top stratum length still separates the classes).
- AUROC per length stratum: the pairs within each of ``num_strata`` quantile bins of the labelled lengths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dexsim.filtering.scoring import percentile_cuts

__all__ = ["CLEAN_LABEL", "ScorerEvaluation", "auroc", "pair_auroc", "matched_pair_auroc", "length_strata",
           "evaluate_scores", "has_labels", "random_evaluation", "evaluation_markdown"]

CLEAN_LABEL = "clean"


def has_labels(labels: Sequence[str | None]) -> bool:
    """True if there is at least one clean and one defective labelled demonstration."""
    return any(label == CLEAN_LABEL for label in labels) and any(label not in (None, CLEAN_LABEL)
                                                                  for label in labels)


def pair_auroc(pos: NDArray[np.floating], neg: NDArray[np.floating]) -> tuple[float, int]:
    """(fraction of (pos, neg) pairs with pos > neg, ties half; number of pairs). NaN if no pairs."""
    pos, neg = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    pairs = len(pos) * len(neg)
    if pairs == 0:
        return float("nan"), 0
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / pairs), pairs


def auroc(scores: NDArray[np.floating], positive: NDArray[np.bool_]) -> float:
    """Area under the ROC curve of ``scores`` for the boolean ``positive`` labels (NaN if a class is empty)."""
    scores, positive = np.asarray(scores), np.asarray(positive, dtype=bool)
    return pair_auroc(scores[positive], scores[~positive])[0]


def matched_pair_auroc(pos: NDArray[np.floating], neg: NDArray[np.floating], pos_len: NDArray[np.integer],
                       neg_len: NDArray[np.integer], tolerance: float) -> tuple[float, int]:
    """Like :func:`pair_auroc` over the pairs with ``|len_p - len_n| <= tolerance * max(len_p, len_n)``."""
    pos, neg = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    lp, ln = np.asarray(pos_len, dtype=np.float64)[:, None], np.asarray(neg_len, dtype=np.float64)[None, :]
    matched = np.abs(lp - ln) <= tolerance * np.maximum(lp, ln)
    pairs = int(matched.sum())
    if pairs == 0:
        return float("nan"), 0
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return float(wins[matched].sum() / pairs), pairs


def length_strata(lengths: NDArray[np.integer], num_strata: int = 3) -> NDArray[np.int64]:
    """Stratum index (0 = shortest) of every episode: quantile bins of ``lengths``."""
    lengths = np.asarray(lengths, dtype=np.float64)
    edges = np.quantile(lengths, np.linspace(0, 1, num_strata + 1)[1:-1])
    return np.searchsorted(edges, lengths, side="right").astype(np.int64)


@dataclass
class ScorerEvaluation:
    """Metrics of one scorer (NaN where a class is absent)."""

    name: str
    auroc: float
    length_controlled_auroc: float
    precision: dict[int, float]
    per_mode: dict[str, float]
    per_stratum: list[float]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready record (NaN -> null)."""
        def clean(v: float) -> float | None:
            return None if v != v else round(float(v), 4)
        return {"name": self.name, "auroc": clean(self.auroc),
                "length_controlled_auroc": clean(self.length_controlled_auroc),
                "precision_at_cut": {str(k): clean(v) for k, v in self.precision.items()},
                "auroc_per_mode": {k: clean(v) for k, v in self.per_mode.items()},
                "auroc_per_length_stratum": [clean(v) for v in self.per_stratum], "notes": self.notes}


def evaluate_scores(name: str, scores: NDArray[np.floating], labels: Sequence[str | None],
                    lengths: NDArray[np.integer], episode_ids: Sequence[int], *, cuts: Sequence[int] = (10, 25),
                    num_strata: int = 3, match_tolerance: float = 0.1) -> ScorerEvaluation:
    """Metrics of one scorer over the labelled demonstrations.

    Raises:
        ValueError: No clean or no defective labelled demonstration.
    """
    if not has_labels(labels):
        raise ValueError("--evaluate needs ground-truth labels: at least one 'clean' and one defective "
                         "demonstration (episode metadata 'defect'); this dataset has none")
    keep = np.array([label is not None for label in labels])
    scores = np.asarray(scores, dtype=np.float64)[keep]
    labels_kept = [label for label in labels if label is not None]
    lengths = np.asarray(lengths)[keep]
    ids = np.asarray(episode_ids)[keep]
    positive = np.array([label != CLEAN_LABEL for label in labels_kept])
    strata = length_strata(lengths, num_strata)
    per_stratum = [pair_auroc(scores[(strata == s) & positive], scores[(strata == s) & ~positive])[0]
                   for s in range(num_strata)]
    matched, _ = matched_pair_auroc(scores[positive], scores[~positive], lengths[positive], lengths[~positive],
                                    match_tolerance)
    precision = {}
    for cut in percentile_cuts(scores, ids.tolist(), cuts):
        removed = np.isin(ids, cut.removed)
        precision[cut.percent] = float(positive[removed].mean()) if removed.any() else float("nan")
    modes = sorted({label for label in labels_kept if label != CLEAN_LABEL})
    neg = scores[~positive]
    per_mode = {mode: pair_auroc(scores[np.array([lab == mode for lab in labels_kept])], neg)[0] for mode in modes}
    return ScorerEvaluation(name, auroc(scores, positive), matched, precision, per_mode, per_stratum)


def random_evaluation(labels: Sequence[str | None], lengths: NDArray[np.integer], episode_ids: Sequence[int], *,
                      draws: int = 200, seed: int = 0, cuts: Sequence[int] = (10, 25),
                      num_strata: int = 3) -> ScorerEvaluation:
    """The random-ranking reference: every metric averaged over ``draws`` seeded uniform random scorings."""
    rng = np.random.default_rng(seed)
    runs = [evaluate_scores("random", rng.random(len(labels)), labels, lengths, episode_ids, cuts=cuts,
                            num_strata=num_strata) for _ in range(draws)]

    def mean(values: list[float]) -> float:
        finite = [v for v in values if v == v]
        return float(np.mean(finite)) if finite else float("nan")

    first = runs[0]
    return ScorerEvaluation(
        "random",
        mean([r.auroc for r in runs]),
        mean([r.length_controlled_auroc for r in runs]),
        {k: mean([r.precision[k] for r in runs]) for k in first.precision},
        {k: mean([r.per_mode[k] for r in runs]) for k in first.per_mode},
        [mean([r.per_stratum[i] for r in runs]) for i in range(len(first.per_stratum))],
        [f"mean over {draws} seeded random rankings"],
    )


def _fmt(v: float) -> str:
    return "n/a" if v != v else f"{v:.3f}"


def evaluation_markdown(results: Sequence[ScorerEvaluation], counts: Mapping[str, int],
                        strata_ranges: Sequence[tuple[int, int, int, int]], header: str, matched_pairs: int) -> str:
    """The comparison table as Markdown.

    Args:
        counts: Demonstrations per label.
        strata_ranges: (min length, max length, defective, clean) per stratum.
        header: Lines above the tables (dataset, settings, weights).
    """
    modes = sorted(k for k in counts if k != CLEAN_LABEL)
    cuts = sorted(results[0].precision) if results else []
    lines = [header, "", "Labels: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
             f"Length-matched (defective, clean) pairs: {matched_pairs}.", ""]
    cols = ["scorer", "AUROC", "length-controlled AUROC (pairs within 10 % length)"] + [f"precision@{c}%" for c in cuts]
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in results:
        lines.append("| " + " | ".join([r.name, _fmt(r.auroc), _fmt(r.length_controlled_auroc)]
                                        + [_fmt(r.precision[c]) for c in cuts]) + " |")
    lines += ["", "AUROC per defect mode (that mode vs all clean demonstrations):", ""]
    lines += ["| scorer | " + " | ".join(f"{m} ({counts[m]})" for m in modes) + " |", "|" + "---|" * (len(modes) + 1)]
    for r in results:
        lines.append("| " + " | ".join([r.name] + [_fmt(r.per_mode[m]) for m in modes]) + " |")
    lines += ["", "AUROC within episode-length strata (frames; defective/clean counts):", ""]
    heads = [f"{lo}-{hi} ({d}/{c})" for lo, hi, d, c in strata_ranges]
    lines += ["| scorer | " + " | ".join(heads) + " |", "|" + "---|" * (len(heads) + 1)]
    for r in results:
        lines.append("| " + " | ".join([r.name] + [_fmt(v) for v in r.per_stratum]) + " |")
    return "\n".join(lines) + "\n"
