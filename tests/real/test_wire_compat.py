"""What our writers put on the wire, read back by an independent ROS 2-compatible DDS program.

The structs below are a second, separate transcription of the ROS 2 ``.msg`` definitions (as any ROS 2 node's
generated types are); a reader built on them is how the Allegro driver's ForwardCommandController or an image
viewer would see our messages. No ``from __future__ import annotations``: cyclonedds reads the annotations.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from cyclonedds.core import Qos  # noqa: E402
from cyclonedds.domain import DomainParticipant  # noqa: E402
from cyclonedds.idl import IdlStruct  # noqa: E402
from cyclonedds.idl.types import float64, int32, sequence, uint8, uint32  # noqa: E402
from cyclonedds.sub import DataReader  # noqa: E402
from cyclonedds.topic import Topic  # noqa: E402

from dexsim.hand import JOINT_NAMES  # noqa: E402
from dexsim.real import messages  # noqa: E402
from dexsim.real.config import HardwareConfig  # noqa: E402
from dexsim.real.images import fill_raw_image  # noqa: E402
from dexsim.real.transport import QosSpec, open_transport  # noqa: E402
from dexsim.real.wire import fill_command  # noqa: E402


@dataclass
class _Dim(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayDimension_"):
    label: str = ""
    size: uint32 = 0
    stride: uint32 = 0


@dataclass
class _Layout(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayLayout_"):
    dim: sequence[_Dim] = field(default_factory=list)
    data_offset: uint32 = 0


@dataclass
class _Float64Array(IdlStruct, typename="std_msgs::msg::dds_::Float64MultiArray_"):
    layout: _Layout = field(default_factory=_Layout)
    data: sequence[float64] = field(default_factory=list)


@dataclass
class _Stamp(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32 = 0
    nanosec: uint32 = 0


@dataclass
class _Head(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: _Stamp = field(default_factory=_Stamp)
    frame_id: str = ""


@dataclass
class _Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    header: _Head = field(default_factory=_Head)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)


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
        topic = Topic(participant, "rt/allegro_hand_position_controller/commands", _Float64Array)
        reader = DataReader(participant, topic, qos=Qos())
        sample = _first_sample(
            reader,
            lambda: publisher.publish(fill_command(transport.message(config.command_type), config, targets)),
            _Float64Array,
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
        reader = DataReader(participant, Topic(participant, "rt/top_camera/image_raw", _Image), qos=Qos())
        sample = _first_sample(
            reader, lambda: publisher.publish(fill_raw_image(transport.message("sensor_msgs/Image"), frame)), _Image
        )
    assert (sample.height, sample.width, sample.encoding, sample.step, sample.is_bigendian) == (6, 5, "rgb8", 15, 0)
    np.testing.assert_array_equal(np.asarray(sample.data, np.uint8).reshape(6, 5, 3), frame)


def test_our_structs_serialize_to_the_same_bytes_as_an_independent_transcription() -> None:
    ours = messages.Float64MultiArray(
        layout=messages.MultiArrayLayout(dim=[messages.MultiArrayDimension("joints", 16, 16)], data_offset=2),
        data=[0.5, -1.25],
    )
    theirs = _Float64Array(layout=_Layout(dim=[_Dim("joints", 16, 16)], data_offset=2), data=[0.5, -1.25])
    assert ours.serialize() == theirs.serialize()
    image = messages.Image(header=messages.Header(messages.Time(1, 2), "top_camera"), height=1, width=2,
                           encoding="bgr8", is_bigendian=0, step=6, data=list(range(6)))
    other = _Image(header=_Head(_Stamp(1, 2), "top_camera"), height=1, width=2, encoding="bgr8", is_bigendian=0,
                   step=6, data=list(range(6)))
    assert image.serialize() == other.serialize()
