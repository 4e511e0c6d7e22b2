"""DDS on loopback only, one DDS domain per test (parallel runs do not cross-talk), twin processes that always end."""

from __future__ import annotations

import os

import pytest
from twin_process import next_domain_id

# Read by cyclonedds when a domain is first joined; every test joins a fresh domain id.
os.environ["CYCLONEDDS_URI"] = (
    "<CycloneDDS><Domain><General><Interfaces><NetworkInterface address=\"127.0.0.1\"/></Interfaces>"
    "</General></Domain></CycloneDDS>"
)


@pytest.fixture
def domain_id() -> int:
    """A DDS domain id that no other test of this run uses (1-231)."""
    return next_domain_id()
