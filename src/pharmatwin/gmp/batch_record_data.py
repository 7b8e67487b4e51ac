"""The data of a batch record, collected from the historian as one JSON document.

See ``pharmatwin.gmp.batch_record`` for what the record holds and why. Times are ISO 8601 UTC
text; batch hours are hours since the batch's start; numbers are rounded to 6 significant
digits (so the document, and the content hash a signature binds to, does not depend on the
last bits of a floating-point sum); NaN becomes ``null``.

Which tags are which: a tag of the batch's asset whose values arrive after their sample time
(``available`` later than ``time``), or described as ``at-line``, is an at-line result (a
critical quality attribute or an in-process control); the other tags are online critical process
parameters. An at-line result is compared with the twin's prediction of the model output that
reads it (``Asset.estimated_outputs``) from the last belief at or before its sample time
(before the result was known to the twin).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from pharmatwin.historian.errors import UnknownBatch
from pharmatwin.historian.records import QUALITY_GOOD, Batch, Event, TwinOutput, to_us
from pharmatwin.runtime.versioned_twin import VersionRef, batch_refs, refs_in

if TYPE_CHECKING:
    from pharmatwin.core.recipe import Recipe
    from pharmatwin.gmp.versions import VersionStore
    from pharmatwin.historian.frame import SampleFrame
    from pharmatwin.historian.store import Historian
    from pharmatwin.runtime.asset import Asset

__all__ = ["FORMAT", "alarm_id", "collect", "iso", "number"]

FORMAT = "pharmatwin-ebr-1"
US_PER_H = 3_600_000_000
ALARM_KINDS = ("alarm", "sensor_fault")
CONNECTOR_KINDS = ("connector_gap", "connector_state")


def iso(time: datetime | None) -> str | None:
    """``2026-01-05T06:00:00Z`` (UTC, whole seconds), or ``None``."""
    return None if time is None else time.strftime("%Y-%m-%dT%H:%M:%SZ")


def number(value: Any) -> float | None:
    """``value`` rounded to 6 significant digits; NaN, infinities and ``None`` -> ``None``."""
    if value is None:
        return None
    x = float(value)
    return float(f"{x:.6g}") if math.isfinite(x) else None


def alarm_id(source: str, time: datetime, subject: str) -> str:
    """The alarm's id, as the service gives it: the first 16 hex digits of SHA-256 of
    ``"{source}|{time_us}|{subject}"``."""
    key = f"{source}|{to_us(time)}|{subject}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def collect(
    historian: Historian,
    batch_id: str,
    *,
    versions: VersionStore | None = None,
    asset: Asset | None = None,
    twin: str | None = None,
) -> tuple[Batch, dict[str, Any]]:
    """The batch and its record's data (see the module)."""
    batch = historian.batch(batch_id)
    if batch is None:
        raise UnknownBatch(f"batch_id: no batch {batch_id!r} in {historian.label}")
    twin = twin or f"{batch.asset}.twin"
    events = historian.events(batch_id=batch_id)
    forecasts = historian.outputs(twin, batch_id, "forecast")
    refs = batch_refs(events)
    for f in forecasts:
        refs.extend(r for r in refs_in(f.data) if r not in refs)
    ref_docs = [r.document() for r in refs]
    stored = _stored_versions(versions, refs)
    tags = [t for t in historian.tags() if t.asset == batch.asset]
    names = [t.name for t in tags] or None
    frame = historian.batch_samples(batch_id, names)
    lab = _lab_tags(frame, {t.name: t.description for t in tags})
    units = {t.name: t.unit for t in tags}
    end = batch.end or _last_time(frame) or batch.start
    recipe = _recipe(stored.get("recipe"), asset, batch)
    window = [e for e in historian.events(asset=batch.asset) if batch.start <= e.time <= end]
    beliefs = historian.outputs(twin, batch_id, "belief")
    outputs_of = asset.estimated_outputs() if asset is not None else {}
    return batch, {
        "format": FORMAT,
        "batch": {
            "batch_id": batch.batch_id,
            "asset": batch.asset,
            "recipe": batch.recipe,
            "state": batch.state,
            "start": iso(batch.start),
            "end": iso(batch.end),
            "twin": twin,
        },
        "versions": ref_docs,
        "recipe": _recipe_doc(recipe, batch, end),
        "specifications": _specs(stored.get("twin_config"), asset),
        "cpp": _cpp(frame, [n for n in frame.tags() if n not in lab], units, batch),
        "cqa": {
            "results": _results(
                frame, lab=lab, units=units, outputs_of=outputs_of, beliefs=beliefs, batch=batch
            ),
            "forecasts": [_forecast(f) for f in forecasts],
        },
        "alarms": _alarms(events, historian.events(kind="acknowledgement")),
        "deviations": _deviations(
            events,
            window=window,
            historian=historian,
            tags=set(frame.tags()),
            batch=batch,
            end=end,
        ),
    }


