"""Train a tiny policy and SIGKILL this process after step N (no clean-up of any kind), for the resume test.

Usage: _killed_training.py DATASET RUN_DIR KILL_AFTER_STEP [section.key=value ...]
"""

import os
import signal
import sys

import torch._dynamo  # noqa: F401

from dexsim.policy.training import train_policy
from policy.conftest import tiny_config


def main() -> None:
    data, run_dir, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = tiny_config(("top",)).with_overrides(sys.argv[4:])

    def maybe_kill(step: int, loss: float) -> None:
        if step == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    train_policy(config, data, run_dir, progress=False, on_step=maybe_kill)


if __name__ == "__main__":
    main()
