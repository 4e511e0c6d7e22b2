"""DDS on loopback only, one DDS domain per test (parallel runs do not cross-talk), twin processes that always end."""

from __future__ import annotations

import os

import pytest
from twin_process import next_domain_id

from dexsim.real.loopback import LOOPBACK_CYCLONEDDS_URI

# Read by cyclonedds when a domain is first joined (and inherited by the twins); always loopback in tests,
# whatever the caller's environment says. Every test joins a fresh domain id.
os.environ["CYCLONEDDS_URI"] = LOOPBACK_CYCLONEDDS_URI


@pytest.fixture
def domain_id() -> int:
    """A DDS domain id that no other test of this run uses (1-231)."""
    return next_domain_id()