def _stored_versions(versions: VersionStore | None, refs: list[VersionRef]) -> dict[str, Any]:
    """The content of each version used, by kind (none missing from the store)."""
    out: dict[str, Any] = {}
    if versions is None:
        return out
    for r in refs:
        try:
            out[r.kind] = versions.get(r.kind, r.name, r.version).content
        except ValueError:
            continue  # not in this store: the record shows the ref, unapproved
    return out


def _hours(batch: Batch, time_us: Any) -> Any:
    return (np.asarray(time_us, dtype=np.int64) - to_us(batch.start)) / US_PER_H


def _last_time(frame: SampleFrame) -> datetime | None:
    from pharmatwin.historian.records import from_us

    return from_us(int(frame.time_us.max())) if len(frame) else None


def _lab_tags(frame: SampleFrame, descriptions: dict[str, str]) -> set[str]:
    late = frame.available_us > frame.time_us
    out = {str(t) for t in frame.tag[late]}
    return out | {n for n, d in descriptions.items() if d.lower().startswith("at-line")}


def _recipe(stored: dict[str, Any] | None, asset: Asset | None, batch: Batch) -> Recipe | None:
    from pharmatwin.core.recipe import Recipe
    from pharmatwin.equipment.bioreactor.scenario import read_recipe

    if stored is not None:
        return Recipe.model_validate(stored)
    if asset is not None and asset.recipe.name == batch.recipe:
        return asset.recipe
    try:
        return Recipe.model_validate(read_recipe(batch.recipe))
    except (ValueError, OSError):
        return None


def _recipe_doc(recipe: Recipe | None, batch: Batch, end: datetime) -> dict[str, Any] | None:
    if recipe is None:
        return None
    elapsed = (end - batch.start) / timedelta(hours=1)
    phases = []
    for i, p in enumerate(recipe.phases):
        stop = recipe.phases[i + 1].start_h if i + 1 < len(recipe.phases) else recipe.harvest_h
        if elapsed >= stop:
            status = "complete"
        elif elapsed > p.start_h:
            status = "running" if batch.end is None else "ended early"
        else:
            status = "not reached"
        phases.append(
            {
                "name": p.name,
                "start_h": p.start_h,
                "end_h": stop,
                "ramp_h": p.ramp_h,
                "start": iso(batch.start + timedelta(hours=p.start_h)),
                "end": iso(batch.start + timedelta(hours=stop)),
                "setpoints": {k: number(v) for k, v in p.setpoints.items()},
                "status": status,
            }
        )
    return {
        "name": recipe.name,
        "harvest_h": recipe.harvest_h,
        "elapsed_h": number(elapsed),
        "phases": phases,
        "feeds": [f.model_dump(mode="json") for f in recipe.feeds],
        "boluses": [b.model_dump(mode="json") for b in recipe.boluses],
    }


def _specs(config: dict[str, Any] | None, asset: Asset | None) -> list[dict[str, Any]]:
    from pharmatwin.core.specs import Specification

    if config is not None:
        specs = [Specification.model_validate(s) for s in config.get("specifications", [])]
    elif asset is not None:
        from pharmatwin.equipment.bioreactor.specs import SPECIFICATIONS

        specs = list(asset.specifications) or list(SPECIFICATIONS)
    else:
        return []
    return [
        {"name": s.name, "output": s.output, "limit": s.limit_text(), "when": s.when} for s in specs
    ]


def _cpp(
    frame: SampleFrame, tags: Sequence[str], units: dict[str, str], batch: Batch
) -> dict[str, Any]:
    summary, hourly = [], {}
    last_hour = -1
    for tag in tags:
        rows = frame.for_tag(tag)
        good = rows.quality == QUALITY_GOOD
        values = rows.value[good]
        hour = np.floor(_hours(batch, rows.time_us[good])).astype(np.int64)
        summary.append(
            {
                "tag": tag,
                "unit": units.get(tag, ""),
                "samples": len(rows),
                "not_good": int((~good).sum()),
                "min": number(values.min()) if values.size else None,
                "mean": number(values.mean()) if values.size else None,
                "max": number(values.max()) if values.size else None,
            }
        )
        if values.size:
            hour = np.maximum(hour, 0)
            last_hour = max(last_hour, int(hour.max()))
            hourly[tag] = (hour, values)
    hours = list(range(last_hour + 1))
    means = {}
    for tag, (hour, values) in hourly.items():
        count = np.bincount(hour, minlength=len(hours))
        total = np.bincount(hour, weights=values, minlength=len(hours))
        with np.errstate(invalid="ignore", divide="ignore"):
            means[tag] = [number(x) for x in (total / count).tolist()]
    return {"tags": summary, "hours": hours, "hourly_mean": means}


