"""Subprocess body of the SIGKILL test: record complete episodes, then hang mid-episode until killed."""

import sys
import time

import numpy as np
from synthetic_episodes import SMALL_CONFIG, record_synthetic, synthetic_observation

from dexsim.data import DatasetStore, EpisodeMetadata, FrameSchema, Recorder

root, complete, partial = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recorder = Recorder(DatasetStore.create(root, FrameSchema.from_config(SMALL_CONFIG)), SMALL_CONFIG)
for seed in range(complete):
    record_synthetic(recorder, 30, seed)
rng = np.random.default_rng(99)
recorder.start(EpisodeMetadata(seed=99, operator="crash"))
for frame in range(partial):
    recorder.add(synthetic_observation(rng, SMALL_CONFIG, frame), np.full(16, frame * 1e-3, np.float32))
print("READY", flush=True)
time.sleep(60)
