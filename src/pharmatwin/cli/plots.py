"""Plots of a virtual-bioreactor run: main signals over the batch with specification limits."""

from __future__ import annotations

from pathlib import Path

from pharmatwin.core.specs import Specification
from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.records import PlantRun

PANELS: tuple[tuple[str, str, str], ...] = (
    ("VCD", "viable cells", "1e6 cells/mL"),
    ("viability", "viability", "%"),
    ("glucose", "glucose", "mM"),
    ("lactate", "lactate", "mM"),
    ("ammonia", "ammonia", "mM"),
    ("titre", "titre", "g/L"),
)
BROTH = (("T", "temperature", "degC"), ("pH", "pH", "-"), ("DO", "dissolved O2", "% air sat."))


def _series(run: PlantRun, name: str) -> FloatArray:
    if name in run.broth:
        return run.broth[name][:, 0]
    return run.output(name)[:, 0]


def _limits(specs: tuple[Specification, ...], output: str) -> list[float]:
    return [v for s in specs if s.output == output for v in (s.lower, s.upper) if v is not None]


def plot_run(run: PlantRun, specs: tuple[Specification, ...], path: Path, title: str) -> None:
    """Write a PNG (matplotlib) or a self-contained HTML page (plotly) of member 0."""
    if path.suffix.lower() == ".png":
        _png(run, specs, path, title)
    elif path.suffix.lower() == ".html":
        _html(run, specs, path, title)
    else:
        raise ValueError(f"unknown file type {path.suffix!r}; use .png or .html")


def _png(run: PlantRun, specs: tuple[Specification, ...], path: Path, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on extras
        raise ValueError("PNG plots need the 'plot' extra: pip install 'pharmatwin[plot]'") from exc
    panels = PANELS + BROTH
    fig, axes = plt.subplots(3, 3, figsize=(13, 9), sharex=True)
    days = run.t / 24.0
    for ax, (name, label, unit) in zip(axes.flat, panels, strict=True):
        ax.plot(days, _series(run, name), lw=1.2)
        for limit in _limits(specs, name):
            ax.axhline(limit, color="crimson", ls="--", lw=1, label="spec limit")
        ax.set_title(f"{label} [{unit}]", fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("batch time [d]")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _html(run: PlantRun, specs: tuple[Specification, ...], path: Path, title: str) -> None:
    try:
        from plotly.subplots import make_subplots
    except ImportError as exc:  # pragma: no cover - depends on extras
        raise ValueError(
            "HTML plots need the 'plot' extra: pip install 'pharmatwin[plot]'"
        ) from exc
    panels = PANELS + BROTH
    fig = make_subplots(rows=3, cols=3, subplot_titles=[f"{lab} [{u}]" for _, lab, u in panels])
    days = run.t / 24.0
    for k, (name, label, _) in enumerate(panels):
        row, col = k // 3 + 1, k % 3 + 1
        fig.add_scatter(x=days, y=_series(run, name), name=label, row=row, col=col)
        for limit in _limits(specs, name):
            fig.add_hline(y=limit, line_dash="dash", line_color="crimson", row=row, col=col)
    fig.update_layout(title=title, showlegend=False, height=900)
    fig.update_xaxes(title_text="batch time [d]", row=3)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