def _results(
    frame: SampleFrame,
    *,
    lab: set[str],
    units: dict[str, str],
    outputs_of: dict[str, str],
    beliefs: list[TwinOutput],
    batch: Batch,
) -> list[dict[str, Any]]:
    belief_h = np.array([b.batch_h for b in beliefs], dtype=float)
    out = []
    for tag in sorted(lab):
        rows = frame.for_tag(tag)
        output = outputs_of.get(tag)
        for t_us, a_us, value in zip(
            rows.time_us.tolist(), rows.available_us.tolist(), rows.value.tolist(), strict=True
        ):
            t_h = float(_hours(batch, t_us))
            predicted: dict[str, Any] = {}
            k = int(np.searchsorted(belief_h, t_h + 1e-9, side="right")) - 1
            if output is not None and k >= 0:
                predicted = beliefs[k].data.get("outputs", {}).get(output, {})
            p05, p95 = number(predicted.get("p05")), number(predicted.get("p95"))
            out.append(
                {
                    "tag": tag,
                    "unit": units.get(tag, ""),
                    "output": output,
                    "batch_h": number(t_h),
                    "available_h": number(_hours(batch, a_us)),
                    "measured": number(value),
                    "predicted": number(predicted.get("mean")),
                    "p05": p05,
                    "p95": p95,
                    "belief_h": beliefs[k].batch_h if predicted else None,
                    "within": None if p05 is None or p95 is None else p05 <= value <= p95,
                }
            )
    return out


def _forecast(f: TwinOutput) -> dict[str, Any]:
    cqa = f.data.get("cqa", {})
    return {
        "batch_h": number(f.batch_h),
        "time": iso(f.time),
        "cqa": {
            name: {k: number(v.get(k)) for k in ("p05", "p50", "p95", "p_fail")}
            for name, v in sorted(cqa.items())
        },
        "versions": [r["version"] for r in f.data.get("versions", [])],
    }


def _alarms(events: list[Event], acks: list[Event]) -> list[dict[str, Any]]:
    cleared = {
        (e.source, e.subject, e.data.get("raised_at_h")): e.data.get("cleared_at_h")
        for e in events
        if e.kind == "alarm_cleared"
    }
    out = []
    for e in events:
        if e.kind not in ALARM_KINDS:
            continue
        ident = alarm_id(e.source, e.time, e.subject)
        out.append(
            {
                "id": ident,
                "kind": e.kind,
                "subject": e.subject,
                "time": iso(e.time),
                "raised_at_h": number(e.data.get("raised_at_h")),
                "probability": number(e.data.get("probability")),
                "predicted_violation_h": number(e.data.get("predicted_violation_h")),
                "lead_time_h": number(e.data.get("lead_time_h")),
                "cleared_at_h": number(
                    cleared.get((e.source, e.subject, e.data.get("raised_at_h")))
                ),
                "message": e.message,
                "acknowledgements": [
                    {
                        "by": str(a.data.get("by", a.source)),
                        "time": iso(a.time),
                        "comment": str(a.data.get("comment", "")),
                    }
                    for a in acks
                    if a.subject == ident
                ],
            }
        )
    return out


def _deviations(
    events: list[Event],
    *,
    window: list[Event],
    historian: Historian,
    tags: set[str],
    batch: Batch,
    end: datetime,
) -> dict[str, Any]:
    connector = {(e.kind, e.source, iso(e.time), e.subject): e for e in window + events}
    quarantined = [
        q
        for q in historian.quarantined()
        if q.tag in tags and q.time is not None and batch.start <= q.time <= end
    ]
    counts = Counter(q.tag for q in quarantined)
    example = {q.tag: q.reason for q in reversed(quarantined)}
    return {
        "alarms": sum(e.kind == "alarm" for e in events),
        "sensor_faults": [
            {"subject": e.subject, "time": iso(e.time), "message": e.message}
            for e in events
            if e.kind == "sensor_fault"
        ],
        "connector": [
            {"kind": k, "source": s, "time": t, "subject": subj, "message": e.message}
            for (k, s, t, subj), e in sorted(connector.items(), key=lambda i: str(i[0][2]))
            if k in CONNECTOR_KINDS
        ],
        "quarantined_total": len(quarantined),
        "quarantined": [
            {"tag": tag, "count": n, "example": example[tag]} for tag, n in sorted(counts.items())
        ],
    }
