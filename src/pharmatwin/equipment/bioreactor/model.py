"""CHO fed-batch model of monoclonal-antibody production (Xing et al. 2010 type kinetics).

Units: cells 1e9 cells/L (= 1e6 cells/mL), concentrations mM, antibody mg/L, volume L, time h,
temperature degC, DO % air saturation, flows L/h.

Kinetics follow Xing, Kenty, Li & Lee (2010, Biotechnol Prog 26:208-219): Monod limitation by
glucose and glutamine, non-competitive inhibition by lactate and ammonia, a death rate driven by
lactate and ammonia, glutamine maintenance and spontaneous degradation, ammonia removal. Added to
that structure, each with its source in ``parameters.py``:

* temperature acts on growth through a Gaussian factor (Carcano; Moller et al. 2020) and on
  specific productivity exponentially, two-fold at 32 degC (Fox et al. 2004) - so the
  temperature downshift of the recipe slows growth and raises qP;
* pH acts on growth (optimum pH 7.0, Yoon et al. 2005) and weakly on qP;
* dissolved oxygen limits growth only near anoxia (Restelli et al. 2006) and, when low, makes
  glycolysis anaerobic (up to 2 lactate per glucose);
* lactate is produced with growth and consumed once glucose runs low (the lactate shift: uptake
  half on at 2 mM glucose, a smoothed version of Moller et al. 2020's switch at 0.5 mM);
* starvation and heat-stress death, and lysis of dead cells (Moller et al. 2020).

Process target of the nominal recipe (2,000 L working volume, 14 days, temperature shift to
33 degC on day 5): peak viable cell density 15-25e6 cells/mL and harvest titre 3-6 g/L, typical
of a modern CHO fed-batch (Vergara et al. 2014, PLoS ONE 9:e93865, introduction: peak density
10-15e6 cells/mL and 1-5 g/L; Butler & Meneses-Acosta 2012, Appl Microbiol Biotechnol 96:885:
titres around 5 g/L).
"""

from __future__ import annotations

import numpy as np

from pharmatwin.core.model import Model
from pharmatwin.core.types import FloatArray
from pharmatwin.core.variables import Input, Output, State
from pharmatwin.equipment.bioreactor.parameters import PARAMETERS

CELLS = "1e9 cells/L"


