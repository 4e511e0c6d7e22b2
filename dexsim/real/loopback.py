"""Rehearsing on one machine: cyclonedds pinned to loopback and ``dexsim twin`` run as a child process.

Tests and benchmarks use these to put the real env and the twin on the same wire without touching the network;
they are as useful for a dry run before a hardware session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

__all__ = ["LOOPBACK_CYCLONEDDS_URI", "loopback_uri", "use_loopback", "twin_subprocess"]


def loopback_uri(discovery_tag: str = "") -> str:
    """A ``CYCLONEDDS_URI`` that keeps cyclonedds on 127.0.0.1 (discovery and data never leave the machine).

    With a ``discovery_tag`` only participants with the same tag discover each other, even on the same domain
    id: give each concurrent test run its own tag and parallel runs cannot cross-talk.
    """
    if discovery_tag and not discovery_tag.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"discovery tag must be letters, digits, '-' or '_', got {discovery_tag!r}")
    discovery = f"<Discovery><Tag>{discovery_tag}</Tag></Discovery>" if discovery_tag else ""
    return (
        '<CycloneDDS><Domain><General><Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces>'
        f"</General>{discovery}</Domain></CycloneDDS>"
    )


LOOPBACK_CYCLONEDDS_URI: Final = loopback_uri()
""":func:`loopback_uri` without a discovery tag."""


def use_loopback() -> None:
    """Set ``CYCLONEDDS_URI`` to :data:`LOOPBACK_CYCLONEDDS_URI` unless the caller already chose one.

    cyclonedds reads it when a process first joins a domain, so call this before opening any transport; child
    processes inherit it.
    """
    os.environ.setdefault("CYCLONEDDS_URI", LOOPBACK_CYCLONEDDS_URI)


@contextmanager
def twin_subprocess(domain_id: int, *extra_args: str, lifetime_s: float = 90.0, stop_timeout_s: float = 5.0,
                    capture_output: bool = True) -> Iterator[subprocess.Popen[str]]:
    """``python -m dexsim.cli twin`` on ``domain_id`` (cyclonedds) for the ``with`` block.

    The twin stops by itself after ``lifetime_s`` whatever happens to the caller; on leaving the block it gets
    SIGINT (a clean stop) and is killed if it has not ended within ``stop_timeout_s``. ``extra_args`` go to
    ``dexsim twin`` (e.g. ``"--hardware", "classic"``). With ``capture_output`` its stdout and stderr are piped
    into ``process.stdout`` (read them inside the block, e.g. with ``process.communicate()`` after stopping it;
    the pipe is closed on leaving); otherwise they are discarded.
    """
    command = [sys.executable, "-m", "dexsim.cli", "twin", "--domain-id", str(domain_id), "--transport",
               "cyclonedds", "--duration", str(lifetime_s), *extra_args]
    output = subprocess.PIPE if capture_output else subprocess.DEVNULL
    environment = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True, env=environment)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=stop_timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=stop_timeout_s)
        if process.stdout is not None:
            process.stdout.close()
