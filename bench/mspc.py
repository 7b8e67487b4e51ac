"""Time to fit and score PCA / PLS monitoring models, ours against pyphi-mvda, side by side.

    .venv/bin/python -m bench.mspc [--repeats N] [--data DIR]

On the Tennessee Eastman data (``../shared/data/tep-braatz``: fit on d00, 500 x 33, 9
components, autoscaled; score T² and SPE of d00_te and the 21 fault runs, 22 x 960 rows), it
times each step of ``pharmatwin.monitoring`` and of ``pyphi.calc`` (pip install pyphi-mvda):

  1. PCA fit, complete data (ours: SVD; pyphi: its SVD path, ``force_nipals=False``);
  2. PCA fit by NIPALS (ours iterated to |dt| <= 1e-10 |t|; pyphi's default NIPALS);
  3. scoring T² and SPE of every test row;
  4. the same fit and scoring with 5 % of the values missing (NIPALS; projection to the model
     plane for the rows with gaps);
  5. PLS fit (2 components) of XMEAS(35) on the 33 variables and prediction of the test rows.

Each time is the best of ``--repeats``; the ratio is pyphi's time over ours (above 1: we are
faster). Absolute times on a shared machine are noisy; the ratios, measured in one run, are what
to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pharmatwin.core.types import FloatArray
from pharmatwin.monitoring.pca import fit_pca
from pharmatwin.monitoring.pls import fit_pls
from pharmatwin.monitoring.tep import COLUMNS, FAULTS, read_run

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "tep-braatz"
COMPONENTS = 9
Y_COLUMN = 34
"""XMEAS(35), a product composition (analyser), as the PLS response."""


def load(folder: Path) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Training X, training y, test X (normal + every fault run stacked), test y."""
    cols = list(COLUMNS)
    train = read_run(folder / "d00.dat")
    runs = [read_run(folder / "d00_te.dat")]
    runs += [read_run(folder / f"d{f:02d}_te.dat") for f in FAULTS]
    test = np.vstack(runs)
    return train[:, cols], train[:, Y_COLUMN], test[:, cols], test[:, Y_COLUMN]


def best(repeats: int, run: Callable[[], object]) -> float:
    """The shortest of ``repeats`` wall times of ``run()`` (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def with_gaps(x: FloatArray, share: float, seed: int) -> FloatArray:
    out = x.copy()
    out[np.random.default_rng(seed).random(x.shape) < share] = np.nan
    return out


def cases(
    phi: Any, data: tuple[FloatArray, ...]
) -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    """(name, ours, pyphi) for each timed step."""
    x, y, xt, _ = data
    xm, xtm = with_gaps(x, 0.05, 1), with_gaps(xt, 0.05, 2)
    ours = fit_pca(x, COMPONENTS)
    theirs = phi.pca(x.copy(), COMPONENTS, force_nipals=False, shush=True)
    ours_m = fit_pca(xm, COMPONENTS, max_iter=20000)
    theirs_m = phi.pca(xm.copy(), COMPONENTS, shush=True)

    def our_score(model: Any, rows: FloatArray) -> object:
        proj = model.project(rows)
        return proj.t2(), proj.spe()

    return [
        (
            "PCA fit, complete (SVD)",
            lambda: fit_pca(x, COMPONENTS),
            lambda: phi.pca(x.copy(), COMPONENTS, force_nipals=False, shush=True),
        ),
        (
            "PCA fit, NIPALS",
            lambda: fit_pca(x, COMPONENTS, method="nipals", max_iter=20000),
            lambda: phi.pca(x.copy(), COMPONENTS, shush=True),
        ),
        (
            f"score T2+SPE, {len(xt)} rows",
            lambda: our_score(ours, xt),
            lambda: phi.pca_pred(xt.copy(), theirs),
        ),
        (
            "PCA fit, 5 % missing (NIPALS)",
            lambda: fit_pca(xm, COMPONENTS, max_iter=20000),
            lambda: phi.pca(xm.copy(), COMPONENTS, shush=True),
        ),
        (
            "score, 5 % missing",
            lambda: our_score(ours_m, xtm),
            lambda: phi.pca_pred(xtm.copy(), theirs_m),
        ),
        (
            "PLS fit (2 LV) + predict",
            lambda: fit_pls(x, y, 2).predict(xt),
            lambda: phi.pls_pred(xt.copy(), phi.pls(x.copy(), y[:, None].copy(), 2, shush=True)),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pyphi prints its solver set-up
            import pyphi.calc as phi  # type: ignore[import-untyped]
    except ImportError:
        raise SystemExit("pyphi-mvda is not installed: .venv/bin/pip install pyphi-mvda") from None
    if not (args.data / "d00.dat").is_file():
        raise SystemExit(f"Tennessee Eastman data not found in {args.data} (see its README)")
    data = load(args.data)
    print(
        f"Tennessee Eastman: fit {data[0].shape}, score {data[2].shape}, best of {args.repeats}\n"
    )
    print(f"{'step':<34}{'ours s':>10}{'pyphi s':>10}{'pyphi/ours':>12}")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        steps = cases(phi, data)
        rows = [(name, best(args.repeats, a), best(args.repeats, b)) for name, a, b in steps]
    for name, ours, theirs in rows:
        print(f"{name:<34}{ours:>10.4f}{theirs:>10.4f}{theirs / ours:>11.1f}x")


if __name__ == "__main__":
    main()
