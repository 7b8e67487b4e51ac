"""Against a peer: pyphi-mvda (``import pyphi``, Garcia-Munoz) on the Tennessee Eastman data.

Same data and settings: d00 (33 variables), 9 components, autoscaling (both divide by the
sample standard deviation, ddof 1). What agrees and what differs, by design:

- Scores, SPE: identical (to 1e-6 relative; measured ~1e-11) against pyphi's SVD path
  (``force_nipals=False``; it takes it for complete data with n/k >= 10, here 500/33).
- T²: pyphi divides by the score variance with ddof 0 (``var_t = T'T / n``), we with ddof 1, so
  its T² is ours times n / (n - 1) exactly; with that factor they agree to 1e-6.
- T² limit: both Tracy, Young & Mason's F form, identical.
- SPE limit: pyphi fits a chi² to the mean and variance of the training SPE (Nomikos &
  MacGregor 1995) — identical to our ``limits.spe_limit_moments``; our model's default
  ``spe_limit`` is Box (1954) from the residual eigenvalues instead, 5.5 % higher here.
- pyphi's default NIPALS path (``force_nipals=True``) stops when the *norm* of the score vector
  stops changing (1e-10), before the direction has converged for close eigenvalues: its loadings
  are then ~3e-4 off the exact ones and T², SPE ~1e-4 relative; we compare to 1e-3 there.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pharmatwin.monitoring.limits import spe_limit_moments
from pharmatwin.monitoring.pca import fit_pca
from pharmatwin.monitoring.tep import TEPData, load_tep

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tep-braatz"
pytestmark = pytest.mark.skipif(
    not (DATA / "d00.dat").is_file(),
    reason="Tennessee Eastman data not found at ../shared/data/tep-braatz (see its README)",
)
COMPONENTS = 9


@pytest.fixture(scope="module")
def phi() -> Any:
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its solver set-up on import
        return pytest.importorskip("pyphi.calc")


@pytest.fixture(scope="module")
def data() -> TEPData:
    return load_tep(DATA, faults=(1, 6))


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.abs(b)))


def test_t2_and_spe_agree_with_pyphi(phi: Any, data: TEPData) -> None:
    peer = phi.pca(data.train.copy(), COMPONENTS, mcs=True, force_nipals=False, shush=True)
    ours = fit_pca(data.train, COMPONENTS)
    n = data.train.shape[0]
    for run in (data.train, data.normal, data.faults[1], data.faults[6]):
        theirs = phi.pca_pred(run.copy(), peer)
        assert relative(ours.t2(run) * n / (n - 1), theirs["T2"]) < 1e-6
        assert relative(ours.spe(run), theirs["speX"].ravel()) < 1e-6
    assert ours.t2_limit(0.99) == pytest.approx(peer["T2_lim99"], rel=1e-12)
    assert spe_limit_moments(ours.spe(data.train), 0.99) == pytest.approx(
        peer["speX_lim99"], rel=1e-9
    )
    box = ours.spe_limit(0.99)
    assert 1.0 < box / peer["speX_lim99"] < 1.1  # Box from eigenvalues: 5.5 % higher here


def test_pyphi_nipals_path_is_close_but_not_converged(phi: Any, data: TEPData) -> None:
    peer = phi.pca(data.train.copy(), COMPONENTS, mcs=True, shush=True)  # NIPALS
    ours = fit_pca(data.train, COMPONENTS)
    n = data.train.shape[0]
    theirs = phi.pca_pred(data.normal.copy(), peer)
    assert relative(ours.t2(data.normal) * n / (n - 1), theirs["T2"]) < 1e-3
    assert relative(ours.spe(data.normal), theirs["speX"].ravel()) < 1e-3
    # our NIPALS, iterated to |t_new - t| <= 1e-10 |t|, reaches the SVD answer
    nipals = fit_pca(data.train, COMPONENTS, method="nipals", max_iter=20000)
    assert relative(nipals.t2(data.normal), ours.t2(data.normal)) < 1e-6
