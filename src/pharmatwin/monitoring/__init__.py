"""Layer 3: multivariate statistical process monitoring (PCA, PLS, dynamic PCA, CVA).

Generic methods on arrays (rows = observations, NaN = missing): numpy and scipy only.
"""

from pharmatwin.monitoring.crossval import choose_components
from pharmatwin.monitoring.cva import CVAModel, fit_cva
from pharmatwin.monitoring.dynamic import DPCAModel, fit_dpca
from pharmatwin.monitoring.pca import PCAModel, fit_pca
from pharmatwin.monitoring.pls import PLSModel, fit_pls
from pharmatwin.monitoring.scaling import MonitoringInputError, Scaler, Scaling

__all__ = [
    "CVAModel",
    "DPCAModel",
    "MonitoringInputError",
    "PCAModel",
    "PLSModel",
    "Scaler",
    "Scaling",
    "choose_components",
    "fit_cva",
    "fit_dpca",
    "fit_pca",
    "fit_pls",
]
