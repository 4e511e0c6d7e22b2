"""What our writers put on the wire, as a ROS 2 node would receive it.

Readers here are plain cyclonedds participants on the ROS topic names (not our transport), and the bytes are
checked against CDR encoded by hand from the ROS 2 ``.msg`` definitions: little-endian classic CDR (encapsulation
``00 01``), 8-byte alignment for float64, which is what ROS 2 RMWs exchange. No ``from __future__ import
annotations``: cyclonedds reads the annotations.
"""

import time

import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from cyclonedds.core import Qos  # noqa: E402
from cyclonedds.domain import DomainParticipant  # noqa: E402
from cyclonedds.sub import DataReader  # noqa: E402
from cyclonedds.topic import Topic  # noqa: E402

from dexsim.hand import JOINT_NAMES  # noqa: E402
from dexsim.real import messages  # noqa: E402
from dexsim.real.config import HardwareConfig  # noqa: E402
from dexsim.real.images import fill_raw_image  # noqa: E402
from dexsim.real.transport import QosSpec, open_transport  # noqa: E402
from dexsim.real.wire import fill_command  # noqa: E402

_CDR_LE = b"\x00\x01\x00\x00"


def _u32(*values: int) -> bytes:
    return np.array(values, "<u4").tobytes()


def _first_sample(reader: DataReader, publish: object, wanted: type) -> object:
    """Publish until the independent reader has a sample (discovery takes a moment); that sample."""
    for _ in range(100):
        publish()
        time.sleep(0.02)
        for sample in reader.take(N=8):
            if isinstance(sample, wanted):
                return sample
    raise AssertionError(f"no {wanted.__name__} reached the independent reader")


def test_position_commands_arrive_thumb_first_as_the_ros2_controller_expects(domain_id: int) -> None:
    config = HardwareConfig(domain_id=domain_id)
    targets = 0.01 * np.arange(16)  # Allegro order: index_0 = 0.00 ... thumb_3 = 0.15
    with open_transport("cyclonedds", domain_id) as transport:
        publisher = transport.publisher(config.command_topic, config.command_type, QosSpec())
        participant = DomainParticipant(domain_id)
        topic = Topic(participant, "rt/allegro_hand_position_controller/commands", messages.Float64MultiArray)
        reader = DataReader(participant, topic, qos=Qos())
        sample = _first_sample(
            reader,
            lambda: publisher.publish(fill_command(transport.message(config.command_type), config, targets)),
            messages.Float64MultiArray,
        )
    # ah_joint00..03 (thumb) first, then index, middle, ring, as the controller's joint list
    allegro = {name: i for i, name in enumerate(JOINT_NAMES)}
    expected = [targets[allegro[f"{finger}_{j}"]] for finger in ("thumb", "index", "middle", "ring") for j in range(4)]
    np.testing.assert_allclose(sample.data, expected)


def test_raw_camera_frames_are_standard_rgb8_images(domain_id: int) -> None:
    frame = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    with open_transport("cyclonedds", domain_id) as transport:
        publisher = transport.publisher("/top_camera/image_raw", "sensor_msgs/Image", QosSpec())
        participant = DomainParticipant(domain_id)
        topic = Topic(participant, "rt/top_camera/image_raw", messages.Image)
        reader = DataReader(participant, topic, qos=Qos())
        sample = _first_sample(
            reader,
            lambda: publisher.publish(fill_raw_image(transport.message("sensor_msgs/Image"), frame)),
            messages.Image,
        )
    assert (sample.height, sample.width, sample.encoding, sample.step, sample.is_bigendian) == (6, 5, "rgb8", 15, 0)
    np.testing.assert_array_equal(np.asarray(sample.data, np.uint8).reshape(6, 5, 3), frame)


def test_float64_multi_array_and_image_bytes_match_hand_encoded_cdr() -> None:
    command = messages.Float64MultiArray(
        layout=messages.MultiArrayLayout(dim=[messages.MultiArrayDimension("joints", 16, 16)], data_offset=2),
        data=[0.5, -1.25],
    )
    expected = (
        _CDR_LE + _u32(1) + _u32(7) + b"joints\x00" + b"\x00" + _u32(16, 16) + _u32(2)  # dim[], data_offset
        + _u32(2) + np.array([0.5, -1.25], "<f8").tobytes()  # data[] (its float64s start 8-byte aligned)
    )
    assert command.serialize() == expected
    bare = messages.Float64MultiArray(data=[0.5])  # data[] length at body offset 8: 4 bytes of padding follow
    assert bare.serialize() == _CDR_LE + _u32(0, 0, 1) + b"\x00" * 4 + np.array([0.5], "<f8").tobytes()
    image = messages.Image(header=messages.Header(messages.Time(1, 2), "top_camera"), height=1, width=2,
                           encoding="bgr8", is_bigendian=0, step=6, data=list(range(6)))
    expected = (
        _CDR_LE + np.array([1], "<i4").tobytes() + _u32(2) + _u32(11) + b"top_camera\x00" + b"\x00"  # header
        + _u32(1, 2) + _u32(5) + b"bgr8\x00" + b"\x00" + b"\x00" * 2  # height, width, encoding, is_bigendian
        + _u32(6) + _u32(6) + bytes(range(6))  # step, data[]
    )
    assert image.serialize() == expected
