"""The sections of a batch record as text tables, shared by the HTML and PDF renderings.

Order (ISA-88 / IEC 61512-4 batch record; 21 CFR 211.188): header with versions, timeline of
phases, critical process parameters, critical quality attributes measured against predicted
and forecast, alarms with acknowledgements, deviations, audit trail, signatures (21 CFR 11.50:
printed name, date and time, meaning).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pharmatwin.gmp.batch_record import Section, Table

if TYPE_CHECKING:
    from pharmatwin.gmp.batch_record import BatchRecord

__all__ = ["sections"]

MAX_VALUE_TEXT = 160
"""Audit values longer than this many characters are shortened in the record."""


def _f(value: Any) -> str:
    """A number for people: 4 significant digits, ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:.4g}"
    return str(value)


def _t(text: str | None) -> str:
    """ISO UTC text for people: ``2026-01-05 06:00:00 UTC``."""
    return "-" if not text else text.replace("T", " ").replace("Z", " UTC")


def _short(tag: str, asset: str) -> str:
    return tag.removeprefix(f"{asset}.")


def _heading(tag: str, asset: str, unit: str) -> str:
    return f"{_short(tag, asset)} ({unit})" if unit else _short(tag, asset)


def sections(record: BatchRecord) -> list[Section]:
    """The record's sections (see the module)."""
    c = record.content
    return [
        _header(record),
        _phases(c["recipe"]),
        _cpp(c["cpp"], c["batch"]["asset"]),
        _cqa(c["cqa"], c["batch"]["asset"]),
        _alarms(c["alarms"]),
        _deviations(c["deviations"]),
        _audit(record),
        _signatures(record),
    ]


def _header(record: BatchRecord) -> Section:
    b = record.content["batch"]
    approved = {
        row.record for row in record.signatures if row.valid and row.signature.meaning == "approved"
    }
    versions = tuple(
        (
            r["kind"],
            r["name"],
            f"v{r['version']}",
            r["content_hash"][:16],
            "approved"
            if f"{r['kind']} {r['name']} v{r['version']}" in approved
            else "not approved",
        )
        for r in record.content["versions"]
    )
    specs = tuple(
        (s["name"], s["output"], s["limit"], s["when"]) for s in record.content["specifications"]
    )
    return Section(
        "header",
        "Batch",
        facts=(
            ("Batch", b["batch_id"]),
            ("Asset", b["asset"]),
            ("Recipe", b["recipe"]),
            ("State", b["state"]),
            ("Start", _t(b["start"])),
            ("End", _t(b["end"])),
            ("Twin", b["twin"]),
            ("Content hash (SHA-256)", record.content_hash),
        ),
        tables=(
            Table(
                "Versions used",
                ("kind", "name", "version", "content hash", "status"),
                versions,
                "no versions recorded for this batch",
            ),
            Table("Specifications", ("name", "output", "limit", "applies"), specs, "not known"),
        ),
    )


def _phases(recipe: dict[str, Any] | None) -> Section:
    if recipe is None:
        return Section("phases", "Timeline of phases", notes=("The recipe is not known.",))
    phases = tuple(
        (
            p["name"],
            _f(p["start_h"]),
            _f(p["end_h"]),
            _t(p["start"]),
            _t(p["end"]),
            _f(p["ramp_h"]),
            ", ".join(f"{k} {_f(v)}" for k, v in p["setpoints"].items()) or "-",
            p["status"],
        )
        for p in recipe["phases"]
    )
    feeds = tuple(
        (f["medium"], _f(f["start_h"]), _f(f["end_h"]), _f(f["rate_L_per_h"]))
        for f in recipe["feeds"]
    )
    boluses = tuple((_f(b["at_h"]), b["medium"], _f(b["volume_L"])) for b in recipe["boluses"])
    return Section(
        "phases",
        "Timeline of phases",
        facts=(
            ("Recipe", recipe["name"]),
            ("Planned harvest (h)", _f(recipe["harvest_h"])),
            ("Elapsed (h)", _f(recipe["elapsed_h"])),
        ),
        tables=(
            Table(
                "Phases",
                ("phase", "start h", "end h", "start", "end", "ramp h", "setpoints", "status"),
                phases,
            ),
            Table("Feeds", ("medium", "start h", "end h", "rate L/h"), feeds),
            Table("Boluses", ("at h", "medium", "volume L"), boluses),
        ),
    )


def _cpp(cpp: dict[str, Any], asset: str) -> Section:
    summary = tuple(
        (
            t["tag"],
            t["unit"] or "-",
            str(t["samples"]),
            str(t["not_good"]),
            _f(t["min"]),
            _f(t["mean"]),
            _f(t["max"]),
        )
        for t in cpp["tags"]
    )
    tags = list(cpp["hourly_mean"])
    units = {t["tag"]: t["unit"] for t in cpp["tags"]}
    units = {t["tag"]: t["unit"] for t in cpp["tags"]}
    hourly = tuple(
        (str(h), *(_f(cpp["hourly_mean"][tag][i]) for tag in tags))
        for i, h in enumerate(cpp["hours"])
    )
    return Section(
        "cpp",
        "Critical process parameters (online)",
        tables=(
            Table(
                "Summary (good-quality samples)",
                ("tag", "unit", "samples", "not good", "min", "mean", "max"),
                summary,
                "no online data",
            ),
            Table(
                "Hourly means",
                (
                    "hour",
                    *(
                        f"{_short(t, asset)} ({units[t]})" if units[t] else _short(t, asset)
                        for t in tags
                    ),
                ),
                hourly,
                "no online data",
            ),
        ),
    )


