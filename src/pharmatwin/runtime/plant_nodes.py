"""The virtual plant's OPC UA address space.

ISA-95 / ISA-88 hierarchy: ``Objects / VirtualPlant`` (site) ``/ Upstream`` (area) ``/ BR01``
(unit) ``/ {Sensors, LabResults, Setpoints, Status}``. Every tag is a Double variable whose node
id is the tag name as a string (``nsu=urn:pharmatwin:virtual-plant;s=BR01.TT101.PV``), of type
AnalogItemType (with an EURange) or BaseAnalogType, with the standard ``EngineeringUnits``
property (OPC UA Part 8 §5.6.3, UNECE Recommendation 20 common codes per Part 8 §5.6.4.4; units
without a code get UnitId -1). Sensor, laboratory and setpoint variables are historized.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes

from pharmatwin.equipment.bioreactor.live import SETPOINTS
from pharmatwin.equipment.bioreactor.sensors import AT_LINE, ONLINE

NAMESPACE_URI = "urn:pharmatwin:virtual-plant"
CEFACT_URI = "http://www.opcfoundation.org/UA/units/un/cefact"
SITE, AREA, UNIT = "VirtualPlant", "Upstream", "BR01"
FOLDERS = ("Sensors", "LabResults", "Setpoints", "Status")

SETPOINT_TAGS: dict[str, str] = {
    "BR01.TIC101.SP": "T",
    "BR01.AIC201.SP": "pH",
    "BR01.AIC301.SP": "DO",
}
"""Setpoint variable -> the plant setpoint it changes (``live.SETPOINTS``)."""

STATUS_TAGS = ("BR01.BatchTime_h", "BR01.Phase", "BR01.BatchID", "BR01.Speed")

UNECE: dict[str, tuple[str, str, str]] = {
    "degC": ("CEL", "°C", "degree Celsius"),
    "L": ("LTR", "l", "litre"),
    "%": ("P1", "%", "percent"),
    "mM": ("M33", "mmol/l", "millimole per litre"),
    "g/L": ("GL", "g/l", "gram per litre"),
    "h": ("HUR", "h", "hour"),
}
"""Engineering unit -> UNECE Rec. 20 common code, symbol, name (Rec. 20 Annex I)."""

DESCRIPTIONS: dict[str, str] = {
    "T": "culture temperature",
    "pH": "culture pH",
    "DO": "dissolved oxygen, % air saturation",
    "V": "broth volume from the load cell",
    "base_total": "base solution added (totalizer)",
    "feed_total": "feed added (totalizer)",
    "VCD": "viable cell density",
    "viability": "cell viability",
    "glucose": "glucose",
    "glutamine": "glutamine",
    "lactate": "lactate",
    "ammonia": "ammonium",
    "titre": "antibody titre",
}
"""What each sensor or assay measures, by the quantity it reads."""

EU_RANGES: dict[str, tuple[float, float]] = {
    "T": (0.0, 50.0),
    "pH": (6.0, 8.0),
    "DO": (0.0, 100.0),
    "viability": (0.0, 100.0),
}
"""Range of normal operation (Part 8 §5.3.2.2 EURange) where one is meaningful."""


@dataclass(frozen=True)
class TagNode:
    """One variable of the address space; ``text`` variables hold a String, others a Double."""

    tag: str
    unit: str
    folder: str
    description: str
    historized: bool = True
    eu_range: tuple[float, float] | None = None
    text: bool = False


@dataclass
class PlantNodes:
    """Node ids of the built address space, by tag."""

    namespace_index: int
    variables: dict[str, ua.NodeId] = field(default_factory=dict)
    historized: list[ua.NodeId] = field(default_factory=list)

    def node_id(self, tag: str) -> ua.NodeId:
        return self.variables[tag]


def string_id(name: str, index: int) -> ua.NodeId:
    """A string node id in namespace ``index`` (``ns=<index>;s=<name>``)."""
    return ua.NodeId(ua.String(name), ua.Int16(index))


def standard_id(number: int) -> ua.NodeId:
    """A numeric node id of the OPC UA namespace (0)."""
    return ua.NodeId(ua.Int32(number))


def status(code: int) -> ua.StatusCode:
    """The StatusCode of a ``StatusCodes`` constant."""
    return ua.StatusCode(ua.UInt32(code))


def data_value(
    value: float | str, source: datetime, server: datetime, code: int = StatusCodes.Good
) -> ua.DataValue:
    """A Double (or String) value with its source and server timestamps (Part 4 §7.11)."""
    kind = ua.VariantType.String if isinstance(value, str) else ua.VariantType.Double
    return ua.DataValue(
        ua.Variant(value, kind),
        StatusCode=status(code),
        SourceTimestamp=cast(ua.DateTime, source),
        ServerTimestamp=cast(ua.DateTime, server),
    )


def unit_id(code: str) -> int:
    """UNECE common code as an EUInformation UnitId: its ASCII bytes, most significant first
    (Part 8 §5.6.4.4)."""
    value = 0
    for char in code:
        value = (value << 8) | ord(char)
    return value


def eu_information(unit: str) -> ua.EUInformation:
    """EngineeringUnits of ``unit``: the UNECE code when there is one, else UnitId -1."""
    if unit in UNECE:
        code, symbol, name = UNECE[unit]
        return ua.EUInformation(
            NamespaceUri=CEFACT_URI,
            UnitId=unit_id(code),
            DisplayName=ua.LocalizedText(symbol),
            Description=ua.LocalizedText(name),
        )
    return ua.EUInformation(
        NamespaceUri=NAMESPACE_URI,
        UnitId=-1,
        DisplayName=ua.LocalizedText(unit),
        Description=ua.LocalizedText(unit),
    )


def plant_tags() -> list[TagNode]:
    """Every variable of BR01: online sensors, laboratory results, setpoints, status."""
    tags = [
        TagNode(
            s.tag,
            s.unit,
            "Sensors",
            f"{DESCRIPTIONS.get(s.source, s.source)}; online reading",
            eu_range=EU_RANGES.get(s.source),
        )
        for s in ONLINE
    ]
    tags += [
        TagNode(
            a.tag,
            a.unit,
            "LabResults",
            f"{DESCRIPTIONS.get(a.source, a.source)}; laboratory result of the daily sample "
            f"(SourceTimestamp: sample time; ServerTimestamp: result available, "
            f"{a.delay_h:g} h later)",
            eu_range=EU_RANGES.get(a.source),
        )
        for a in AT_LINE
    ]
    for tag, name in SETPOINT_TAGS.items():
        limit = SETPOINTS[name]
        tags.append(
            TagNode(
                tag,
                limit.unit,
                "Setpoints",
                f"{limit.description} setpoint; writable, from {limit.low:g} to "
                f"{limit.high:g} {limit.unit}",
                eu_range=(limit.low, limit.high),
            )
        )
    tags += [
        TagNode("BR01.BatchTime_h", "h", "Status", "batch time since inoculation", False),
        TagNode("BR01.Phase", "", "Status", "recipe phase running (ISA-88)", False, text=True),
        TagNode("BR01.BatchID", "", "Status", "batch identifier", False, text=True),
        TagNode("BR01.Speed", "", "Status", "virtual-plant time per wall-clock time", False),
    ]
    return tags


async def build_address_space(server: Server, index: int) -> PlantNodes:
    """Add the site, area, unit, its folders and every variable under ``Objects``."""
    nodes = PlantNodes(namespace_index=index)
    site = await _folder(server.nodes.objects, index, SITE, SITE, "ISA-95 site")
    area = await _folder(site, index, f"{SITE}.{AREA}", AREA, "ISA-95 area: upstream processing")
    unit = await _folder(area, index, UNIT, UNIT, "ISA-88 unit: 2,000 L fed-batch bioreactor")
    folders = {
        name: await _folder(unit, index, f"{UNIT}.{name}", name, f"{UNIT} {name}")
        for name in FOLDERS
    }
    waiting = ua.DataValue(StatusCode=status(StatusCodes.BadWaitingForInitialData))
    for tag in plant_tags():
        node_id = await _variable(folders[tag.folder], index, tag)
        nodes.variables[tag.tag] = node_id
        if tag.historized:
            nodes.historized.append(node_id)
        await server.write_attribute_value(node_id, waiting)  # no value until the plant gives one
    return nodes


async def _folder(parent: Node, index: int, node_id: str, name: str, description: str) -> Node:
    item = ua.AddNodesItem(
        RequestedNewNodeId=string_id(node_id, index),
        BrowseName=ua.QualifiedName(name, index),
        NodeClass=ua.NodeClass.Object,
        ParentNodeId=parent.nodeid,
        ReferenceTypeId=standard_id(ObjectIds.Organizes),
        TypeDefinition=standard_id(ObjectIds.FolderType),
        NodeAttributes=ua.ObjectAttributes(
            DisplayName=ua.LocalizedText(name), Description=ua.LocalizedText(description)
        ),
    )
    result = (await parent.session.add_nodes([item]))[0]
    result.StatusCode.check()
    return Node(parent.session, result.AddedNodeId)


async def _variable(parent: Node, index: int, tag: TagNode) -> ua.NodeId:
    access = ua.AccessLevel.CurrentRead.mask
    if tag.historized:
        access |= ua.AccessLevel.HistoryRead.mask
    if tag.folder == "Setpoints":
        access |= ua.AccessLevel.CurrentWrite.mask
    if tag.text:
        type_id, data_type = ObjectIds.BaseDataVariableType, ObjectIds.String
        value = ua.Variant("", ua.VariantType.String)
    else:
        type_id = ObjectIds.AnalogItemType if tag.eu_range else ObjectIds.BaseAnalogType
        data_type, value = ObjectIds.Double, ua.Variant(0.0, ua.VariantType.Double)
    attributes = ua.VariableAttributes(
        DisplayName=ua.LocalizedText(_display_name(tag)),
        Description=ua.LocalizedText(_description(tag)),
        Value=value,
        DataType=standard_id(data_type),
        ValueRank=ua.ValueRank.Scalar,
        AccessLevel=access,
        UserAccessLevel=access,
        Historizing=tag.historized,
    )
    item = ua.AddNodesItem(
        RequestedNewNodeId=string_id(tag.tag, index),
        BrowseName=ua.QualifiedName(tag.tag, index),
        NodeClass=ua.NodeClass.Variable,
        ParentNodeId=parent.nodeid,
        ReferenceTypeId=standard_id(ObjectIds.HasComponent),
        TypeDefinition=standard_id(type_id),
        NodeAttributes=attributes,
    )
    result = (await parent.session.add_nodes([item]))[0]
    result.StatusCode.check()
    node = Node(parent.session, result.AddedNodeId)
    if tag.unit:
        await _property(node, index, tag.tag, "EngineeringUnits", eu_information(tag.unit))
    if tag.eu_range is not None:
        low, high = tag.eu_range
        await _property(node, index, tag.tag, "EURange", ua.Range(Low=low, High=high))
    added: ua.NodeId = result.AddedNodeId
    return added


async def _property(node: Node, index: int, tag: str, name: str, value: object) -> None:
    """A standard property (browse name in namespace 0, Part 8 §5.3.2) of a variable."""
    data_type = ObjectIds.EUInformation if name == "EngineeringUnits" else ObjectIds.Range
    prop = await node.add_property(
        string_id(f"{tag}.{name}", index),
        ua.QualifiedName(name, 0),
        ua.Variant(value, ua.VariantType.ExtensionObject),
        datatype=data_type,
    )
    await prop.write_attribute(
        AttributeIds.Description,
        ua.DataValue(ua.Variant(ua.LocalizedText(_property_text(name)))),
    )


def _property_text(name: str) -> str:
    if name == "EngineeringUnits":
        return "engineering unit of the value (UNECE Rec. 20 where it has a code)"
    return "range of the value in normal operation"


def _display_name(tag: TagNode) -> str:
    parts = tag.tag.split(".")
    short = parts[1] if len(parts) > 2 else parts[-1]
    first = tag.description.split(";")[0]
    return f"{first[:1].upper()}{first[1:]} ({short})"


def _description(tag: TagNode) -> str:
    unit = f" [{tag.unit}]" if tag.unit else ""
    return f"{tag.tag}{unit}: {tag.description}"
