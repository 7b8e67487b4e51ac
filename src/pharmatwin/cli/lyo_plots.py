"""Plots of freeze-drying studies (matplotlib, imported lazily, Agg backend).

* a primary-drying run: product, front and shelf temperatures, chamber pressure, sublimation
  rate and dried fraction over time;
* a design space: drying time and maximum product temperature over shelf temperature, one
  line per chamber pressure, with the collapse temperature and the feasible points marked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pharmatwin.equipment.lyophilizer.design_space import DesignPoint
from pharmatwin.equipment.lyophilizer.primary import DryingResult

SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_path(path: Path) -> None:
    """``ValueError`` unless ``path`` has a suffix matplotlib writes."""
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path.name}: unknown file type; use {', '.join(SUFFIXES)}")


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on extras
        raise ValueError("plots need the 'plot' extra: pip install 'pharmatwin[plot]'") from exc
    return plt


def plot_simulation(
    result: DryingResult, path: Path, *, title: str, collapse_c: float | None = None
) -> None:
    """Write the run's temperatures, pressure and sublimation rate over time to ``path``."""
    check_plot_path(path)
    plt = _pyplot()
    tr = result.trajectory
    fig, axes = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    temp, pressure, rate = axes
    temp.plot(tr.t_h, tr.product_temperature_c, label="product (vial bottom)", lw=1.6)
    temp.plot(tr.t_h, tr.sublimation_temperature_c, label="sublimation front", lw=1.0, ls=":")
    temp.plot(tr.t_h, tr.shelf_temperature_c, label="shelf", lw=1.2)
    if collapse_c is not None:
        temp.axhline(collapse_c, color="crimson", ls="--", lw=1, label="collapse")
    temp.set_ylabel("temperature [°C]")
    temp.legend(loc="lower right", fontsize=8)
    pressure.plot(tr.t_h, tr.chamber_pressure_torr, color="tab:purple", lw=1.4)
    pressure.set_ylabel("chamber pressure [Torr]")
    pressure.set_ylim(bottom=0)
    rate.plot(tr.t_h, tr.sublimation_rate_kg_h * 1000.0, color="tab:green", lw=1.4)
    rate.set_ylabel("sublimation rate [g/h per vial]")
    dried = rate.twinx()
    dried.plot(tr.t_h, tr.dried_fraction * 100.0, color="grey", lw=1, ls="--")
    dried.set_ylabel("dried [%]", color="grey")
    dried.set_ylim(0, 105)
    rate.set_xlabel("time [h]")
    for ax in axes:
        ax.grid(alpha=0.3)
        if math.isfinite(result.drying_time_h):
            ax.axvline(result.drying_time_h, color="black", lw=0.8, ls=":")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_design_space(
    points: Sequence[DesignPoint],
    path: Path,
    *,
    title: str,
    collapse_c: float,
    margin_c: float = 0.0,
) -> None:
    """Write the design-space chart: drying time and maximum product temperature over the
    shelf temperature, one line per chamber pressure; filled markers are feasible points."""
    check_plot_path(path)
    plt = _pyplot()
    fig, (time_ax, temp_ax) = plt.subplots(1, 2, figsize=(12, 5), sharex=True)
    for pressure in sorted({p.chamber_pressure_torr for p in points}):
        line = sorted(
            (p for p in points if p.chamber_pressure_torr == pressure),
            key=lambda p: p.shelf_temperature_c,
        )
        shelf = [p.shelf_temperature_c for p in line]
        label = f"{pressure:g} Torr"
        for ax, values in (
            (time_ax, [p.drying_time_h for p in line]),
            (temp_ax, [p.max_product_temperature_c for p in line]),
        ):
            finite = [v if math.isfinite(v) else math.nan for v in values]
            (drawn,) = ax.plot(shelf, finite, lw=1.4, label=label)
            colour = drawn.get_color()
            for p, v in zip(line, finite, strict=True):
                face = colour if p.feasible else "white"
                ax.plot(p.shelf_temperature_c, v, "o", color=colour, mfc=face, ms=7)
    temp_ax.axhline(collapse_c, color="crimson", ls="--", lw=1.2, label="collapse")
    if margin_c > 0:
        temp_ax.axhline(collapse_c - margin_c, color="crimson", ls=":", lw=1, label="limit")
    time_ax.set_ylabel("primary drying time [h]")
    temp_ax.set_ylabel("maximum product temperature [°C]")
    for ax in (time_ax, temp_ax):
        ax.set_xlabel("shelf temperature [°C]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, title="filled: feasible", title_fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
