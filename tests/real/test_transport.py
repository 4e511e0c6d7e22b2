"""Transport selection and the error on a machine with neither rclpy nor cyclonedds."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from dexsim.real.transport import QosSpec, available_transports, open_transport


def test_gym_make_without_any_transport_says_what_to_install() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["cyclonedds"] = None  # as if neither package were installed
        sys.modules["rclpy"] = None
        import gymnasium as gym
        import dexsim
        try:
            gym.make("AllegroUnscrew-real")
        except ImportError as exc:
            print(type(exc).__name__, exc)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "MissingTransportError" in result.stdout
    assert "pip install 'dexsim[real]'" in result.stdout and "rclpy" in result.stdout


def test_requesting_an_absent_transport_or_a_bad_domain_fails_clearly() -> None:
    if "rclpy" not in available_transports():
        with pytest.raises(ImportError, match="'rclpy' is not installed"):
            open_transport("rclpy")
    with pytest.raises(ValueError, match="domain id"):
        open_transport("auto", domain_id=300)
    with pytest.raises(ValueError, match="transport must be"):
        open_transport("zenoh")
    with pytest.raises(ValueError, match="reliability"):
        QosSpec(reliability="sometimes")


def test_cyclonedds_round_trip_on_a_ros_topic(domain_id: int) -> None:
    pytest.importorskip("cyclonedds")
    from dexsim.real.transport import LatestMessage

    with open_transport("cyclonedds", domain_id) as a, open_transport("cyclonedds", domain_id) as b:
        latest = LatestMessage()
        b.subscribe("/dexsim/operator", "std_msgs/String", QosSpec(), latest.store)
        publisher = a.publisher("/dexsim/operator", "std_msgs/String", QosSpec())
        message = a.message("std_msgs/String")
        message.data = "ready 1"
        for _ in range(50):
            publisher.publish(message)
            if latest.wait_newer(0, 0.1):
                break
        assert latest.get()[0].data == "ready 1"
        with pytest.raises(ValueError, match="unsupported message type"):
            a.publisher("/x", "geometry_msgs/Pose", QosSpec())


def test_cyclonedds_delivers_data_that_arrived_before_the_reader_was_registered(domain_id: int) -> None:
    """cyclonedds may call on_data_available with None while the reader is being created: nothing may be lost."""
    pytest.importorskip("cyclonedds")
    from cyclonedds.sub import DataReader

    from dexsim.real.cyclone import CycloneTransport, _dds_qos, _ReaderDelivery
    from dexsim.real.messages import MESSAGE_TYPES

    latched = QosSpec(reliability="reliable", durability="transient_local", depth=10)
    with CycloneTransport(domain_id) as a, CycloneTransport(domain_id) as b:
        publisher = a.publisher("/dexsim/operator", "std_msgs/String", latched)
        message = a.message("std_msgs/String")
        message.data = "success"
        publisher.publish(message)  # a one-off event, before anyone listens

        received: list[str] = []
        delivery = _ReaderDelivery(MESSAGE_TYPES["std_msgs/String"], lambda m: received.append(m.data), lambda: False)
        reader = DataReader(b._open_participant(), b._topic("/dexsim/operator", "std_msgs/String"),  # noqa: SLF001
                            qos=_dds_qos(latched))
        for _ in range(100):  # the historical sample reaches the reader
            if reader.read(N=1):
                break
            time.sleep(0.02)
        delivery.on_data_available(None)  # the early callback: must neither raise nor drop the sample
        assert received == []
        delivery.attach(reader)
        assert received == ["success"]

        late: list[str] = []  # through the transport API: a latched event published before subscribing arrives
        b.subscribe("/dexsim/operator", "std_msgs/String", latched, lambda m: late.append(m.data))
        for _ in range(100):
            if late:
                break
            time.sleep(0.02)
        assert late == ["success"]
        del reader
