"""Demonstration outlier filtering (the paper's Sec. IV-B, Alg. 1) and its evaluation in the twin.

- :mod:`dexsim.filtering.config`: :class:`FilterConfig`, the settings.
- :mod:`dexsim.filtering.weights`: encoder weights from files / the offline HF cache / seeded random init.
- :mod:`dexsim.filtering.features`: :class:`ImageEncoder` (timm backbone, no head, the model's preprocessing).
- :mod:`dexsim.filtering.cache`: per-episode/camera embedding cache.
- :mod:`dexsim.filtering.trajectory`: joint/effort/action window descriptors and the action-jerk baseline.
- :mod:`dexsim.filtering.scoring`: HDBSCAN + GLOSH, aggregation, camera average, ranking, percentile cuts.
- :mod:`dexsim.filtering.evaluation`: AUROC / precision / length-stratified AUROC against defect labels.
- :mod:`dexsim.filtering.report`: CSV, histogram and contact-sheet artefacts.
- :mod:`dexsim.filtering.pipeline`: :func:`run_filter`, what ``dexsim filter`` runs.

Torch, timm, hdbscan and matplotlib come with the ``filter`` extra and are imported only where needed.
"""

from dexsim.filtering.config import FilterConfig, subset_name
from dexsim.filtering.pipeline import FilterResult, run_filter

__all__ = ["FilterConfig", "FilterResult", "run_filter", "subset_name"]
