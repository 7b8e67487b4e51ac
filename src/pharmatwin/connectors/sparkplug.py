"""Sparkplug B topics, control metrics, and how a metric is named in the historian.

Topic namespace (Sparkplug 3.0.0, section 4.1): ``spBv1.0/{group_id}/{message_type}/
{edge_node_id}[/{device_id}]``, and ``spBv1.0/STATE/{host_id}`` for a host application's state
(4.1.3). Group, edge node and device ids must be non-empty UTF-8 without ``+``, ``/`` or ``#``
(4.1.1). Metric times are milliseconds since the Unix epoch, UTC (6.4.1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pharmatwin.connectors.sparkplug_proto import DataType, Payload, encode_payload, scalar_metric
from pharmatwin.historian.records import EPOCH, to_us

NAMESPACE = "spBv1.0"
BDSEQ = "bdSeq"
"""Birth/death sequence metric: the NDEATH (will) carries the bdSeq of its NBIRTH."""
REBIRTH = "Node Control/Rebirth"
"""The NCMD metric by which a host asks an edge node to publish its births again."""
CONTROL_PREFIXES = ("Node Control/", "Device Control/", "Properties/")


class MessageType(StrEnum):
    """Sparkplug message types (section 6.2)."""

    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    NDATA = "NDATA"
    DDATA = "DDATA"
    NCMD = "NCMD"
    DCMD = "DCMD"
    STATE = "STATE"


DEVICE_TYPES = frozenset(
    {MessageType.DBIRTH, MessageType.DDEATH, MessageType.DDATA, MessageType.DCMD}
)


class TopicError(ValueError):
    """A topic that is not in the Sparkplug B namespace, naming the part that is wrong."""


def _check_id(what: str, value: str) -> None:
    if not value:
        raise TopicError(f"{what}: empty")
    bad = [c for c in "+/#" if c in value]
    if bad:
        raise TopicError(f"{what} {value!r}: must not contain {' '.join(bad)}")


@dataclass(frozen=True)
class Topic:
    """A Sparkplug topic. For ``STATE`` the host id is ``edge_node_id`` and ``group_id`` is
    empty; device message types carry a ``device_id``, node message types do not."""

    group_id: str
    message_type: MessageType
    edge_node_id: str
    device_id: str | None = None

    def __post_init__(self) -> None:
        if self.message_type == MessageType.STATE:
            if self.group_id or self.device_id is not None:
                raise TopicError("STATE topic: only a host id, spBv1.0/STATE/{host_id}")
            _check_id("host_id", self.edge_node_id)
            return
        _check_id("group_id", self.group_id)
        _check_id("edge_node_id", self.edge_node_id)
        if self.message_type in DEVICE_TYPES:
            if self.device_id is None:
                raise TopicError(f"{self.message_type}: a device_id is required")
            _check_id("device_id", self.device_id)
        elif self.device_id is not None:
            raise TopicError(f"{self.message_type}: a node message has no device_id")

    @property
    def text(self) -> str:
        """The MQTT topic string."""
        if self.message_type == MessageType.STATE:
            return f"{NAMESPACE}/STATE/{self.edge_node_id}"
        parts = [NAMESPACE, self.group_id, str(self.message_type), self.edge_node_id]
        if self.device_id is not None:
            parts.append(self.device_id)
        return "/".join(parts)

    @property
    def node(self) -> tuple[str, str]:
        """(group_id, edge_node_id): the key of an edge node's session."""
        return self.group_id, self.edge_node_id

    @property
    def source(self) -> str:
        """``group/node[/device]``, used in events and quarantine records."""
        tail = f"/{self.device_id}" if self.device_id is not None else ""
        return f"{self.group_id}/{self.edge_node_id}{tail}"


def parse_topic(text: str) -> Topic:
    """The ``Topic`` of an MQTT topic string; ``TopicError`` saying what is wrong."""
    parts = text.split("/")
    if parts[0] != NAMESPACE:
        raise TopicError(f"topic {text!r}: does not start with {NAMESPACE}/")
    if len(parts) == 3 and parts[1] == "STATE":
        return Topic("", MessageType.STATE, parts[2])
    if len(parts) not in (4, 5):
        raise TopicError(
            f"topic {text!r}: expected spBv1.0/group_id/message_type/edge_node_id[/device_id]"
        )
    try:
        kind = MessageType(parts[2])
    except ValueError:
        raise TopicError(f"topic {text!r}: unknown message type {parts[2]!r}") from None
    try:
        return Topic(parts[1], kind, parts[3], parts[4] if len(parts) == 5 else None)
    except TopicError as exc:
        raise TopicError(f"topic {text!r}: {exc}") from None


def is_control_metric(name: str) -> bool:
    """True for session bookkeeping metrics (bdSeq, Node/Device Control, Properties) that are
    not process values."""
    return name == BDSEQ or name.startswith(CONTROL_PREFIXES)


@dataclass(frozen=True)
class MetricSource:
    """Where a metric came from. ``key`` is ``{device_id}/{metric}`` for a device metric and
    ``{edge_node_id}/{metric}`` for a node metric (the key of a dict tag map)."""

    group_id: str
    edge_node_id: str
    device_id: str | None
    name: str

    @property
    def key(self) -> str:
        owner = self.device_id if self.device_id is not None else self.edge_node_id
        return f"{owner}/{self.name}"


TagMapping = Mapping[str, str] | Callable[[MetricSource], str | None]
"""Metric -> historian tag: a dict keyed by ``MetricSource.key`` or a function (``None``:
no tag)."""


def default_tag(source: MetricSource) -> str:
    """``{device_id}.{metric name}`` (``{edge_node_id}.`` for node metrics), '/' -> '.'."""
    return source.key.replace("/", ".")


def resolve_tag(mapping: TagMapping | None, source: MetricSource) -> str | None:
    """The historian tag of ``source`` under ``mapping`` (``default_tag`` when ``None``)."""
    if mapping is None:
        return default_tag(source)
    if isinstance(mapping, Mapping):
        return mapping.get(source.key)
    return mapping(source)


def from_ms(ms: int) -> datetime:
    """The UTC time ``ms`` milliseconds after the Unix epoch."""
    return EPOCH + timedelta(milliseconds=ms)


def to_ms(time: datetime) -> int:
    """Milliseconds since the Unix epoch of a timezone-aware time (truncated)."""
    return to_us(time) // 1000


def rebirth_request(group_id: str, edge_node_id: str, now: datetime) -> tuple[str, bytes]:
    """(topic, payload) of the NCMD asking an edge node to publish its births again."""
    topic = Topic(group_id, MessageType.NCMD, edge_node_id).text
    metric = scalar_metric(REBIRTH, DataType.Boolean, True, timestamp=to_ms(now))
    return topic, encode_payload(Payload(timestamp=to_ms(now), metrics=(metric,)))
