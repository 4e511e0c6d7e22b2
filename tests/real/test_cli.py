"""``dexsim operator``: events from the command line and from operator keys, read by a plain subscriber."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from dexsim.real.transport import QosSpec, open_transport

pytest.importorskip("cyclonedds")


def test_operator_keys_send_their_events(domain_id: int) -> None:
    words: list[str] = []
    with open_transport("cyclonedds", domain_id) as bus:
        bus.subscribe("/dexsim/operator", "std_msgs/String", QosSpec(), lambda m: words.append(str(m.data)))
        result = subprocess.run(
            [sys.executable, "-m", "dexsim.cli", "operator", "keys", "--domain-id", str(domain_id),
             "--transport", "cyclonedds", "--discovery-s", "1.0"],
            input="r\nx\ns\nq\ne\n", capture_output=True, text=True, timeout=60,
        )
        time.sleep(0.3)
    assert result.returncode == 0, result.stderr
    assert words == ["ready", "success"]  # 'x' is unknown, nothing after 'q'
    assert "unknown key 'x'" in result.stdout


def test_unknown_events_are_refused() -> None:
    result = subprocess.run([sys.executable, "-m", "dexsim.cli", "operator", "lid_off"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "operator event must be" in result.stderr


def test_operator_says_when_no_env_is_listening(domain_id: int) -> None:
    command = [sys.executable, "-m", "dexsim.cli", "operator", "success", "--domain-id", str(domain_id),
               "--transport", "cyclonedds", "--discovery-s", "0.5"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "sent" not in result.stdout
    assert f"nobody is listening on /dexsim/operator (DDS domain {domain_id})" in result.stderr
    words: list[str] = []
    with open_transport("cyclonedds", domain_id) as bus:
        bus.subscribe("/dexsim/operator", "std_msgs/String", QosSpec(), lambda m: words.append(str(m.data)))
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        time.sleep(0.3)
    assert result.returncode == 0, result.stderr
    assert "sent 'success' on /dexsim/operator to 1 listener" in result.stdout and words == ["success"]
