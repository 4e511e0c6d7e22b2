"""DDS on loopback only, one DDS domain per test (parallel runs do not cross-talk), twin processes that always end."""

from __future__ import annotations

import os

import pytest

from dexsim.real.loopback import loopback_uri

from .twin_process import next_domain_id

# Read by cyclonedds when a domain is first joined (and inherited by the twins); always loopback in tests,
# whatever the caller's environment says. Every test joins a fresh domain id, and this run's discovery tag
# keeps it apart from concurrent runs that happen to pick the same domain ids.
os.environ["CYCLONEDDS_URI"] = loopback_uri(f"dexsim-tests-{os.getpid()}-{os.urandom(4).hex()}")


@pytest.fixture
def domain_id() -> int:
    """A DDS domain id that no other test of this run uses (1-231)."""
    return next_domain_id()
