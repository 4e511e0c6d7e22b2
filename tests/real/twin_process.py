"""Run ``dexsim twin`` in a separate process for a test, and make sure it ends."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LIFETIME_S = 90.0
"""A twin started by a test stops by itself after this long, whatever happens to the test."""

_domains = itertools.count(random.Random(os.getpid()).randrange(1, 200))


def next_domain_id() -> int:
    """A DDS domain id (1-231) not used before by this test process; the start depends on the pid."""
    return next(_domains) % 231 + 1


@contextmanager
def twin_process(domain_id: int, *extra: str) -> Iterator[subprocess.Popen[str]]:
    """``python -m dexsim.cli twin`` on ``domain_id``; killed on exit of the ``with`` block."""
    command = [sys.executable, "-m", "dexsim.cli", "twin", "--domain-id", str(domain_id),
               "--duration", str(LIFETIME_S), "--transport", "cyclonedds", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")})
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