class ChoFedBatch(Model):
    """CHO fed-batch mAb production; see the module docstring for units and sources."""

    states = (
        # atol: 1e-5 of the unit (10 cells/mL, 10 nM) - far below any assay's resolution
        State("Xv", CELLS, "viable cell density", 0.0, atol=1e-5),
        State("Xd", CELLS, "dead (non-lysed) cell density", 0.0, atol=1e-5),
        State("Glc", "mM", "glucose", 0.0, atol=1e-5),
        State("Gln", "mM", "glutamine", 0.0, atol=1e-5),
        State("Lac", "mM", "lactate", 0.0, atol=1e-5),
        State("Amm", "mM", "ammonia", 0.0, atol=1e-5),
        State("mAb", "mg/L", "antibody titre", 0.0, atol=1e-3),
        State("V", "L", "liquid volume", 0.0, atol=1e-4, intensive=False),
    )
    inputs = (
        Input("T", "degC", "culture temperature", 0.0, 50.0, default=36.5),
        Input("pH", "-", "culture pH", 5.0, 9.0, default=7.0),
        Input("DO", "%", "dissolved oxygen, % air saturation", 0.0, 500.0, default=40.0),
        Input("F_feed", "L/h", "continuous feed flow", 0.0, default=0.0),
        Input("Glc_feed", "mM", "glucose in the continuous feed", 0.0, default=0.0),
        Input("Gln_feed", "mM", "glutamine in the continuous feed", 0.0, default=0.0),
        Input("F_base", "L/h", "base solution flow (pH control)", 0.0, default=0.0),
    )
    parameters = PARAMETERS
    outputs = (
        Output("VCD", "1e6 cells/mL", "viable cell density"),
        Output("viability", "%", "viable / total cells"),
        Output("glucose", "mM", "glucose"),
        Output("glutamine", "mM", "glutamine"),
        Output("lactate", "mM", "lactate"),
        Output("ammonia", "mM", "ammonia"),
        Output("titre", "g/L", "antibody titre"),
        Output("volume", "L", "liquid volume"),
        Output("OUR", "mmol/(L h)", "oxygen uptake rate"),
        Output("acid_rate", "mmol/(L h)", "net lactic acid production rate"),
    )
    volume_state = "V"
    feed_input = "F_feed"

    def rhs(self, t: float | FloatArray, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        Xv, Xd, G, Q, L, A, P, V = x.T
        F, G_in, Q_in, F_base = u[:, 3], u[:, 4], u[:, 5], u[:, 6]
        mu, mu_d, q_glc, q_gln, q_lac, q_amm, q_mab = _rates(x, u, p)
        inflow = F + F_base
        D = inflow / V
        feed = F / V
        degradation = p[:, _K_DEG] * Q
        dx = np.empty_like(x)
        dx[:, 0] = (mu - mu_d - D) * Xv
        dx[:, 1] = mu_d * Xv - (p[:, _K_LYS] + D) * Xd
        dx[:, 2] = feed * G_in - q_glc * Xv - D * G
        dx[:, 3] = feed * Q_in - q_gln * Xv - D * Q - degradation
        dx[:, 4] = q_lac * Xv - D * L
        dx[:, 5] = q_amm * Xv + degradation - D * A
        dx[:, 6] = q_mab * Xv - D * P
        dx[:, 7] = inflow
        return dx

    def measure(self, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        Xv, Xd, G, Q, L, A, P, V = x.T
        q_lac = _rates(x, u, p)[4]
        total = Xv + Xd
        viability = np.divide(100.0 * Xv, total, out=np.zeros_like(Xv), where=total > 0)
        y = np.stack(
            [Xv, viability, G, Q, L, A, P / 1000.0, V, p[:, _Q_O2] * Xv, q_lac * Xv], axis=1
        )
        return np.asarray(y, dtype=float)


_INDEX = {q.name: j for j, q in enumerate(PARAMETERS)}
_NAMES = tuple(_INDEX)
_K_DEG, _K_LYS, _Q_O2 = _INDEX["k_deg_gln"], _INDEX["k_lys"], _INDEX["q_O2"]

Rates = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]


def _rates(x: FloatArray, u: FloatArray, p: FloatArray) -> Rates:
    """Specific rates per 1e9 viable cells: growth and death (1/h); glucose, glutamine, lactate
    and ammonia (mmol/(1e9 cells h)); antibody (mg/(1e9 cells h)).

    Written with few array operations (this is the hot path of every ensemble run); the
    equations are those listed in the module docstring.
    """
    G = np.maximum(x[:, 2], 0.0)
    Q = np.maximum(x[:, 3], 0.0)
    L = np.maximum(x[:, 4], 0.0)
    A = np.maximum(x[:, 5], 0.0)
    T, pH, DO = u[:, 0], u[:, 1], np.maximum(u[:, 2], 0.0)
    k = dict(zip(_NAMES, p.T, strict=True))

    glc_available = G / (k["K_glc"] + G)
    pH_gap = pH - k["pH_opt"]
    # Gaussian temperature and pH factors of growth, in one exponential
    environment = np.exp(-(((T - k["T_opt"]) / k["T_width"]) ** 2) - (pH_gap / k["pH_width"]) ** 2)
    mu = (
        k["mu_max"]
        * environment
        * DO
        / (k["K_DO"] + DO)
        * glc_available
        * Q
        / (k["K_gln"] + Q)
        * k["KI_lac"]
        / (k["KI_lac"] + L)
        * k["KI_amm"]
        / (k["KI_amm"] + A)
    )
    toxic = k["kd_max"] * L * A / ((k["KD_lac"] + L) * (k["KD_amm"] + A))
    cold = np.exp(k["kd_temp"] * np.minimum(T - 37.0, 0.0))
    mu_d = (
        (k["kd_min"] + toxic) * cold
        + k["kd_starve"] * k["K_starve"] / (k["K_starve"] + G)
        + k["kd_heat"] * np.maximum(T - k["T_heat"], 0.0)
        + k["kd_extra"]
    )
    q_glc_growth = mu / k["Y_X_glc"]
    maintenance = k["m_glc"] * glc_available
    q_glc = q_glc_growth + maintenance
    q_gln = mu / k["Y_X_gln"] + k["a1_gln"] * Q / (k["a2_gln"] + Q)

    anaerobic = k["K_DO_lac"] / (k["K_DO_lac"] + DO)
    y_lac = k["Y_lac_glc"] + (2.0 - k["Y_lac_glc"]) * anaerobic
    shift = k["G_shift"] ** 2
    uptake = k["q_lac_uptake"] * shift / (shift + G * G) * L / (k["K_lac_up"] + L)
    q_lac = y_lac * q_glc_growth + 2.0 * anaerobic * maintenance - uptake
    q_amm = k["Y_amm_gln"] * q_gln - k["r_amm"] * A / (k["K_amm_removal"] + A)
    q_mab = k["q_mab"] * np.exp(k["qp_temp"] * (37.0 - T) - (pH_gap / k["qp_pH_width"]) ** 2)
    return mu, mu_d, q_glc, q_gln, q_lac, q_amm, q_mab
