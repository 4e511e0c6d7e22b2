"""Run ``dexsim twin`` in a separate process for a test (:func:`dexsim.real.loopback.twin_subprocess`)."""

from __future__ import annotations

import itertools
import os
import random
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from dexsim.real.loopback import twin_subprocess

LIFETIME_S = 90.0
"""A twin started by a test stops by itself after this long, whatever happens to the test."""

_domains = itertools.count(random.Random(os.getpid()).randrange(1, 200))


def next_domain_id() -> int:
    """A DDS domain id (1-231) not used before by this test process; the start depends on the pid."""
    return next(_domains) % 231 + 1


@contextmanager
def twin_process(domain_id: int, *extra: str) -> Iterator[subprocess.Popen[str]]:
    """``python -m dexsim.cli twin`` on ``domain_id``; stopped (killed if it hangs) on exit of the ``with`` block."""
    with twin_subprocess(domain_id, *extra, lifetime_s=LIFETIME_S) as process:
        yield process
