"""Recording demonstrations and reading them back for training (torch-free).

- :mod:`dexsim.data.schema`: per-frame keys and per-episode metadata.
- :mod:`dexsim.data.journal`: the append-only journal an episode is written to while recording.
- :mod:`dexsim.data.store`: the dataset directory (one zarr v3 group per episode), finalize, recovery.
- :mod:`dexsim.data.recorder`: ``start`` / ``add`` / ``stop`` / ``discard`` recording from any dexsim env.
- :mod:`dexsim.data.windows`: observation/prediction-horizon windows with edge padding.
- :mod:`dexsim.data.stats`: normalisation statistics.
- :mod:`dexsim.data.check`: integrity check.
- :mod:`dexsim.data.lerobot`: LeRobotDataset v3.0 export.
- :mod:`dexsim.data.collect`: scripted-expert collection in the sim.
"""

from dexsim.data.check import CheckReport, Problem, check_dataset
from dexsim.data.recorder import Recorder, record_episode
from dexsim.data.schema import LOW_DIM_KEYS, EpisodeMetadata, FrameSchema
from dexsim.data.stats import FeatureStats, compute_image_stats, compute_stats
from dexsim.data.store import DatasetError, DatasetStore, Episode, EpisodeSummary, IncompleteEpisode, read_concatenated
from dexsim.data.windows import WindowConfig, WindowDataset
from dexsim.interface import env_config

__all__ = [
    "CheckReport",
    "DatasetError",
    "DatasetStore",
    "Episode",
    "EpisodeMetadata",
    "EpisodeSummary",
    "FeatureStats",
    "FrameSchema",
    "IncompleteEpisode",
    "LOW_DIM_KEYS",
    "Problem",
    "Recorder",
    "WindowConfig",
    "WindowDataset",
    "check_dataset",
    "compute_image_stats",
    "compute_stats",
    "env_config",
    "read_concatenated",
    "record_episode",
]
