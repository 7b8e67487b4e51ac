"""OPC UA node references, data values as historian records, monitored items, history reads.

A node reference is one of:

- a NodeId string, OPC UA Part 6 §5.3.1.10: ``"ns=2;s=BR01.TT101.PV"``, ``"i=2258"``;
- the same with a namespace URI instead of an index, ``"nsu=urn:plant;s=BR01.TT101.PV"``
  (the index is looked up in the server's NamespaceArray at connect time);
- a browse path from the Root node in the RelativePath text form of Part 4 Annex A.2,
  starting with ``/``: ``"/0:Objects/2:BR01/2:TT101&.PV"`` (``&`` escapes ``.`` and ``/``).

A DataValue (Part 4 §7.11) becomes a ``Sample``: SourceTimestamp is the sample time,
ServerTimestamp the time the value became available, the StatusCode severity (Part 4 §7.39,
top two bits) the quality byte. The server's timestamps are kept as sent: they are the plant's
clock, which may be a virtual one; this machine's clock is never substituted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from asyncua import ua
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaStatusCodeError

from pharmatwin.historian.records import QUALITY_GOOD, QUALITY_UNCERTAIN, Quarantined, Sample

if TYPE_CHECKING:
    from asyncua.client.client import Client
    from asyncua.common.node import Node

QUALITY_BAD = 0
"""OPC UA Bad, as its legacy quality byte."""

MONITORED_QUEUE = 1000
"""Values the server keeps per monitored item between two publishes (Part 4 §5.12.1.5)."""

_NO_TIME = datetime(1601, 1, 2, tzinfo=UTC)
"""OPC UA DateTime 0 (1601-01-01) means "not set" (Part 6 §5.2.2.5); anything before this too."""

_NO_HISTORY = frozenset(
    getattr(StatusCodes, name)
    for name in (
        "BadHistoryOperationUnsupported",
        "BadHistoryOperationInvalid",
        "BadNotReadable",
        "BadNotSupported",
        "BadNotImplemented",
        "BadServiceUnsupported",
        "BadUserAccessDenied",
        "BadNodeIdUnknown",
    )
)


class OpcUaConfigError(ValueError):
    """A connector setting that is missing or malformed."""


class NodeRefError(OpcUaConfigError):
    """A node reference that cannot be parsed or resolved."""


class NoHistoryError(Exception):
    """The server keeps no history of a node; the message says how it told us."""


@dataclass(frozen=True)
class NodeRef:
    """A parsed node reference: exactly one of ``node_id``, ``namespace_uri`` or ``path``."""

    text: str
    node_id: ua.NodeId | None = None
    namespace_uri: str = ""
    path: ua.RelativePath | None = None


def parse_node_ref(text: str, tag: str = "") -> NodeRef:
    """Parse a node reference; raises ``NodeRefError`` naming the tag and the problem."""
    where = f"nodes[{text!r}] (tag {tag!r})" if tag else f"node {text!r}"
    if not isinstance(text, str) or not text.strip():
        raise NodeRefError(f"{where}: an empty node reference")
    if text.startswith("/"):
        try:
            return NodeRef(text, path=ua.RelativePath.from_string(text))
        except Exception as exc:  # asyncua raises several types for a malformed path
            raise NodeRefError(f"{where}: not a browse path (Part 4 Annex A.2): {exc}") from exc
    try:
        parsed = ua.NodeId.from_string(text)
    except Exception as exc:  # UaStringParsingError, ValueError, binascii errors
        raise NodeRefError(f"{where}: not a node id like 'ns=2;s=Name': {exc}") from exc
    if isinstance(parsed, ua.ExpandedNodeId) and parsed.NamespaceUri:
        plain = ua.NodeId(parsed.Identifier, ua.Int16(0), parsed.NodeIdType)
        return NodeRef(text, node_id=plain, namespace_uri=parsed.NamespaceUri)
    return NodeRef(
        text, node_id=ua.NodeId(parsed.Identifier, parsed.NamespaceIndex, parsed.NodeIdType)
    )


def parse_nodes(nodes: dict[str, str]) -> dict[str, NodeRef]:
    """Parse a node reference -> tag mapping into tag -> reference; each tag once."""
    if not nodes:
        raise OpcUaConfigError("nodes: at least one node reference -> tag is required")
    refs: dict[str, NodeRef] = {}
    for ref, tag in nodes.items():
        if not isinstance(tag, str) or not tag:
            raise OpcUaConfigError(f"nodes[{ref!r}]: the tag must be a non-empty string")
        if tag in refs:
            raise OpcUaConfigError(f"nodes[{ref!r}]: tag {tag!r} is mapped twice")
        refs[tag] = parse_node_ref(ref, tag)
    return refs


def check_since(since: dict[str, datetime], tags: set[str]) -> dict[str, datetime]:
    """Validate tag -> last stored time (timezone-aware, a known tag); the times in UTC."""
    checked: dict[str, datetime] = {}
    for tag, time in since.items():
        if tag not in tags:
            raise OpcUaConfigError(f"since[{tag!r}]: not one of the tags in nodes")
        if not isinstance(time, datetime) or time.tzinfo is None:
            raise OpcUaConfigError(f"since[{tag!r}]: a timezone-aware datetime is required")
        checked[tag] = time.astimezone(UTC)
    return checked


async def resolve_node(client: Client, ref: NodeRef) -> Node:
    """The server's node for a reference (namespace URI or browse path looked up now)."""
    if ref.path is not None:
        root = client.nodes.root
        try:
            return await root.get_child(ref.text)
        except UaStatusCodeError as exc:
            raise NodeRefError(f"node {ref.text!r}: browse path not found ({exc})") from exc
    if ref.node_id is None:
        raise NodeRefError(f"node {ref.text!r}: neither a node id nor a browse path")
    if not ref.namespace_uri:
        return client.get_node(ref.node_id)
    namespaces = await client.get_namespace_array()
    if ref.namespace_uri not in namespaces:
        raise NodeRefError(f"node {ref.text!r}: namespace {ref.namespace_uri!r} not on the server")
    index = namespaces.index(ref.namespace_uri)
    return client.get_node(
        ua.NodeId(ref.node_id.Identifier, ua.Int16(index), ref.node_id.NodeIdType)
    )


