"""Turn a virtual-bioreactor run into historian-style sample tables."""

from __future__ import annotations

import numpy as np

from pharmatwin.core.utc import parse_utc
from pharmatwin.equipment.bioreactor.records import PlantRun
from pharmatwin.historian.files import SampleTable


def sensor_table(run: PlantRun, start_utc: str, batch: str) -> SampleTable:
    """Every online reading and at-line result of every member, sorted by member then time.

    Members after the first are separate realizations; their batch id gets a ``-mNNN`` suffix.
    """
    times, tags, values, units, available, batches = [], [], [], [], [], []
    n_online = len(run.online_t)
    for m in range(run.members):
        batch_id = batch if run.members == 1 else f"{batch}-m{m:04d}"
        for q, (tag, unit) in enumerate(run.online_tags):
            times.append(run.online_t)
            available.append(run.online_t)
            values.append(run.online[:, q, m])
            tags.append(np.full(n_online, tag, dtype=object))
            units.append(np.full(n_online, unit, dtype=object))
            batches.append(np.full(n_online, batch_id, dtype=object))
        for r in run.at_line:
            times.append(np.array([r.sample_h]))
            available.append(np.array([r.available_h]))
            values.append(np.array([r.values[m]]))
            tags.append(np.array([r.tag], dtype=object))
            units.append(np.array([r.unit], dtype=object))
            batches.append(np.array([batch_id], dtype=object))
    time_h = np.concatenate(times)
    batch_ids = np.concatenate(batches)
    order = np.lexsort((time_h, batch_ids))
    return SampleTable(
        start=parse_utc(start_utc),
        time_h=time_h[order],
        tag=np.concatenate(tags)[order],
        value=np.concatenate(values)[order],
        unit=np.concatenate(units)[order],
        available_h=np.concatenate(available)[order],
        batch_id=batch_ids[order],
    )
