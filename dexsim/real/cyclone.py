"""The ``cyclonedds`` transport: ROS 2 topics over plain DDS, without ROS.

ROS 2 maps the topic ``/name`` to the DDS topic ``rt/name`` and the type ``pkg/msg/Name`` to
``pkg::msg::dds_::Name_``; with the message structs of :mod:`dexsim.real.messages` a ROS 2 node on the same
domain sees these topics as its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cyclonedds.core import Listener, Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from dexsim.real.messages import MESSAGE_TYPES
from dexsim.real.transport import QosSpec, Transport

__all__ = ["CycloneTransport", "dds_topic_name"]


def dds_topic_name(topic: str) -> str:
    """The DDS topic of ROS topic ``topic``: ``/joint_states`` -> ``rt/joint_states``."""
    name = topic.strip()
    if not name or name == "/" or " " in name:
        raise ValueError(f"invalid ROS topic name {topic!r}")
    return "rt/" + name.lstrip("/")


def _dds_qos(qos: QosSpec) -> Qos:
    reliability = (
        Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100))
        if qos.reliability == "reliable"
        else Policy.Reliability.BestEffort
    )
    durability = Policy.Durability.TransientLocal if qos.durability == "transient_local" else Policy.Durability.Volatile
    return Qos(reliability, durability, Policy.History.KeepLast(int(qos.depth)))


def _message_type(type_name: str) -> type[Any]:
    try:
        return MESSAGE_TYPES[type_name]
    except KeyError:
        raise ValueError(f"unsupported message type {type_name!r}; known: {sorted(MESSAGE_TYPES)}") from None


class _Writer:
    def __init__(self, writer: DataWriter, lock: threading.Lock) -> None:
        self._writer = writer
        self._lock = lock

    def publish(self, message: Any) -> None:
        with self._lock:
            self._writer.write(message)

    def subscriber_count(self) -> int:
        """Readers of this topic matched so far (discovered, with compatible QoS)."""
        return len(self._writer.get_matched_subscriptions())


class _ReaderDelivery:
    """Hands a reader's samples to ``callback``, also those that arrive before the reader is registered.

    cyclonedds may call ``on_data_available`` while the ``DataReader`` constructor is still running, passing
    ``None`` for the reader; the data then waits in the reader, and without another sample nothing would call
    the listener again (a one-off operator event would sit unread). So a call without a reader is remembered and
    :meth:`attach` takes whatever arrived in the meantime.
    """

    _BATCH = 64

    def __init__(self, message_type: type[Any], callback: Callable[[Any], None], closed: Callable[[], bool]) -> None:
        self._message_type = message_type
        self._callback = callback
        self._closed = closed
        self._reader: DataReader | None = None
        self._lock = threading.Lock()  # one taker at a time keeps the samples in order

    def on_data_available(self, reader: DataReader | None) -> None:
        """The listener callback; ``reader`` may be ``None`` before :meth:`attach`."""
        self._take(reader if reader is not None else self._reader)

    def attach(self, reader: DataReader) -> None:
        """The reader is created: deliver what arrived while it was being registered."""
        self._reader = reader
        self._take(reader)

    def _take(self, reader: DataReader | None) -> None:
        if reader is None:
            return  # attach() takes it
        with self._lock:
            while True:
                samples = reader.take(N=self._BATCH)
                for sample in samples:
                    if not self._closed() and isinstance(sample, self._message_type):  # skip disposals
                        self._callback(sample)
                if len(samples) < self._BATCH:
                    return


class CycloneTransport(Transport):
    """A DDS participant on ``domain_id``; the network interface comes from ``CYCLONEDDS_URI`` as usual."""

    kind = "cyclonedds"

    def __init__(self, domain_id: int = 0) -> None:
        self.domain_id = int(domain_id)
        self._participant: DomainParticipant | None = DomainParticipant(self.domain_id)
        self._topics: dict[str, tuple[Topic, type[Any]]] = {}
        self._entities: list[Any] = []
        self._closed = False
        self._lock = threading.Lock()

    def _open_participant(self) -> DomainParticipant:
        if self._participant is None:
            raise RuntimeError("transport is closed")
        return self._participant

    def _topic(self, topic: str, type_name: str) -> Topic:
        participant = self._open_participant()
        name = dds_topic_name(topic)
        message_type = _message_type(type_name)
        if name not in self._topics:
            self._topics[name] = (Topic(participant, name, message_type), message_type)
        existing, existing_type = self._topics[name]
        if existing_type is not message_type:
            raise ValueError(f"topic {topic} is already used with another type than {type_name}")
        return existing

    def message(self, type_name: str) -> Any:
        return _message_type(type_name)()

    def publisher(self, topic: str, type_name: str, qos: QosSpec) -> _Writer:
        writer = DataWriter(self._open_participant(), self._topic(topic, type_name), qos=_dds_qos(qos))
        self._entities.append(writer)
        return _Writer(writer, threading.Lock())

    def subscribe(self, topic: str, type_name: str, qos: QosSpec, callback: Callable[[Any], None]) -> None:
        message_type = _message_type(type_name)
        delivery = _ReaderDelivery(message_type, callback, lambda: self._closed)
        reader = DataReader(
            self._open_participant(),
            self._topic(topic, type_name),
            qos=_dds_qos(qos),
            listener=Listener(on_data_available=delivery.on_data_available),
        )
        self._entities.append(reader)
        delivery.attach(reader)

    def close(self) -> None:
        """Delete the participant and everything it owns."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for entity in reversed(self._entities):
                entity.__del__()  # dds_delete now, not whenever the garbage collector runs
            self._entities.clear()
            self._topics.clear()
            if self._participant is not None:
                self._participant.__del__()
            self._participant = None