def _cqa(cqa: dict[str, Any], asset: str) -> Section:
    results = tuple(
        (
            _short(r["tag"], asset),
            _f(r["batch_h"]),
            f"{_f(r['measured'])} {r['unit']}".strip(),
            _f(r["predicted"]),
            "-" if r["p05"] is None else f"{_f(r['p05'])} to {_f(r['p95'])}",
            _f(r["within"]),
        )
        for r in cqa["results"]
    )
    names = sorted({n for f in cqa["forecasts"] for n in f["cqa"]})
    forecasts = tuple(
        (
            _f(f["batch_h"]),
            *(_band(f["cqa"].get(n, {})) for n in names),
            ", ".join(f"v{v}" for v in f["versions"]) or "-",
        )
        for f in cqa["forecasts"]
    )
    return Section(
        "cqa",
        "Critical quality attributes: measured and predicted",
        tables=(
            Table(
                "At-line results against the twin's prediction (5 to 95 %)",
                ("tag", "sample h", "measured", "predicted", "5 to 95 %", "within"),
                results,
                "no at-line results",
            ),
            Table(
                "Forecasts at harvest: median [5 %, 95 %], P(fail)",
                ("at h", *names, "versions"),
                forecasts,
                "no forecasts",
            ),
        ),
    )


def _band(q: dict[str, Any]) -> str:
    if not q:
        return "-"
    return f"{_f(q['p50'])} [{_f(q['p05'])}, {_f(q['p95'])}] P(fail) {_f(q['p_fail'])}"


def _alarms(alarms: list[dict[str, Any]]) -> Section:
    rows = tuple(
        (
            _t(a["time"]),
            _f(a["raised_at_h"]),
            a["kind"],
            a["subject"],
            _f(a["probability"]),
            _f(a["predicted_violation_h"]),
            _f(a["lead_time_h"]),
            _f(a["cleared_at_h"]),
            "; ".join(
                f"{k['by']} at {_t(k['time'])}: {k['comment']}" for k in a["acknowledgements"]
            )
            or "NOT ACKNOWLEDGED",
        )
        for a in alarms
    )
    columns = ("raised", "at h", "kind", "subject", "P(fail)", "violation h", "lead time h")
    return Section(
        "alarms",
        "Alarms and acknowledgements",
        tables=(Table("", (*columns, "cleared h", "acknowledged"), rows, "no alarms"),),
    )


def _deviations(d: dict[str, Any]) -> Section:
    return Section(
        "deviations",
        "Deviations",
        facts=(
            ("Alarms", str(d["alarms"])),
            ("Sensor faults", str(len(d["sensor_faults"]))),
            ("Connector events", str(len(d["connector"]))),
            ("Quarantined values", str(d["quarantined_total"])),
        ),
        tables=(
            Table(
                "Sensor faults",
                ("time", "subject", "message"),
                tuple((_t(s["time"]), s["subject"], s["message"]) for s in d["sensor_faults"]),
            ),
            Table(
                "Connector gaps and states",
                ("time", "kind", "source", "message"),
                tuple(
                    (_t(e["time"]), e["kind"], e["source"], e["message"]) for e in d["connector"]
                ),
            ),
            Table(
                "Quarantined values by tag",
                ("tag", "count", "latest reason"),
                tuple((q["tag"], str(q["count"]), q["example"]) for q in d["quarantined"]),
            ),
        ),
    )


def _value(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_TEXT else text[: MAX_VALUE_TEXT - 3] + "..."


def _audit(record: BatchRecord) -> Section:
    rows = tuple(
        (
            str(r.seq),
            r.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            r.user,
            r.action,
            f"{r.record_type} {r.record_id}",
            r.reason,
            _value(r.new),
        )
        for r in record.audit
    )
    return Section(
        "audit",
        "Audit trail of the batch",
        tables=(
            Table(
                "",
                ("seq", "at", "user", "action", "record", "reason", "new value"),
                rows,
                "no audit-trail entries (or no audit trail given)",
            ),
        ),
    )


def _signatures(record: BatchRecord) -> Section:
    rows = tuple(
        (
            row.record,
            row.signature.meaning,
            row.signature.printed_name,
            row.signature.user,
            row.signature.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "valid" if row.valid else f"INVALID: {row.problem}",
            row.signature.reason,
        )
        for row in record.signatures
    )
    return Section(
        "signatures",
        "Electronic signatures",
        tables=(
            Table(
                "",
                ("record", "meaning", "printed name", "user", "date and time", "status", "reason"),
                rows,
                "not signed",
            ),
        ),
        notes=(
            "A signature on the batch record binds to its content hash "
            f"{record.content_hash}; data changed after signing show it invalid.",
        ),
    )