async def has_history(node: Node) -> bool:
    """Whether the node's AccessLevel has the HistoryRead bit (Part 3 §5.6.2, Part 3 §8.57)."""
    value = await node.read_attribute(AttributeIds.AccessLevel, raise_on_bad_status=False)
    if value.StatusCode is not None and not value.StatusCode.is_good():
        return False
    if value.Value is None or not isinstance(value.Value.Value, int):
        return False
    return bool(value.Value.Value & ua.AccessLevel.HistoryRead.mask)


async def read_history(node: Node, start: datetime, end: datetime) -> list[ua.DataValue]:
    """Raw history of a node from ``start`` to ``end`` (Part 11 §6.4.3, bounds not returned).

    Raises ``NoHistoryError`` when the node's AccessLevel lacks HistoryRead or the server
    answers that it has no history; connection errors propagate.
    """
    if not await has_history(node):
        raise NoHistoryError("server has no history")
    try:
        return await node.read_raw_history(start, end, 0, return_bounds=False)
    except UaStatusCodeError as exc:
        if exc.code not in _NO_HISTORY:
            raise
        name = status_name(ua.StatusCode(ua.UInt32(exc.code)))
        raise NoHistoryError(f"server has no history ({name})") from exc


async def server_clock(client: Client) -> datetime | None:
    """The server's ServerStatus.CurrentTime (Part 5 §12.10), or ``None`` when unreadable."""
    try:
        value = await client.get_node(ObjectIds.Server_ServerStatus_CurrentTime).read_value()
    except Exception:  # a server without a readable clock is still usable
        return None
    return _utc(value) if isinstance(value, datetime) else None


def monitored_items(nodes: dict[int, ua.NodeId]) -> list[ua.MonitoredItemCreateRequest]:
    """Monitored items (client handle -> node) that report every change of value, status or
    source timestamp (DataChangeTrigger StatusValueTimestamp, Part 4 §7.22.2), queued."""
    trigger = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp)
    return [
        ua.MonitoredItemCreateRequest(
            ItemToMonitor=ua.ReadValueId(NodeId=node_id, AttributeId=AttributeIds.Value),
            MonitoringMode=ua.MonitoringMode.Reporting,
            RequestedParameters=ua.MonitoringParameters(
                ClientHandle=ua.UInt32(handle),
                SamplingInterval=0.0,
                Filter=trigger,
                QueueSize=ua.UInt32(MONITORED_QUEUE),
                DiscardOldest=True,
            ),
        )
        for handle, node_id in nodes.items()
    ]


def status_name(status: ua.StatusCode | None) -> str:
    """The symbolic name of a status code (its info bits, Part 4 §7.39, ignored)."""
    if status is None:
        return "Good"
    return ua.StatusCode(ua.UInt32(status.value & 0xFFFF0000)).name


def quality(status: ua.StatusCode | None) -> int:
    """The legacy quality byte of a status code: 192 good, 64 uncertain, 0 bad."""
    if status is None or status.is_good():
        return QUALITY_GOOD
    if status.is_uncertain():
        return QUALITY_UNCERTAIN
    return QUALITY_BAD


def _utc(time: datetime | None) -> datetime | None:
    if time is None:
        return None
    if time.tzinfo is None:  # OPC UA DateTime is UTC by definition (Part 6 §5.2.2.5)
        time = time.replace(tzinfo=UTC)
    return None if time < _NO_TIME else time.astimezone(UTC)


def no_data_yet(value: ua.DataValue) -> bool:
    """The server has no value for the variable yet (OPC UA Part 4, 7.34: the initial
    notification of a monitored item may carry BadWaitingForInitialData with no value)."""
    status = value.StatusCode
    empty = value.Value is None or value.Value.Value is None
    return bool(
        empty and status is not None and status.value == StatusCodes.BadWaitingForInitialData
    )


def to_record(tag: str, value: ua.DataValue, source: str) -> Sample | Quarantined:
    """A data value as a sample, or quarantined with the reason when it cannot be one.

    Bad status, no timestamp, a value that is not a number, or one that is not finite, are
    quarantined. Booleans and integers become floats.
    """
    source_time = _utc(value.SourceTimestamp)
    server_time = _utc(value.ServerTimestamp)
    time = source_time or server_time
    raw = value.Value.Value if value.Value is not None else None
    status = value.StatusCode

    def reject(reason: str) -> Quarantined:
        return Quarantined(source=source, reason=reason, raw=repr(raw), tag=tag, time=time)

    if status is not None and status.is_bad():
        return reject(f"status {status_name(status)}")
    if time is None:
        return reject("no SourceTimestamp nor ServerTimestamp")
    if isinstance(raw, bool | int | float):
        number = float(raw)
    else:
        return reject(f"value {raw!r} is not a number")
    if not math.isfinite(number):
        return reject(f"value {number} is not a finite number")
    return Sample(tag=tag, time=time, value=number, quality=quality(status), available=server_time)
