"""Compiled kinetics of the CHO model: the hot path of every ensemble run.

The equations are those of ``model.py`` (its module docstring lists them with their sources);
here they are written once, member by member, and compiled with Numba, because with NumPy each
of the ~80 array operations costs about a microsecond of overhead whatever the ensemble size,
which dominated every forecast of a 200-member ensemble. Compiled functions are cached on disk
(``cache=True``), so only the first run on a machine pays the compilation (a few seconds).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from pharmatwin.core.types import FloatArray
from pharmatwin.equipment.bioreactor.parameters import PARAMETERS

_AT = {q.name: j for j, q in enumerate(PARAMETERS)}
_MU_MAX = _AT["mu_max"]
_K_GLC = _AT["K_glc"]
_K_GLN = _AT["K_gln"]
_KI_LAC = _AT["KI_lac"]
_KI_AMM = _AT["KI_amm"]
_T_OPT = _AT["T_opt"]
_T_WIDTH = _AT["T_width"]
_PH_OPT = _AT["pH_opt"]
_PH_WIDTH = _AT["pH_width"]
_K_DO = _AT["K_DO"]
_KD_MAX = _AT["kd_max"]
_KD_LAC = _AT["KD_lac"]
_KD_AMM = _AT["KD_amm"]
_KD_MIN = _AT["kd_min"]
_KD_STARVE = _AT["kd_starve"]
_K_STARVE = _AT["K_starve"]
_KD_HEAT = _AT["kd_heat"]
_T_HEAT = _AT["T_heat"]
_KD_TEMP = _AT["kd_temp"]
_KD_EXTRA = _AT["kd_extra"]
_K_LYS = _AT["k_lys"]
_Y_X_GLC = _AT["Y_X_glc"]
_M_GLC = _AT["m_glc"]
_Y_X_GLN = _AT["Y_X_gln"]
_A1_GLN = _AT["a1_gln"]
_A2_GLN = _AT["a2_gln"]
_K_DEG_GLN = _AT["k_deg_gln"]
_Y_LAC_GLC = _AT["Y_lac_glc"]
_Q_LAC_UPTAKE = _AT["q_lac_uptake"]
_K_LAC_UP = _AT["K_lac_up"]
_G_SHIFT = _AT["G_shift"]
_K_DO_LAC = _AT["K_DO_lac"]
_Y_AMM_GLN = _AT["Y_amm_gln"]
_R_AMM = _AT["r_amm"]
_K_AMM_REMOVAL = _AT["K_amm_removal"]
_Q_MAB = _AT["q_mab"]
_QP_TEMP = _AT["qp_temp"]
_QP_PH_WIDTH = _AT["qp_pH_width"]
_Q_O2 = _AT["q_O2"]

N_RATES = 7
"""Specific rates per member: growth, death, glucose, glutamine, lactate, ammonia, antibody."""


@njit(cache=True, inline="always")
def _member_rates(x: FloatArray, u: FloatArray, p: FloatArray, i: int, r: FloatArray) -> None:
    """Specific rates of member ``i`` into ``r``: growth and death (1/h); glucose, glutamine,
    lactate and ammonia (mmol/(1e9 cells h)); antibody (mg/(1e9 cells h))."""
    G = max(x[i, 2], 0.0)
    Q = max(x[i, 3], 0.0)
    L = max(x[i, 4], 0.0)
    A = max(x[i, 5], 0.0)
    T, pH, DO = u[i, 0], u[i, 1], max(u[i, 2], 0.0)

    glc_available = G / (p[i, _K_GLC] + G)
    pH_gap = pH - p[i, _PH_OPT]
    # Gaussian temperature and pH factors of growth
    environment = math.exp(
        -(((T - p[i, _T_OPT]) / p[i, _T_WIDTH]) ** 2) - (pH_gap / p[i, _PH_WIDTH]) ** 2
    )
    mu = (
        p[i, _MU_MAX]
        * environment
        * DO
        / (p[i, _K_DO] + DO)
        * glc_available
        * Q
        / (p[i, _K_GLN] + Q)
        * p[i, _KI_LAC]
        / (p[i, _KI_LAC] + L)
        * p[i, _KI_AMM]
        / (p[i, _KI_AMM] + A)
    )
    toxic = p[i, _KD_MAX] * L * A / ((p[i, _KD_LAC] + L) * (p[i, _KD_AMM] + A))
    cold = math.exp(p[i, _KD_TEMP] * min(T - 37.0, 0.0))
    mu_d = (
        (p[i, _KD_MIN] + toxic) * cold
        + p[i, _KD_STARVE] * p[i, _K_STARVE] / (p[i, _K_STARVE] + G)
        + p[i, _KD_HEAT] * max(T - p[i, _T_HEAT], 0.0)
        + p[i, _KD_EXTRA]
    )
    q_glc_growth = mu / p[i, _Y_X_GLC]
    maintenance = p[i, _M_GLC] * glc_available
    q_gln = mu / p[i, _Y_X_GLN] + p[i, _A1_GLN] * Q / (p[i, _A2_GLN] + Q)

    anaerobic = p[i, _K_DO_LAC] / (p[i, _K_DO_LAC] + DO)
    y_lac = p[i, _Y_LAC_GLC] + (2.0 - p[i, _Y_LAC_GLC]) * anaerobic
    shift = p[i, _G_SHIFT] ** 2
    uptake = p[i, _Q_LAC_UPTAKE] * shift / (shift + G * G) * L / (p[i, _K_LAC_UP] + L)
    r[0] = mu
    r[1] = mu_d
    r[2] = q_glc_growth + maintenance
    r[3] = q_gln
    r[4] = y_lac * q_glc_growth + 2.0 * anaerobic * maintenance - uptake
    r[5] = p[i, _Y_AMM_GLN] * q_gln - p[i, _R_AMM] * A / (p[i, _K_AMM_REMOVAL] + A)
    r[6] = p[i, _Q_MAB] * math.exp(p[i, _QP_TEMP] * (37.0 - T) - (pH_gap / p[i, _QP_PH_WIDTH]) ** 2)


@njit(cache=True)
def specific_rates(x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
    """Specific rates of every member, ``(members, N_RATES)``."""
    out = np.empty((x.shape[0], N_RATES))
    for i in range(x.shape[0]):
        _member_rates(x, u, p, i, out[i])
    return out


@njit(cache=True)
def derivatives(x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
    """``dx/dt`` of every member, ``(members, 8)``: cell, metabolite and antibody balances of
    a fed-batch culture with continuous feed and base addition (which dilute everything)."""
    dx = np.empty((x.shape[0], 8))
    r = np.empty(N_RATES)
    for i in range(x.shape[0]):
        _member_rates(x, u, p, i, r)
        mu, mu_d, q_glc, q_gln, q_lac, q_amm, q_mab = r[0], r[1], r[2], r[3], r[4], r[5], r[6]
        Xv, Xd, G, Q, L, A, P, V = (
            x[i, 0],
            x[i, 1],
            x[i, 2],
            x[i, 3],
            x[i, 4],
            x[i, 5],
            x[i, 6],
            x[i, 7],
        )
        F, G_in, Q_in, F_base = u[i, 3], u[i, 4], u[i, 5], u[i, 6]
        inflow = F + F_base
        D = inflow / V
        feed = F / V
        degradation = p[i, _K_DEG_GLN] * Q
        dx[i, 0] = (mu - mu_d - D) * Xv
        dx[i, 1] = mu_d * Xv - (p[i, _K_LYS] + D) * Xd
        dx[i, 2] = feed * G_in - q_glc * Xv - D * G
        dx[i, 3] = feed * Q_in - q_gln * Xv - D * Q - degradation
        dx[i, 4] = q_lac * Xv - D * L
        dx[i, 5] = q_amm * Xv + degradation - D * A
        dx[i, 6] = q_mab * Xv - D * P
        dx[i, 7] = inflow
    return dx
